import CommandLineSupport
import Foundation
import LanguageModel
import LinearAlgebra
import Numerics
import Radio
import Randomness

/// The base station's own measurements of the loss F on calibration tokens (held-out documents
/// outside the evaluation sample): the loss and its gradient in an adapter's space, and the
/// spectrum of the full-weight gradient ∂F/∂W_j of every adapted matrix, which no rank-r_max
/// update can show (docs/optimality-gap.md, "Estimating the constants").
///
/// Every figure is a mean over the calibration windows weighted by their scored tokens, so F is the
/// same mean loss per token as the held-out loss (nats/token).
struct CalibrationProbe {
    let model: LlamaModel
    /// Calibration windows of at most `ctx` tokens.
    let windows: [[Int]]
    let context: Int

    init(model: LlamaModel, tokens: [Int], context: Int) {
        self.model = model
        self.context = context
        windows = stride(from: 0, to: max(tokens.count - 1, 0), by: context).map {
            Array(tokens[$0..<min($0 + context, tokens.count)])
        }
        .filter { $0.count >= 2 }
    }

    /// F(θ) and ∇_θ F in `adapter`'s flat layout (`LoRAAdapter.flattened` order).
    func lossAndGradient(_ adapter: LoRAAdapter) throws -> (loss: Double, gradient: [Double]) {
        // The nodes wait while the base station plans: every core takes windows of its own.
        let r = try LlamaForward(model: model, adapter: adapter).meanLossAndGradient(
            windows, workers: ProcessInfo.processInfo.activeProcessorCount)
        guard r.scoredTokens > 0 else { throw CommandError("no calibration tokens to measure the loss on") }
        return (r.loss, r.gradient)
    }

    /// F(θ) alone (forward passes only), the same token-weighted mean over the same windows.
    func loss(_ adapter: LoRAAdapter) throws -> Double {
        let r = try LlamaForward(model: model, adapter: adapter)
            .perplexity(
                tokens: Array(windows.joined()), context: context, workers: ProcessInfo.processInfo.activeProcessorCount
            )
        guard r.scoredTokens > 0 else { throw CommandError("no calibration tokens to measure the loss on") }
        return -r.logProbabilities.reduce(0, +) / Double(r.scoredTokens)
    }

    /// The top `rank` singular values of every adapted matrix's gradient G_j = ∂F/∂W_j at the base
    /// model, pooled by index (s_i² = Σ_j σ_{j,i}²), by a randomised range sketch with `powerIterations`
    /// power iterations (Halko, Martinsson and Tropp, 2011, algorithm 4.4), every product with G or
    /// Gᵀ a LoRA gradient pass at scale 1, so no d_out × d_in matrix is formed: with A = Pᵀ and B = 0
    /// the B-gradient is G P; with B = Q and A = 0 the A-gradient is Qᵀ G. Both adapters leave the
    /// model as it is (B·A = 0). Starting from a Gaussian P, Q = orth(G P); each power iteration
    /// P = orth((Qᵀ G)ᵀ), Q = orth(G P); the singular values of the final Qᵀ G are G's top p
    /// (exactly when p ≥ rank G). 2 + 2·`powerIterations` passes over the calibration tokens.
    func gradientSpectrum(
        config: LlamaConfig, targets: [LoRATarget], rank p: Int, seed: UInt64, powerIterations: Int = 1
    ) throws -> PilotSpectrum {
        var probe = LoRAAdapter(config: config, rank: p, alpha: Float(p), targets: targets, seed: seed)
        let slots = probe.layout.slots
        var gaussian = SeededGenerator(seed: seed, stream: [0x736B_6574]) // "sket"
        var right = slots.map { s in
            ComplexMatrix<Double>(rows: s.dIn, cols: s.rank) { _, _ in Complex(gaussian.normal(), 0) }
        }
        var left = [ComplexMatrix<Double>]()
        /// G P for every slot: A = Pᵀ, B = 0; the B-gradient, d_out × p.
        func timesRight() throws -> [ComplexMatrix<Double>] {
            var values = [Float](repeating: 0, count: probe.layout.parameterCount)
            for (s, m) in zip(slots, right) {
                for i in 0..<s.rank { for j in 0..<s.dIn { values[s.a + i * s.dIn + j] = Float(m[j, i].real) } }
            }
            try probe.assign(flattened: values)
            let g = try lossAndGradient(probe).gradient
            return slots.map { s in
                ComplexMatrix<Double>(rows: s.dOut, cols: s.rank) { i, j in Complex(g[s.b + i * s.rank + j], 0) }
            }
        }
        /// Qᵀ G for every slot: B = Q, A = 0; the A-gradient, p × d_in.
        func leftTimes() throws -> [ComplexMatrix<Double>] {
            var values = [Float](repeating: 0, count: probe.layout.parameterCount)
            for (s, m) in zip(slots, left) {
                for i in 0..<s.dOut { for j in 0..<s.rank { values[s.b + i * s.rank + j] = Float(m[i, j].real) } }
            }
            try probe.assign(flattened: values)
            let g = try lossAndGradient(probe).gradient
            return slots.map { s in
                ComplexMatrix<Double>(rows: s.rank, cols: s.dIn) { i, j in Complex(g[s.a + i * s.dIn + j], 0) }
            }
        }
        left = try timesRight().map { try $0.qr().q }
        for _ in 0..<powerIterations {
            right = try leftTimes().map { try $0.adjoint.qr().q }
            left = try timesRight().map { try $0.qr().q }
        }
        var pooled = [Double]()
        for z in try leftTimes() {
            let gram = z.product(z, .none, .adjoint)
            for (i, v) in try gram.hermitianEigen().values.map({ max(0, $0) }).sorted(by: >).enumerated() {
                if i == pooled.count { pooled.append(0) }
                pooled[i] += v
            }
        }
        return try PilotSpectrum(singularValues: pooled.map { $0.squareRoot() })
    }
}
