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
    /// ∂L/∂A and ∂L/∂B, the adapter's layout.
    public var gradients: [[LoRATarget: LoRAPair<S>]]
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

extension LlamaForward {
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func lossAndGradients(_ tokens: [Int], policy: ActivationPolicy = .keepAll) throws -> LoRAGradients<S> {
        precondition(!lora.isEmpty, "the gradient pass needs LoRA pairs")
        guard tokens.count >= 2 else { throw GGUFError(path: "tokens", offset: nil, problem: "a training window needs at least 2 tokens, got \(tokens.count)") }
        try validate(tokens)
        let T = tokens.count, L = config.layers
        let pass = layerPass(tokens: T)
        let head = OutputHead(weights: weights, matmul: matmul)

        // Forward, keeping each layer's activations, or only its input when it will be recomputed.
        let firstKept = policy.recompute ? max(0, L - policy.keptLayers) : 0
        var stored = [LayerActivations<S>]()
        var inputs = [[S]]()
        var acts = LayerActivations<S>(config, tokens: T, recordsAllHeads: true)
        weights.embed(tokens, into: &acts.x)
        var y = [S](repeating: 0, count: T * config.embedding)
        for index in 0..<L {
            if index < firstKept { inputs.append(acts.x) }
            pass.forward(try weights.layer(index), lora[index], &acts, into: &y)
            if index >= firstKept { stored.append(acts) }
            acts.x = y
        }
        var (logps, saved) = head.forward(acts.x, tokens: tokens, pass: pass, keepLogits: policy.keepLogits)
        let scored = logps.count
        let loss = -logps.reduce(0) { $0 + Double($1) } / Double(scored)

        // Backward.
        var dy = head.backward(&saved, tokens: tokens, pass: pass, weight: 1 / S(scored))
        var gradients = lora.map { $0.mapValues { $0.zeros } }
        var dx = [S](repeating: 0, count: T * config.embedding)
        for index in stride(from: L - 1, through: 0, by: -1) {
            let w = try weights.layer(index)
            if index < firstKept {
                acts.x = inputs[index]
                pass.forward(w, lora[index], &acts, into: &y)
            } else {
                acts = stored.removeLast()
            }
            pass.backward(w, lora[index], acts, dy: dy, dx: &dx, grads: &gradients[index])
            swap(&dy, &dx)
        }
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
