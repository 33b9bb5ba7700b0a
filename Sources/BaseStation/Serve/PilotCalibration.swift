import Foundation
import LanguageModel
import Radio

/// What the base station measures around the pilot round (docs/optimality-gap.md, "Estimating the
/// constants"), on its calibration tokens: F and ∇_θ F before (θ₀, the fresh adapter at r_max) and
/// after (θ₁ = θ₀ + Δ̄, the pilot's aggregate), the full-weight gradient's linear term along the
/// pilot's ΔW, and the full-weight gradient's spectrum. Every figure in nats/token and the
/// adapter's (or the weights') own units.
struct PilotMeasurements {
    /// F(θ₀), F(θ₁).
    var lossBefore: Double, lossAfter: Double
    /// ‖∇F(θ₀)‖², ‖∇F(θ₁)‖² (adapter space).
    var gradientEnergyBefore: Double, gradientEnergyAfter: Double
    /// ⟨∇F(θ₀), Δ̄⟩ and ‖∇F(θ₁) − ∇F(θ₀)‖ (adapter space).
    var alignment: Double, gradientChange: Double
    /// ‖Δ̄‖ (adapter space) and ‖ΔW‖_F (all adapted matrices).
    var updateNorm: Double, weightUpdateNorm: Double
    /// ⟨∂F/∂W(θ₀), ΔW⟩.
    var weightAlignment: Double
    /// (F(θ₁ + u) + F(θ₁ − u) − 2F(θ₁)) / ‖u‖² over four seeded Gaussian directions u: their mean and
    /// its standard error, as measured (either sign).
    var randomDirection: (mean: Double, standardError: Double)
    /// ‖u‖: the aggregation error's own size, √(E‖e‖²) of the pilot's aggregate, at least a tenth of
    /// ‖Δ̄‖ (−20 dB), so the difference stays above the loss's float rounding.
    var probeRadius: Double

    /// λ̂ = −⟨∇F(θ₀), Δ̄⟩ / ‖∇F(θ₀)‖²: the step the round took along the gradient (the bound's model
    /// Δ̄ = −λ(∇F + ξ), E ξ = 0). Nil unless positive and finite.
    var stepSize: Double? { positive(-alignment / gradientEnergyBefore) }
    /// L̂ = ‖∇F(θ₁) − ∇F(θ₀)‖ / ‖Δ̄‖: the gradient's Lipschitz ratio over the pilot's step (a lower
    /// bound on the smoothness constant, which is a supremum).
    var smoothness: Double? { positive(gradientChange / updateNorm) }
    /// μ̂ = min over θ₀, θ₁ of ‖∇F‖² / (2 F): PL's ratio with F_r* replaced by its lower bound 0 (a
    /// cross-entropy), so each ratio is at most the true one there.
    var plConstant: Double? {
        let ratios = [(gradientEnergyBefore, lossBefore), (gradientEnergyAfter, lossAfter)].compactMap {
            positive($0.0 / (2 * $0.1))
        }
        return ratios.count == 2 ? ratios.min() : nil
    }
    /// L̂_W = 2 (F(θ₁) − F(θ₀) − ⟨∂F/∂W, ΔW⟩) / ‖ΔW‖²: the weights' curvature along the pilot's
    /// update (a secant: a lower bound on their smoothness). Nil unless positive.
    var weightSmoothness: Double? {
        positive(2 * (lossAfter - lossBefore - weightAlignment) / (weightUpdateNorm * weightUpdateNorm))
    }

    /// L̂_e: the random-direction curvature when clearly positive (mean above twice its standard error).
    var distortionSmoothness: Double? { CurvatureProbe.clearlyPositive(randomDirection) }

    /// t* = −⟨∂F/∂W, ΔW⟩ / (L̂_W ‖ΔW‖²): how many pilot updates away the minimum of the weights'
    /// quadratic model along ΔW lies, so t*·ΔW is the estimate of θ* − θ₀ the rank term needs (one
    /// round's update is the start of the way, not the way).
    var lineMinimum: Double? {
        weightSmoothness.flatMap {
            CurvatureProbe.lineMinimum(
                slope: weightAlignment, curvature: $0, stepEnergy: weightUpdateNorm * weightUpdateNorm)
        }
    }

    private func positive(_ v: Double) -> Double? { v.isFinite && v > 0 ? v : nil }
}

extension FederationServer {
    /// The measurements above: three gradient passes over the calibration tokens (θ₀; θ₁; the
    /// weights' linear term at (A₁, B = 0), whose B-gradient is γ·G A₁ᵀ, so ⟨·, B₁⟩ = ⟨G, γB₁A₁⟩ = ⟨G, ΔW⟩).
    /// Then eight forward passes at θ₁ ± u for the curvature along four random directions, u of the
    /// aggregation error's size (`noiseEnergy`, E‖e‖² of the aggregate).
    func measurePilot(
        probe: CalibrationProbe, base: LoRAAdapter, aggregate: [Float], weightUpdateEnergy: Double,
        noiseEnergy: Double
    ) throws -> PilotMeasurements {
        let before = try probe.lossAndGradient(base)
        var moved = base
        let start = base.flattened()
        try moved.assign(flattened: zip(start, aggregate).map { $0 + $1 })
        let after = try probe.lossAndGradient(moved)
        // (A₁, B = 0): the moved A, no B.
        var aOnly = moved.flattened()
        for s in moved.layout.slots { for i in s.bRange { aOnly[i] = 0 } }
        var linear = moved
        try linear.assign(flattened: aOnly)
        let weightGradient = try probe.lossAndGradient(linear).gradient
        let b1 = moved.flattened()
        let weightAlignment = moved.layout.slots.reduce(0.0) { acc, s in
            acc + s.bRange.reduce(0.0) { $0 + weightGradient[$1] * Double(b1[$1]) }
        }
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let step = aggregate.map(Double.init)
        let change = zip(after.gradient, before.gradient).map { $0 - $1 }
        let updateNorm = dot(step, step).squareRoot()
        let radius = max(noiseEnergy, 0.01 * updateNorm * updateNorm).squareRoot()
        let curvature = try CurvatureProbe.randomDirectionCurvature(
            at: moved.flattened().map(Double.init), lossAtTheta: after.loss, radius: radius, seed: scenario.seed
        ) { theta in
            var probed = moved
            try probed.assign(flattened: theta.map(Float.init))
            return try probe.loss(probed)
        }
        return PilotMeasurements(
            lossBefore: before.loss, lossAfter: after.loss, gradientEnergyBefore: dot(before.gradient, before.gradient),
            gradientEnergyAfter: dot(after.gradient, after.gradient), alignment: dot(before.gradient, step),
            gradientChange: dot(change, change).squareRoot(), updateNorm: updateNorm,
            weightUpdateNorm: weightUpdateEnergy.squareRoot(), weightAlignment: weightAlignment,
            randomDirection: curvature, probeRadius: radius)
    }

    /// The constants from the measurements where they are usable, each with its source; the step
    /// size held to λ ≤ 1/L_s and λμ < 1, which the derivation assumes.
    func calibrate(
        _ c: inout LearningConstants, _ sources: inout [String: String], _ m: PilotMeasurements, tokens: String,
        rank: Int
    ) {
        if let l = m.smoothness {
            c.smoothness = l
            sources["smoothness"] = "pilot: ‖∇F(θ₁) − ∇F(θ₀)‖ / ‖Δ̄‖ on \(tokens) (a lower bound on L_s)"
        }
        if let lw = m.weightSmoothness {
            c.rankSmoothness = lw
            sources["rank_smoothness"] =
                "pilot: 2 (F(θ₁) − F(θ₀) − ⟨∂F/∂W, ΔW⟩) / ‖ΔW‖² on \(tokens) (the weights' curvature along the "
                + "pilot's update)"
        }
        // L_e as measured, or L_s (the worst case) — never a `[plan]` value from another regime.
        c.distortionReferenceRank = rank
        if let le = m.distortionSmoothness {
            c.distortionSmoothness = le
            sources["distortion_smoothness"] = String(
                format:
                    "pilot: mean of (F(θ₁ + u) + F(θ₁ − u) − 2F(θ₁)) / ‖u‖² over 4 Gaussian u of norm %.3g (the "
                    + "aggregation error's), ± %.2g, on %@ at rank %d (tr(∇²F)/D, the curvature a white "
                    + "aggregation error meets); × (γ(r)/γ(%d))² at rank r",
                m.probeRadius, m.randomDirection.standardError, tokens, rank, rank)
        } else {
            c.distortionSmoothness = nil
            sources["distortion_smoothness"] = String(
                format:
                    "smoothness L_s: the curvature along random directions was not clearly positive (%.3g ± %.2g); × "
                    + "(γ(r)/γ(%d))² at rank r",
                m.randomDirection.mean, m.randomDirection.standardError, rank)
        }
        if let lambda = m.stepSize {
            c.stepSize = min(lambda, 1 / c.smoothness)
            sources["step_size"] =
                "pilot: −⟨∇F(θ₀), Δ̄⟩ / ‖∇F(θ₀)‖² on \(tokens)"
                + (lambda > 1 / c.smoothness
                    ? String(format: " = %.4g, held to 1/L_s (the derivation needs λ ≤ 1/L_s)", lambda) : "")
        } else {
            c.stepSize = min(c.stepSize, 1 / c.smoothness)
        }
        if let mu = m.plConstant {
            c.plConstant = min(mu, 0.999 / c.stepSize)
            sources["pl_constant"] =
                "pilot: min over θ₀, θ₁ of ‖∇F‖² / (2F) on \(tokens) (F_r* ≥ 0)"
                + (mu >= 0.999 / c.stepSize ? String(format: " = %.4g, held below 1/λ", mu) : "")
        } else {
            c.plConstant = min(c.plConstant, 0.999 / c.stepSize)
        }
    }

    /// The spectrum for the rank term: the pilot's own singular values up to r_max (its update has
    /// no more), and beyond them the full-weight gradient's, scaled so the two agree in the energy
    /// of the first r_max (the gradient gives the shape of what a rank-r_max update cannot show, the
    /// pilot the size of one round's update).
    static func extendedSpectrum(pilot: PilotSpectrum, gradient: PilotSpectrum, rMax: Int) throws -> PilotSpectrum {
        let head = Array(pilot.squaredSingularValues.prefix(rMax))
        let gradientHead = gradient.head(rMax)
        guard gradient.squaredSingularValues.count > rMax, gradientHead > 0 else { return pilot }
        let scale = pilot.head(rMax) / gradientHead
        let tail = gradient.squaredSingularValues.dropFirst(rMax).map { $0 * scale }
        return try PilotSpectrum(singularValues: (head + tail).map { $0.squareRoot() })
    }
}
