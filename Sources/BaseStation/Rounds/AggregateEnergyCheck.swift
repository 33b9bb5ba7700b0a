/// Whatever gets through the update bound is seen: a round's aggregate measured against what the
/// nodes' reports and the air's closed form allow it.
///
/// The aggregate is â = Σ_j w_j Δ_j / ρ + e (ρ = Σ_delivered w_j, e the air's error). By the
/// triangle inequality ‖Σ_j w_j Δ_j‖ ≤ Σ_j w_j √E_j with E_j the reported ‖Δ_j‖², and e is zero-mean
/// and independent of the updates with E‖e‖² = c² · (⌈D/2⌉/L) · MSE_pred (the closed form σ²L/η per
/// OFDM symbol and subcarrier, already over ρ²), so
///
///     E‖â‖² ≤ (Σ_j w_j √E_j / ρ)² + c² · ⌈D/2⌉/L · MSE_pred  =: bound
///
/// An honest round sits well below it (updates are far from aligned, and the CSI error the closed
/// form leaves out is small beside it); a round above `flagFactor` × bound carried more than its
/// nodes said they sent: a node whose symbols are louder than its report, or an air that is not the
/// one emulated. It is flagged (metrics.csv, summary.json, the live metrics, the log), not refused:
/// the 100× guard (`RoundEngine.aggregateGuard`) refuses. Ideal FL has e = 0. Digital has no closed
/// form for its compression noise from the reports alone (it depends on each update's largest
/// entry), so its bound is not evaluated.
struct AggregateEnergyCheck: Equatable {
    /// ‖â‖², squared parameter units.
    let measured: Double
    /// The bound above; nil where it is not evaluated (digital).
    let bound: Double?
    /// Measured over bound above which a round is flagged (the noise energy's spread over D reals
    /// is far smaller; the margin covers the CSI error the closed form leaves out).
    static let flagFactor = 1.5

    var flagged: Bool { bound.map { Self.flags(measured: measured, bound: $0) } ?? false }

    /// Whether `measured` over `bound` is a flagged round (a NaN bound, not evaluated, never is).
    static func flags(measured: Double, bound: Double) -> Bool { measured > flagFactor * bound }
    /// measured / bound; nil where not evaluated.
    var ratio: Double? { bound.map { $0 > 0 ? measured / $0 : (measured > 0 ? .infinity : 0) } }

    /// - Parameters:
    ///   - reported: (w_j, E_j) of the delivered participants (weights before the rescale).
    ///   - noiseEnergy: E‖e‖² of the rescaled aggregate; nil where there is no closed form.
    init(aggregate: [Float], reported: [(weight: Double, energy: Double)], noiseEnergy: Double?) {
        measured = aggregate.reduce(0.0) { $0 + Double($1) * Double($1) }
        let rho = reported.reduce(0.0) { $0 + $1.weight }
        let updates = reported.reduce(0.0) { $0 + $1.weight * max(0, $1.energy).squareRoot() } / max(rho, .ulpOfOne)
        bound = noiseEnergy.map { updates * updates + $0 }
    }
}
