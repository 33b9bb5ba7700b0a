import Foundation
import LinearAlgebra
import Numerics

/// Tuning of the manifold solver. The defaults are what `basestation solve` uses.
public struct ManifoldSolverOptions: Sendable {
    /// Smoothing temperatures of the log-sum-exp, relative to the objective at the stage's start;
    /// each stage warm-starts from the last (continuation).
    public var temperatures: [Double] = [0.1, 0.01, 0.001, 0.0003]
    /// Riemannian conjugate-gradient iterations per stage at most.
    public var maxIterationsPerStage = 150
    /// Iterations of the first stage, run from every start to pick the survivors.
    public var screeningIterations = 150
    /// The last stage ends when ‖grad F‖ ≤ tolerance · F (F the smoothed objective).
    public var gradientTolerance = 1e-7
    /// Earlier stages only prepare a start for the next one and stop at this looser tolerance.
    public var intermediateTolerance = 1e-3
    /// Armijo sufficient-decrease constant.
    public var armijo = 1e-4
    /// Random starts besides the `eigen` and `weakest` ones (and any warm start).
    public var randomStarts = 2
    /// Starts kept after the first stage (the best ones by true objective) for the remaining stages.
    /// One survivor is faster but lands 1.3 % above Pymanopt's best of 32 restarts on average;
    /// two keep the mean within 0.9 %, and a third adds time but no quality (BENCHMARKS.md).
    public var survivors = 2
    /// With a warm start (a neighbouring subcarrier's or the last round's answer), only the last
    /// `warmStages` temperatures run, from the warm starts alone: they already sit in a good basin.
    /// 0 (the default) disables the shortcut: warm starts join the cold pipeline as extra starts.
    /// The shortcut is ~6× faster and lands 1–3 % higher (BENCHMARKS.md).
    public var warmStages = 0
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

/// Riemannian conjugate gradient (Polak–Ribière+, Armijo backtracking, Cholesky-QR retraction,
/// projection transport) on the complex Grassmann manifold for the smoothed problem
///   F_t(A) = t · log Σ_k exp(f_k(A) / t),   max_k f_k ≤ F_t ≤ max_k f_k + t log K,
/// with t lowered stage by stage (continuation): large t makes F smooth and the landscape gentle,
/// small t makes it hug the max. Metric Re tr(Xᴴ Y); Riemannian gradient (I − A Aᴴ) ∇F.
///
/// Retraction R_A(αd) = (A + αd) R⁻¹ with Rᴴ R = (A + αd)ᴴ (A + αd) = I + α² dᴴd (because Aᴴd = 0):
/// the Gram matrix is perfectly conditioned (eigenvalues ≥ 1), so Cholesky-QR is as accurate as
/// Householder QR here, and dᴴd is formed once per direction for the whole backtracking.
///
/// Buffers: every N_r × L matrix is column-major `[Complex<Double>]`, preallocated per run; the
/// loop still makes a few small copies per evaluation (the terms array, the candidate wrapped as a
/// `ComplexMatrix`); malloc, free and copies together took a few percent in perf.
struct GrassmannSolver {
    let problem: BeamformingObjective
    let options: ManifoldSolverOptions

    /// Runs the stages `temperatures` from A (orthonormal); returns the final iterate, the number
    /// of iterations and the last relative gradient norm. nil if A makes some Aᴴ H_k singular.
    func run(from start: ComplexMatrix<Double>, temperatures: [Double], maxIterations: Int? = nil) -> (
        a: ComplexMatrix<Double>, iterations: Int, gradientNorm: Double
    )? {
        var w = Buffers(problem)
        w.a = start.elements
        var iterations = 0
        var lastNorm = Double.infinity
        for (stage, t) in temperatures.enumerated() {
            let tolerance =
                stage == temperatures.count - 1 && t == options.temperatures.last
                ? options.gradientTolerance : options.intermediateTolerance
            // Objective scale fixed per stage so F and its gradient are O(1) whatever the path loss.
            guard evaluate(&w, point: \.a, temperature: t, scale: nil) else { return nil }
            var gg = w.dot(w.gradient, w.gradient)
            negate(w.gradient, into: &w.direction)
            var step = 1.0 / max(gg.squareRoot(), 1e-300)
            for _ in 0..<(maxIterations ?? options.maxIterationsPerStage) {
                if gg.squareRoot() <= tolerance * abs(w.smoothed) { break }
                var slope = w.dot(w.gradient, w.direction)
                if slope >= 0 {
                    negate(w.gradient, into: &w.direction)
                    slope = -gg
                }
                // Armijo backtracking from twice the last accepted step.
                var alpha = step * 2
                var accepted = false
                let current = w.smoothed
                for _ in 0..<40 {
                    w.retract(alpha)
                    if evaluate(
                        &w, point: \.candidate, temperature: t, scale: w.scale, storeGradientIn: \.candidateGradient),
                        w.candidateSmoothed <= current + options.armijo * alpha * slope
                    {
                        accepted = true
                        break
                    }
                    alpha *= 0.5
                }
                iterations += 1
                guard accepted else { break }
                step = alpha
                // Transport d and the old gradient to the new point by projection, then PR+.
                w.project(\.direction, onto: \.candidate)
                w.project(\.gradient, onto: \.candidate)
                let ggNew = w.dot(w.candidateGradient, w.candidateGradient)
                let beta = max(0, (ggNew - w.dot(w.candidateGradient, w.gradient)) / gg)
                for i in w.direction.indices {
                    w.direction[i] = w.direction[i].multiplied(by: beta) - w.candidateGradient[i]
                }
                swap(&w.a, &w.candidate)
                swap(&w.gradient, &w.candidateGradient)
                let decrease = current - w.candidateSmoothed
                w.smoothed = w.candidateSmoothed
                gg = ggNew
                if decrease <= 1e-12 * abs(w.smoothed) { break }
            }
            lastNorm = gg.squareRoot() / max(abs(w.smoothed), 1e-300)
        }
        return (
            ComplexMatrix(rows: problem.receiveAntennas, cols: problem.streams, elements: w.a), iterations, lastNorm
        )
    }

    /// Evaluates F_t and its Riemannian gradient at `point`. With `scale` nil, fixes the stage's
    /// scale to max_k f_k at this point. Writes the value to `smoothed` (or `candidateSmoothed`).
    private func evaluate(
        _ w: inout Buffers, point: WritableKeyPath<Buffers, [Complex<Double>]>, temperature t: Double, scale: Double?,
        storeGradientIn target: WritableKeyPath<Buffers, [Complex<Double>]> = \.gradient
    ) -> Bool {
        let a = ComplexMatrix(rows: problem.receiveAntennas, cols: problem.streams, elements: w[keyPath: point])
        let (terms, finite) = problem.evaluateTerms(a, workspace: &w.objective)
        guard finite else { return false }
        let s = scale ?? terms.max()!
        guard s > 0, s.isFinite else { return false }
        if scale == nil { w.scale = s }
        var m = -Double.infinity
        for v in terms { m = max(m, v / s) }
        var sum = 0.0
        for k in terms.indices {
            let e = exp((terms[k] / s - m) / t)
            w.pi[k] = e
            sum += e
        }
        // ∂F/∂f_k for F = t log Σ exp(f_k / (s t)).
        for k in terms.indices { w.pi[k] /= sum * s }
        problem.accumulateGradient(weights: w.pi, workspace: &w.objective)
        let value = m + t * log(sum)
        if point == \Buffers.a { w.smoothed = value } else { w.candidateSmoothed = value }
        // Riemannian gradient: ∇F − A (Aᴴ ∇F).
        for i in w.objective.gradient.indices { w[keyPath: target][i] = w.objective.gradient[i] }
        w.project(target, onto: point)
        return true
    }

    private func negate(_ x: [Complex<Double>], into y: inout [Complex<Double>]) {
        for i in x.indices { y[i] = -x[i] }
    }

    /// The solver's buffers.
    struct Buffers {
        let nr: Int, l: Int
        var a: [Complex<Double>], candidate: [Complex<Double>]
        var gradient: [Complex<Double>], candidateGradient: [Complex<Double>]
        var direction: [Complex<Double>]
        var step: [Complex<Double>] // A + α d before normalisation
        var small: [Complex<Double>] // L × L scratch (Aᴴ X, the retraction's Gram)
        var pi: [Double]
        var smoothed = 0.0, candidateSmoothed = 0.0, scale = 1.0
        var objective: BeamformingObjective.Workspace

        init(_ p: BeamformingObjective) {
            nr = p.receiveAntennas
            l = p.streams
            let size = nr * l
            a = Array(repeating: .zero, count: size)
            candidate = a
            gradient = a
            candidateGradient = a
            direction = a
            step = a
            small = Array(repeating: .zero, count: l * l)
            pi = Array(repeating: 0, count: p.devices)
            objective = BeamformingObjective.Workspace(p)
        }

        func dot(_ x: [Complex<Double>], _ y: [Complex<Double>]) -> Double {
            var s = 0.0
            for i in x.indices { s += x[i].real * y[i].real + x[i].imaginary * y[i].imaginary }
            return s
        }

        /// x ← x − P (Pᴴ x): projection onto the horizontal space at P.
        mutating func project(
            _ x: WritableKeyPath<Buffers, [Complex<Double>]>, onto p: WritableKeyPath<Buffers, [Complex<Double>]>
        ) {
            let nr = self.nr
            let l = self.l
            // Move the arrays out so the writes below do not trigger copy-on-write.
            var xs: [Complex<Double>] = []
            swap(&xs, &self[keyPath: x])
            defer { swap(&xs, &self[keyPath: x]) }
            let ps = x == p ? xs : self[keyPath: p]
            xs.withUnsafeMutableBufferPointer { px in
                ps.withUnsafeBufferPointer { pp in
                    small.withUnsafeMutableBufferPointer { s in
                        Double.gemm(
                            .adjoint, .none, m: l, n: l, k: nr, alpha: .one, a: pp.baseAddress!, lda: nr,
                            b: px.baseAddress!, ldb: nr, beta: .zero, c: s.baseAddress!, ldc: l)
                        Double.gemm(
                            .none, .none, m: nr, n: l, k: l, alpha: Complex(-1), a: pp.baseAddress!, lda: nr,
                            b: s.baseAddress!, ldb: l, beta: .one, c: px.baseAddress!, ldc: nr)
                    }
                }
            }
        }

        /// dᴴ d (L × L).
        /// candidate ← (A + α d) R⁻¹ with Rᴴ R the Gram matrix of A + α d (Cholesky-QR). In exact
        /// arithmetic that Gram is I + α² dᴴ d (Aᴴ d = 0); it is formed from A + α d itself so that
        /// rounding in Aᴴ d ≈ 0 is not amplified by large steps and cannot accumulate across
        /// iterations (badly scaled objectives take steps with α‖d‖ ≫ 1).
        mutating func retract(_ alpha: Double) {
            let nr = self.nr
            let l = self.l
            for i in step.indices { step[i] = a[i] + direction[i].multiplied(by: alpha) }
            step.withUnsafeBufferPointer { px in
                small.withUnsafeMutableBufferPointer { g in
                    Double.gemm(
                        .adjoint, .none, m: l, n: l, k: nr, alpha: .one, a: px.baseAddress!, lda: nr,
                        b: px.baseAddress!, ldb: nr, beta: .zero, c: g.baseAddress!, ldc: l)
                }
            }
            small.withUnsafeMutableBufferPointer { s in
                _ = SmallHermitian.lowerInverseCholesky(s.baseAddress!, order: l) // s ← L⁻¹ (lower)
            }
            for j in 0..<l { for i in 0..<j { small[j * l + i] = .zero } } // clear the strict upper part
            // candidate ← (A + αd) · L⁻ᴴ: one gemm with the adjoint flag.
            step.withUnsafeBufferPointer { px in
                small.withUnsafeBufferPointer { s in
                    candidate.withUnsafeMutableBufferPointer { pc in
                        Double.gemm(
                            .none, .adjoint, m: nr, n: l, k: l, alpha: .one, a: px.baseAddress!, lda: nr,
                            b: s.baseAddress!, ldb: l, beta: .zero, c: pc.baseAddress!, ldc: nr)
                    }
                }
            }
        }
    }
}
