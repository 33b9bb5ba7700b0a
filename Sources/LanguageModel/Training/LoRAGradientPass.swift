import COpenBLAS
import Dispatch

/// The training pass: loss and LoRA gradients of one window.
///
/// Loss L = mean over the T−1 scored positions of −log p(tokens[t+1] | tokens[...t]), the same
/// scoring as perplexity. Forward runs every layer and keeps what the `ActivationPolicy` says:
/// each layer's whole `LayerActivations`, or (`recompute`) only its input x (T·d), recomputing
/// the rest just before the layer's backward — one more forward's work for T·d per layer instead
/// of ≈ 11 MB per layer at T = 256 — except for the last `keptLayers` layers, which stay whole.
/// The head keeps its logits [T][V] for backward, or recomputes them chunk by chunk
/// (`keepLogits`). Backward walks the layers in reverse with `LayerPass.backward`.
public struct LoRAGradients<S: LlamaScalar> {
    /// Mean negative log-likelihood per scored token (nats).
    public var loss: Double
    /// Positions with a target (T − 1): the loss's denominator and the fine-tuner's batch weight.
    public var scoredTokens: Int
    /// ∂L/∂A and ∂L/∂B in one flat buffer of the adapter's `LoRALayout` (each slot's gradient
    /// where the slot's parameters are).
    public var gradients: LoRAParameters<S>
}

/// Which activations the gradient pass keeps from forward to backward.
public struct ActivationPolicy: Sendable, Equatable {
    /// Recompute a layer's activations in backward from its input (kept, T·d), except for the
    /// last `keptLayers` layers, whose activations are kept.
    public var recompute: Bool
    /// How many of the last layers keep their whole activations when `recompute` is set.
    public var keptLayers: Int
    /// Keep the logits of every vocabulary chunk ([T][V]) instead of recomputing them in backward.
    public var keepLogits: Bool

    /// A policy; `keptLayers` matters only with `recompute`.
    public init(recompute: Bool, keptLayers: Int = 0, keepLogits: Bool) {
        self.recompute = recompute
        self.keptLayers = keptLayers
        self.keepLogits = keepLogits
    }

    /// Everything kept (the cached mode's policy).
    public static let keepAll = ActivationPolicy(recompute: false, keepLogits: true)
    /// Only the layer inputs kept (the least memory).
    public static let recomputeAll = ActivationPolicy(recompute: true, keepLogits: false)
}

/// The layers' activation buffers (`LayerActivations`, ≈ 11 MB per layer for SmolLM2 at T = 256)
/// handed from one gradient pass to the next. A training loop that passes one keeps them
/// allocated, as llm.c keeps its activation memory: otherwise every step frees them, the
/// allocator hands them back to the kernel (they are the top of the heap) and the next step
/// page-faults them in again (≈ 50,000 faults a step in the cached mode).
public final class GradientWorkspace<S: LlamaScalar> {
    var layers: [LayerActivations<S>] = []
    public init() {}
}

/// One gradient pass's activation buffers: spare ones (from the workspace), the kept layers'
/// (in layer order) and the one the recomputed layers share — max(k, 1) in all for k kept
/// layers, as many as the pass held before it kept a workspace.
struct ActivationStore<S: LlamaScalar> {
    let config: LlamaConfig, tokens: Int
    var spare: [LayerActivations<S>]
    var kept: [LayerActivations<S>] = []
    var scratch: LayerActivations<S>? = nil

    init(_ c: LlamaConfig, tokens T: Int, workspace: GradientWorkspace<S>?) {
        config = c
        tokens = T
        spare = (workspace?.layers ?? []).filter { $0.tokens == T && $0.recordsAllHeads }
        workspace?.layers = [] // the buffers are ours now (one owner: writes need no copy)
    }

    /// Buffers to write a layer's activations into (their contents are stale): the scratch
    /// when there is one, else a spare, else new ones.
    mutating func takeScratch() -> LayerActivations<S> {
        scratch.take() ?? spare.popLast() ?? LayerActivations<S>(config, tokens: tokens, recordsAllHeads: true)
    }

    /// Every buffer back into the workspace.
    mutating func recycle(into workspace: GradientWorkspace<S>?) {
        workspace?.layers = spare + kept + (scratch.map { [$0] } ?? [])
    }
}

extension LlamaForward {
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func lossAndGradients(
        _ tokens: [Int], policy: ActivationPolicy = .keepAll, workspace: GradientWorkspace<S>? = nil
    ) throws -> LoRAGradients<S> {
        guard let lora else { preconditionFailure("the gradient pass needs LoRA pairs") }
        guard tokens.count >= 2 else {
            throw GGUFError(
                path: "tokens", offset: nil, problem: "a training window needs at least 2 tokens, got \(tokens.count)")
        }
        try validate(tokens)
        let T = tokens.count
        let L = config.layers
        let pass = layerPass(tokens: T)
        let head = OutputHead(weights: weights, matmul: matmul)
        var store = ActivationStore<S>(config, tokens: T, workspace: workspace)

        // Forward, keeping each layer's activations, or only its input when it will be recomputed.
        let firstKept = policy.recompute ? max(0, L - policy.keptLayers) : 0
        var inputs = [[S]]()
        var x = [S](repeating: 0, count: T * config.embedding)
        var y = x
        weights.embed(tokens, into: &x)
        for index in 0..<L {
            let w = try weights.layer(index)
            if index < firstKept {
                inputs.append(x)
                var acts = store.takeScratch()
                acts.x = x // shared with inputs: the layer only reads its x
                pass.forward(w, lora, layer: index, &acts, into: &y)
                store.scratch = acts
            } else {
                var acts = store.takeScratch() // the first kept layer takes the recomputed layers' buffers
                pass.copy(x, into: &acts.x) // its own input, kept
                pass.forward(w, lora, layer: index, &acts, into: &y)
                store.kept.append(acts)
            }
            weights.release(layer: index)
            swap(&x, &y)
        }
        var (logps, saved) = head.forward(x, tokens: tokens, pass: pass, keepLogits: policy.keepLogits)
        let scored = logps.count
        let loss = -logps.reduce(0) { $0 + Double($1) } / Double(scored)

        // Backward.
        var dy = head.backward(&saved, tokens: tokens, pass: pass, weight: 1 / S(scored))
        var gradients = LoRAParameters<S>(zeros: lora.layout)
        var dx = [S](repeating: 0, count: T * config.embedding)
        for index in stride(from: L - 1, through: 0, by: -1) {
            let w = try weights.layer(index, transposes: true)
            if index < firstKept {
                var acts = store.takeScratch()
                acts.x = inputs[index]
                pass.forward(w, lora, layer: index, &acts, into: &y)
                pass.backward(w, lora, layer: index, acts, dy: dy, dx: &dx, grads: &gradients.values)
                store.scratch = acts
            } else {
                let acts = store.kept.removeLast()
                pass.backward(w, lora, layer: index, acts, dy: dy, dx: &dx, grads: &gradients.values)
                store.spare.append(acts)
            }
            weights.release(layer: index)
            swap(&dy, &dx)
        }
        store.recycle(into: workspace)
        return LoRAGradients(loss: loss, scoredTokens: scored, gradients: gradients)
    }

    /// Mean negative log-likelihood of the window (forward only).
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func loss(_ tokens: [Int]) throws -> Double {
        let logps = try logProbabilities(tokens)
        return -logps.reduce(0) { $0 + Double($1) } / Double(max(logps.count, 1))
    }
}

extension LlamaForward {
    /// The token-weighted mean loss (nats/token) and LoRA gradient over `windows`, each window's
    /// pass on one BLAS thread and up to `workers` windows at once, summed in window order in
    /// Double: the same bits for any `workers` (as `perplexity`). What the base station measures
    /// its calibration figures with.
    public func meanLossAndGradient(_ windows: [[Int]], workers: Int = 1, policy: ActivationPolicy = .keepAll) throws
        -> (loss: Double, gradient: [Double], scoredTokens: Int)
    {
        let blasThreads = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(blasThreads) }
        let results = ConcurrentResults<LoRAGradients<S>>(count: windows.count)
        let lanes = max(1, min(workers, windows.count))
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            for i in stride(from: lane, to: windows.count, by: lanes) {
                results.set(i, Result { try lossAndGradients(windows[i], policy: policy) })
            }
        }
        var gradient = [Double]()
        var loss = 0.0
        var scored = 0
        for g in try results.values() {
            let n = Double(g.scoredTokens)
            if gradient.isEmpty { gradient = [Double](repeating: 0, count: g.gradients.values.count) }
            loss += g.loss * n
            scored += g.scoredTokens
            for (i, v) in g.gradients.values.enumerated() { gradient[i] += Double(v) * n }
        }
        guard scored > 0 else { return (.nan, gradient, 0) }
        return (loss / Double(scored), gradient.map { $0 / Double(scored) }, scored)
    }
}
