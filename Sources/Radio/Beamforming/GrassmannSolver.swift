import Foundation
import LinearAlgebra
import Numerics

/// Tuning of the manifold solver. The defaults are what `basestation solve` uses.
public struct ManifoldSolverOptions: Sendable {
    /// Smoothing temperatures of the log-sum-exp, relative to the objective at the stage's start;
    /// each stage warm-starts from the last (continuation).
    public var temperatures: [Double] = [0.1, 0.03, 0.01, 0.003, 0.001]
    /// Riemannian conjugate-gradient iterations per stage at most.
    public var maxIterationsPerStage = 150
    /// A stage ends when ‖grad F‖ ≤ tolerance · F (F the smoothed objective).
    public var gradientTolerance = 1e-7
    /// Armijo sufficient-decrease constant.
    public var armijo = 1e-4
    /// Random starts besides the `eigen` and `weakest` ones (and any warm start).
    public var randomStarts = 2
    /// Starts kept after the first stage (the best ones by true objective) for the remaining stages.
    public var survivors = 1
    public init() {}
}

/// One solve's outcome on one subcarrier.
public struct BeamformerSolution: Sendable {
    /// A, N_r × L, orthonormal columns.
    public var beamformer: ComplexMatrix<Double>
    /// max_k c_k tr((Aᴴ G_k A)⁻¹).
    public var objective: Double
    /// Conjugate-gradient iterations over all starts and stages.
    public var iterations: Int
    /// Riemannian gradient norm of the final smoothed objective at A, relative to its value.
    public var gradientNorm: Double
}

/// Riemannian conjugate gradient (Polak–Ribière+, Armijo backtracking, QR retraction, projection
/// transport) on the complex Grassmann manifold for the smoothed problem
///   F_t(A) = t · log Σ_k exp(f_k(A) / t),   max_k f_k ≤ F_t ≤ max_k f_k + t log K,
/// with t lowered stage by stage (continuation): large t makes F smooth and the landscape gentle,
/// small t makes it hug the max. The metric is Re tr(Xᴴ Y); the Riemannian gradient of F at A is
/// (I − A Aᴴ) ∇F; QR keeps iterates orthonormal.
struct GrassmannSolver {
    let problem: BeamformingObjective
    let options: ManifoldSolverOptions

    struct State {
        var a: ComplexMatrix<Double>
        var smoothed: Double
        var terms: [Double]
        var gradient: ComplexMatrix<Double>  // Riemannian
    }

    /// Smoothed value, terms, and Riemannian gradient at A for temperature t. nil when some f_k is
    /// infinite (Aᴴ H_k rank-deficient).
    func state(_ a: ComplexMatrix<Double>, temperature t: Double, scale: Double, workspace: inout BeamformingObjective.Workspace) -> State? {
        let (terms, finite) = problem.evaluateTerms(a, workspace: &workspace)
        guard finite else { return nil }
        let scaled = terms.map { $0 / scale }
        let m = scaled.max()!
        var sum = 0.0
        var pi = scaled.map { v -> Double in let e = exp((v - m) / t); sum += e; return e }
        for k in pi.indices { pi[k] /= sum * scale }  // ∂F/∂f_k of F = t log Σ exp(f_k/(scale t))
        problem.accumulateGradient(weights: pi, workspace: &workspace)
        let euclidean = ComplexMatrix(rows: a.rows, cols: a.cols, elements: workspace.gradient)
        let riemannian = euclidean - a * a.product(euclidean, .adjoint, .none)
        return State(a: a, smoothed: m + t * log(sum), terms: terms, gradient: riemannian)
    }

    static func inner(_ x: ComplexMatrix<Double>, _ y: ComplexMatrix<Double>) -> Double {
        var s = 0.0
        for i in x.elements.indices { s += x.elements[i].real * y.elements[i].real + x.elements[i].imaginary * y.elements[i].imaginary }
        return s
    }

    static func project(_ d: ComplexMatrix<Double>, onto a: ComplexMatrix<Double>) -> ComplexMatrix<Double> {
        d - a * a.product(d, .adjoint, .none)
    }

    static func retract(_ a: ComplexMatrix<Double>, _ d: ComplexMatrix<Double>, _ step: Double) -> ComplexMatrix<Double>? {
        guard let q = try? (a + step * d).qr().q else { return nil }
        return q
    }

    /// Runs the stages `temperatures` from A (orthonormal); returns the final iterate, the number
    /// of iterations and the last relative gradient norm.
    func run(from start: ComplexMatrix<Double>, temperatures: [Double]) -> (a: ComplexMatrix<Double>, iterations: Int, gradientNorm: Double)? {
        var workspace = BeamformingObjective.Workspace(problem)
        var a = start
        var iterations = 0
        var lastNorm = Double.infinity
        for tau in temperatures {
            // Objective scale fixed per stage so F and its gradient are O(1) whatever the path loss.
            guard let scale = problem.terms(a).max(), scale.isFinite, scale > 0 else { return nil }
            let t = tau
            guard var s = state(a, temperature: t, scale: scale, workspace: &workspace) else { return nil }
            var d = -1.0 * s.gradient
            var gg = GrassmannSolver.inner(s.gradient, s.gradient)
            var step = 1.0 / max(gg.squareRoot(), 1e-300)
            for _ in 0..<options.maxIterationsPerStage {
                if gg.squareRoot() <= options.gradientTolerance * abs(s.smoothed) { break }
                var slope = GrassmannSolver.inner(s.gradient, d)
                if slope >= 0 {
                    d = -1.0 * s.gradient
                    slope = -gg
                }
                // Armijo backtracking from a step that doubles the last accepted one.
                var alpha = step * 2
                var next: State? = nil
                for _ in 0..<40 {
                    if let candidate = GrassmannSolver.retract(s.a, d, alpha),
                       let c = state(candidate, temperature: t, scale: scale, workspace: &workspace),
                       c.smoothed <= s.smoothed + options.armijo * alpha * slope {
                        next = c
                        break
                    }
                    alpha *= 0.5
                }
                iterations += 1
                guard let n = next else { break }
                step = alpha
                let transportedD = GrassmannSolver.project(d, onto: n.a)
                let transportedG = GrassmannSolver.project(s.gradient, onto: n.a)
                let ggNew = GrassmannSolver.inner(n.gradient, n.gradient)
                let beta = max(0, (ggNew - GrassmannSolver.inner(n.gradient, transportedG)) / gg)
                d = beta * transportedD - n.gradient
                let decrease = s.smoothed - n.smoothed
                s = n
                gg = ggNew
                if decrease <= 1e-12 * abs(s.smoothed) { break }
            }
            a = s.a
            lastNorm = gg.squareRoot() / max(abs(s.smoothed), 1e-300)
        }
        return (a, iterations, lastNorm)
    }
}

extension ComplexMatrix {
    /// −1·A etc.: real scaling with the scalar first.
    fileprivate static prefix func - (a: ComplexMatrix) -> ComplexMatrix { T(-1) * a }
}
