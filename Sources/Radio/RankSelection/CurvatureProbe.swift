import Randomness

/// The figures of the bound that need more than the pilot's gradients (docs/optimality-gap.md,
/// "Estimating the constants"), from values of the loss F alone. F is in nats/token and θ in the
/// adapter's units, so a curvature is in [F]/[θ]².
public enum CurvatureProbe {
    /// A Gaussian direction over all `count` coordinates (stream `RandomStream.curvatureProbe`,
    /// draw `index`), scaled to Euclidean norm `radius`.
    public static func randomDirection(count: Int, radius: Double, seed: UInt64, index: Int = 0) -> [Double] {
        var g = SeededGenerator(seed: seed, stream: [RandomStream.curvatureProbe.rawValue, UInt64(index)])
        let u = (0..<count).map { _ in g.normal() }
        let norm = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? u.map { $0 * radius / norm } : u
    }

    /// The mean over `probes` Gaussian directions u of norm `radius` of the symmetric second
    /// difference (F(θ + u) + F(θ − u) − 2 F(θ)) / ‖u‖², and its standard error over the probes.
    /// Each is uᵀ∇²F u / ‖u‖² up to fourth-order terms, whose expectation over isotropic u is
    /// tr(∇²F)/D (Hutchinson's trace estimator): the curvature an error white over the coordinates
    /// meets, E eᵀ∇²F e = E‖e‖² tr(∇²F)/D. One draw can land far from it when the Hessian is
    /// indefinite (LoRA's A–B blocks are), hence several and their spread. 2·`probes` evaluations of F.
    public static func randomDirectionCurvature(
        at theta: [Double], lossAtTheta: Double, radius: Double, seed: UInt64, probes: Int = 4,
        loss: ([Double]) throws -> Double
    ) rethrows -> (mean: Double, standardError: Double) {
        var values = [Double]()
        for i in 0..<max(probes, 1) {
            let u = randomDirection(count: theta.count, radius: radius, seed: seed, index: i)
            let plus = try loss(zip(theta, u).map { $0 + $1 })
            let minus = try loss(zip(theta, u).map { $0 - $1 })
            values.append((plus + minus - 2 * lossAtTheta) / u.reduce(0) { $0 + $1 * $1 })
        }
        let n = Double(values.count)
        let mean = values.reduce(0, +) / n
        let variance = n > 1 ? values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) : 0
        return (mean, (variance / n).squareRoot())
    }

    /// The estimate above when it is clearly positive (mean above twice its standard error), else nil.
    public static func clearlyPositive(_ m: (mean: Double, standardError: Double)) -> Double? {
        m.mean.isFinite && m.standardError.isFinite && m.mean > 0 && m.mean > 2 * m.standardError ? m.mean : nil
    }

    /// t* = −⟨g, d⟩ / (κ ‖d‖²): where the quadratic model F(θ + t d) ≈ F(θ) + t⟨g, d⟩ + t² κ ‖d‖²/2,
    /// with κ the curvature along d, is smallest (dimensionless). Nil unless the slope is downhill
    /// and κ positive.
    public static func lineMinimum(slope: Double, curvature: Double, stepEnergy: Double) -> Double? {
        let t = -slope / (curvature * stepEnergy)
        return slope < 0 && curvature > 0 && stepEnergy > 0 && t.isFinite ? t : nil
    }
}
