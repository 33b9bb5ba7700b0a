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
            precondition(l.layout.fits(weights.config), "the adapter's layout (\(l.layout.layers) layers) does not fit the model's shapes (\(weights.config.layers) layers)")
        }
        self.weights = weights
        self.lora = lora
        self.loraScale = loraScale
        self.meter = meter
    }

    var config: LlamaConfig { weights.config }
    var matmul: Matmul<S> { Matmul(meter: meter) }

    func layerPass(tokens T: Int) -> LayerPass<S> {
        LayerPass(config: config, rope: RotaryTables(positions: T, headDimension: config.headDimension, base: config.ropeBase),
                  matmul: matmul, loraScale: loraScale)
    }

    func validate(_ tokens: [Int]) throws {
        for (i, t) in tokens.enumerated() where t < 0 || t >= config.vocabulary {
            throw GGUFError(path: "tokens", offset: nil, problem: "token \(i) = \(t) is outside the vocabulary of \(config.vocabulary)")
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

    /// log p(tokens[t+1] | tokens[...t]) for t = 0..<T−1.
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func logProbabilities(_ tokens: [Int]) throws -> [S] {
        guard tokens.count >= 2 else { return [] }
        try validate(tokens)
        let pass = layerPass(tokens: tokens.count)
        let x = try residualStream(tokens, pass: pass)
        return OutputHead(weights: weights, matmul: matmul).forward(x, tokens: tokens, pass: pass, keepLogits: false).logProbabilities
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
}

extension LlamaForward {
    @_specialize(where S == Float)
    @_specialize(where S == Double)
    public func perplexity(tokens: [Int], context: Int) throws -> PerplexityResult {
        precondition(context >= 2, "context must be at least 2")
        var logps = [Double]()
        var start = 0
        while start + 1 < tokens.count {
            let window = Array(tokens[start..<min(start + context, tokens.count)])
            logps += try logProbabilities(window).map { Double($0) }
            start += context
        }
        let nll = -logps.reduce(0, +) / Double(max(logps.count, 1))
        return PerplexityResult(perplexity: Double.exp(nll), scoredTokens: logps.count, logProbabilities: logps)
    }
}
