import COpenBLAS
import Dispatch
import Foundation

/// Llama passes over one window of T tokens (positions 0..<T; no KV cache across windows): logits,
/// log-probabilities and perplexity here; the LoRA gradient pass in `Training/`.
///
/// The layer is `LayerPass`; the head and loss `OutputHead`. The public entry points carry
/// `@_specialize` for Float and Double: callers in other modules would otherwise run the generic
/// kernels unspecialised (through value witnesses, ~4× slower). Adapted projections add
/// (α/r)(in·Aᵀ)Bᵀ, reading A and B in place from the adapter's flat buffer (`LoRALayout`'s
/// offsets into `lora.values`). Every matrix product is one gemm; `meter`, when given, counts every
/// product and every elementwise kernel (`FlopMeter`).
public struct LlamaForward<S: LlamaScalar> {
    public let weights: LlamaWeights<S>
    /// The LoRA parameters, one flat buffer and its layout (nil: no adapter), and their scale α/r.
    public let lora: LoRAParameters<S>?
    public let loraScale: S
    public let meter: FlopMeter?

    public init(weights: LlamaWeights<S>, lora: LoRAParameters<S>? = nil, loraScale: S = 1, meter: FlopMeter? = nil) {
        if let l = lora {
            precondition(
                l.layout.fits(weights.config),
                "the adapter's layout (\(l.layout.layers) layers) does not fit the model's shapes "
                    + "(\(weights.config.layers) layers)"
            )
        }
        self.weights = weights
        self.lora = lora
        self.loraScale = loraScale
        self.meter = meter
    }

    var config: LlamaConfig { weights.config }
    var matmul: Matmul<S> { Matmul(meter: meter) }

    func layerPass(tokens T: Int) -> LayerPass<S> {
        LayerPass(
            config: config,
            rope: RotaryTables(positions: T, headDimension: config.headDimension, base: config.ropeBase),
            matmul: matmul, loraScale: loraScale)
    }

    func validate(_ tokens: [Int]) throws {
        for (i, t) in tokens.enumerated() where t < 0 || t >= config.vocabulary {
            throw GGUFError(
                path: "tokens", offset: nil,
                problem: "token \(i) = \(t) is outside the vocabulary of \(config.vocabulary)")
        }
    }

    /// The final residual stream [T][d] (before the output norm), without keeping activations.
    func residualStream(_ tokens: [Int], pass: LayerPass<S>) throws -> [S] {
        let T = tokens.count
        var acts = LayerActivations<S>(config, tokens: T, recordsAllHeads: false)
        weights.embed(tokens, into: &acts.x)
        var y = [S](repeating: 0, count: T * config.embedding)
        for index in 0..<config.layers {
            pass.forward(try weights.layer(index), lora, layer: index, &acts, into: &y)
            weights.release(layer: index)
            swap(&acts.x, &y)
        }
        return acts.x
    }

    /// Logits [T][vocab] for `tokens`.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func logits(_ tokens: [Int]) throws -> [S] {
        guard !tokens.isEmpty else { return [] }
        try validate(tokens)
        let pass = layerPass(tokens: tokens.count)
        return OutputHead(weights: weights, matmul: matmul).logits(try residualStream(tokens, pass: pass), pass: pass)
    }

    /// The logits [vocab] after the last of `tokens`: every layer over all of them, the head on the
    /// last row only (the work of llama.cpp's prompt processing; `edgenode bench` times it so the
    /// two can be set side by side).
    @_specialize(where S == Float)
    public func lastLogits(_ tokens: [Int]) throws -> [S] {
        guard !tokens.isEmpty else { return [] }
        try validate(tokens)
        let pass = layerPass(tokens: tokens.count)
        let x = try residualStream(tokens, pass: pass)
        let d = config.embedding
        return OutputHead(weights: weights, matmul: matmul).logits(Array(x[(x.count - d)...]), pass: pass)
    }

    /// log p(tokens[t+1] | tokens[...t]) for t = 0..<T−1.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func logProbabilities(_ tokens: [Int]) throws -> [S] {
        guard tokens.count >= 2 else { return [] }
        try validate(tokens)
        let pass = layerPass(tokens: tokens.count)
        let x = try residualStream(tokens, pass: pass)
        return OutputHead(weights: weights, matmul: matmul).forward(x, tokens: tokens, pass: pass, keepLogits: false)
            .logProbabilities
    }
}

extension LlamaForward where S == Float {
    /// The Float model with an optional adapter.
    public init(model: LlamaModel, adapter: LoRAAdapter? = nil, meter: FlopMeter? = nil) {
        self.init(weights: model, lora: adapter?.parameters, loraScale: adapter?.scale ?? 1, meter: meter)
    }
}

/// Perplexity as the issue defines it: the text's tokens (no BOS) in non-overlapping windows of
/// `context` tokens; every token but each window's first is scored by the log-probability the
/// model gives it from the tokens before it in the window.
public struct PerplexityResult: Sendable {
    public var perplexity: Double
    public var scoredTokens: Int
    /// log p of every scored token, in order.
    public var logProbabilities: [Double]
    /// The standard error of the mean loss −(1/N)Σ log p (nats/token), the windows as the
    /// independent units (a window's tokens share their context, so they are not independent):
    /// √(W/(W − 1) · Σ_w n_w² (m_w − m)²) / N over W windows of n_w tokens and mean loss m_w
    /// (the ratio estimator's). NaN with fewer than two windows.
    public var lossStandardError: Double

    public init(perplexity: Double, scoredTokens: Int, logProbabilities: [Double], lossStandardError: Double = .nan) {
        self.perplexity = perplexity
        self.scoredTokens = scoredTokens
        self.logProbabilities = logProbabilities
        self.lossStandardError = lossStandardError
    }

    /// The standard error above from each window's log p.
    static func standardError(windows: [[Double]]) -> Double {
        let scored = windows.filter { !$0.isEmpty }
        let n = Double(scored.reduce(0) { $0 + $1.count })
        let w = Double(scored.count)
        guard scored.count >= 2 else { return .nan }
        let mean = -scored.reduce(0.0) { $0 + $1.reduce(0, +) } / n
        let spread = scored.reduce(0.0) { acc, window in
            let count = Double(window.count)
            let m = -window.reduce(0, +) / count
            return acc + count * count * (m - mean) * (m - mean)
        }
        return (w / (w - 1) * spread).squareRoot() / n
    }
}

extension LlamaForward {
    /// Every window runs on one BLAS thread (OpenBLAS's own thread count restored after), and
    /// `workers` > 1 (and no FLOP meter) evaluates that many windows at once. Why one BLAS thread
    /// even for `workers` = 1: on some CPUs (OpenBLAS's Haswell/Zen kernels) a multithreaded
    /// sgemm rounds differently from a single-threaded one, so the result would depend on the
    /// thread count; this way it is the same bits for any `workers` (`LlamaForwardTests`). Small
    /// windows leave a multithreaded gemm half idle anyway (on two cores, 390 tokens/s against
    /// twice 233 on one), so `workers` = the cores is the fast setting.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func perplexity(tokens: [Int], context: Int, workers: Int = 1) throws -> PerplexityResult {
        precondition(context >= 2, "context must be at least 2")
        let starts = Array(stride(from: 0, to: max(tokens.count - 1, 0), by: context))
        let window = { (start: Int) in Array(tokens[start..<min(start + context, tokens.count)]) }
        var perWindow = [[Double]]()
        let blasThreads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(blasThreads) }
        if workers > 1 && meter == nil && starts.count > 1 {
            let results = ConcurrentResults<[Double]>(count: starts.count)
            DispatchQueue.concurrentPerform(iterations: min(workers, starts.count)) { worker in
                for i in stride(from: worker, to: starts.count, by: min(workers, starts.count)) {
                    results.set(i, Result { try logProbabilities(window(starts[i])).map { Double($0) } })
                }
            }
            perWindow = try results.values()
        } else {
            perWindow = try starts.map { try logProbabilities(window($0)).map { Double($0) } }
        }
        let logps = perWindow.flatMap { $0 }
        let nll = -logps.reduce(0, +) / Double(max(logps.count, 1))
        return PerplexityResult(
            perplexity: Double.exp(nll), scoredTokens: logps.count, logProbabilities: logps,
            lossStandardError: PerplexityResult.standardError(windows: perWindow))
    }
}

/// One result per index, each set by one thread of a `concurrentPerform`.
final class ConcurrentResults<T>: @unchecked Sendable {
    private var slots: [Result<T, Error>?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ r: Result<T, Error>) {
        lock.lock()
        slots[i] = r
        lock.unlock()
    }

    /// Every value in index order, or the first error.
    func values() throws -> [T] { try slots.map { try $0!.get() } }
}
