/// The bytes LoRA fine-tuning holds at its peak, planned before anything is allocated, for a
/// model, an adapter shape, a window length and a memory mode. The edge firmware holds itself to
/// its profile's RAM with this; `finetune --memory auto` picks the mode with it.
///
/// Float32 throughout. T = ctx, L layers, V vocabulary, C output chunk rows.
public struct TrainingMemoryPlan: Sendable, Equatable {
    public enum Mode: String, Sendable, CaseIterable {
        /// Dequantised-weight cache, every layer's activations kept.
        case cached
        /// Per-layer dequantisation on the fly, activations recomputed, output head in chunks.
        case streamed
    }

    public var mode: Mode
    /// The kernel the run's frozen products use: `.quantized` when asked for and the model allows it
    /// (`LlamaWeights` then holds no Float layers, in either mode), else `.float`.
    public var kernel: FrozenKernel
    /// What the gradient pass keeps (streamed: the last layers' activations and the logits when
    /// the budget allows; `TrainingMemoryPlan.filling` chooses).
    public var activationPolicy: ActivationPolicy
    /// Dequantised weights resident: all of them (cached) or one layer and one output chunk
    /// (streamed); with the quantized kernel, the Q8_0 transposes (all, or one layer's and 32
    /// rows of Floats while they are made), the norms and any Float head.
    public var weights: Int
    /// The quantised file's pages resident at once: none after loading (cached), one layer's
    /// (streamed; and one output chunk's on the quantized kernel), the tensors read in place (the
    /// quantized kernel, cached).
    public var mappedModel: Int
    /// Activations kept for backward: L·LayerActivations (cached) or L·T·d checkpoints plus one
    /// layer's recomputed activations (streamed); the head's logits [T][V] or one chunk [T][C].
    /// (The layers' buffers stay allocated between steps, in the fine-tuner's `GradientWorkspace`.)
    public var activations: Int
    /// Backward's transient gradients (one layer's dx, dm, dg, du, dq, dk, dv, dP).
    public var backwardScratch: Int
    /// LoRA parameters (one flat buffer of D reals), their gradients (one window's buffer and the
    /// step's accumulator, 2·D), optimiser state (`LoRAOptimizer.stateBytes`: AdamW 2·D, SGD with
    /// momentum D, plain SGD none).
    public var adapter: Int
    public var gradients: Int
    public var optimizerState: Int
    /// The process itself: binary, Swift runtime, OpenBLAS's per-thread buffers (this emulator's,
    /// measured on the reference machine: peak RSS of a 1-token forward of the tiny model minus its
    /// plan). Device checks pass 0: a device's budget is for the training state, not our process.
    public var runtime: Int

    public var total: Int {
        weights + mappedModel + activations + backwardScratch + adapter + gradients + optimizerState + runtime
    }

    public static let runtimeBytes = 24 << 20

    public init(
        config c: LlamaConfig, quantizedLayerBytes: Int, untiedOutput: Bool, adapterParameters: Int,
        optimizer: OptimizerKind, momentum: Float = 0, context T: Int, mode: Mode, outputChunkRows: Int = 4096,
        runtimeBytes: Int = TrainingMemoryPlan.runtimeBytes,
        keptLayers: Int = 0, keepLogits: Bool = false, quantized: (owned: Int, mapped: Int, outputOnBlocks: Bool)? = nil
    ) {
        let f = 4
        let d = c.embedding
        let kv = c.kvDimension
        let ff = c.feedForward
        let V = c.vocabulary
        let L = c.layers
        let layer = LlamaLayer<Float>.byteCount(c)
        let stored = LayerActivations<Float>.byteCount(c, tokens: T, recordsAllHeads: true)
        self.mode = mode
        kernel = quantized != nil ? .quantized : .float
        switch mode {
        case .cached:
            if let q = quantized {
                weights = q.owned + (2 * L + 1) * d * f + (q.outputOnBlocks ? 0 : V * d * f * (untiedOutput ? 2 : 1))
                mappedModel = q.mapped
            } else {
                weights = L * layer + V * d * f * (untiedOutput ? 2 : 1)
                mappedModel = 0
            }
            activations = L * stored + T * V * f + 3 * T * d * f
            activationPolicy = .keepAll
        case .streamed:
            let C = min(outputChunkRows, V)
            let k = min(max(0, keptLayers), L)
            // On blocks `quantized` is one layer's (owned: transposes and 32 rows of Floats; mapped:
            // an output chunk's pages), `TrainingMemoryPlan(gguf:…)` says.
            weights = (quantized?.owned ?? layer) + 2 * C * d * f
            mappedModel = quantizedLayerBytes + (quantized?.mapped ?? 0)
            // Inputs of the recomputed layers, the kept layers' activations plus one to recompute
            // into, the logits ([T][V] kept, or a chunk and its gradient), the head's [T][d] buffers.
            activations =
                (L - k) * T * d * f + (k + 1) * stored + (keepLogits ? T * V * f + T * C * f : 2 * T * C * f) + 3 * T
                * d * f
            activationPolicy = ActivationPolicy(recompute: true, keptLayers: k, keepLogits: keepLogits)
        }
        backwardScratch = (3 * T * ff + 6 * T * d + 2 * T * kv + T * T) * f
        adapter = adapterParameters * f
        gradients = 2 * adapterParameters * f
        optimizerState = LoRAOptimizer.stateBytes(parameters: adapterParameters, kind: optimizer, momentum: momentum)
        runtime = runtimeBytes
    }
}
