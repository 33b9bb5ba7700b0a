import Randomness

/// The two curvature figures of the bound that need more than the pilot's gradients
/// (docs/optimality-gap.md, "Estimating the constants"), from values of the loss F alone. F is in
/// nats/token and θ in the adapter's units, so both curvatures are in [F]/[θ]².
public enum CurvatureProbe {
    /// A Gaussian direction over all `count` coordinates (stream `RandomStream.curvatureProbe`),
    /// scaled to Euclidean norm `radius`.
    public static func randomDirection(count: Int, radius: Double, seed: UInt64) -> [Double] {
        var g = SeededGenerator(seed: seed, stream: [RandomStream.curvatureProbe.rawValue])
        let u = (0..<count).map { _ in g.normal() }
        let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? u.map { $0 * radius / norm } : u
    }

    /// L_e = (F(θ + u) + F(θ − u) − 2 F(θ)) / ‖u‖², u a Gaussian direction of norm `radius`: the
    /// symmetric second difference, uᵀ∇²F u / ‖u‖² up to fourth-order terms, whose expectation over
    /// isotropic u is tr(∇²F)/D (Hutchinson's trace estimator, one draw; in D ≫ 1 dimensions one
    /// draw concentrates unless a few eigenvalues dominate the trace). That is the curvature an
    /// error white over the coordinates meets: E eᵀ∇²F e = E‖e‖² tr(∇²F)/D. Nil unless positive.
    public static func randomDirectionCurvature(at theta: [Double], lossAtTheta: Double, radius: Double, seed: UInt64,
                                                loss: ([Double]) throws -> Double) rethrows -> Double? {
        let u = randomDirection(count: theta.count, radius: radius, seed: seed)
        let plus = try loss(zip(theta, u).map { $0 + $1 })
        let minus = try loss(zip(theta, u).map { $0 - $1 })
        let energy = u.reduce(0) { $0 + $1 * $1 }
        let c = (plus + minus - 2 * lossAtTheta) / energy
        return c.isFinite && c > 0 ? c : nil
    }

    /// t* = −⟨g, d⟩ / (κ ‖d‖²): where the quadratic model F(θ + t d) ≈ F(θ) + t⟨g, d⟩ + t² κ ‖d‖²/2,
    /// with κ the curvature along d, is smallest. Nil unless the slope is downhill and κ positive.
    public static func lineMinimum(slope: Double, curvature: Double, stepEnergy: Double) -> Double? {
        let t = -slope / (curvature * stepEnergy)
        return slope < 0 && curvature > 0 && stepEnergy > 0 && t.isFinite ? t : nil
    }
}
