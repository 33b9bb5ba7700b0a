import Foundation

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

extension TrainingMemoryPlan {
    /// The plan for a GGUF model file and an adapter shape (`kernel` as asked; the plan's own
    /// `kernel` says what runs).
    public init(
        gguf f: GGUFFile, rank: Int, targets: [LoRATarget], optimizer: OptimizerKind, momentum: Float = 0, context: Int,
        mode: Mode,
        outputChunkRows: Int = 4096, runtimeBytes: Int = TrainingMemoryPlan.runtimeBytes, keptLayers: Int = 0,
        keepLogits: Bool = false,
        kernel: FrozenKernel = .float
    ) throws {
        let c = try LlamaConfig(gguf: f)
        let layerBytes = try LlamaWeights<Float>.layerInfos(f, c, 0).reduce(0) { $0 + $1.byteCount }
        let parameters = LoRALayout(config: c, rank: rank, targets: targets).parameterCount
        let output = f.tensor("output.weight") ?? f.tensor("token_embd.weight")
        var quantized =
            kernel == .quantized && output != nil
            ? QuantizedWeights.footprint(
                f, layers: try (0..<c.layers).map { try LlamaWeights<Float>.layerInfos(f, c, $0) }, output: output!)
            : nil
        if mode == .streamed, let q = quantized, let output {
            // One layer at a time: its transposes and 32 rows of Floats while they are made (and the
            // output norm); the output's blocks read in place one chunk at a time.
            let chunk = q.outputOnBlocks ? output.byteCount / c.vocabulary * min(outputChunkRows, c.vocabulary) : 0
            quantized = (LlamaWeights<Float>.streamedBlockBytes(c) + c.embedding * 4, chunk, q.outputOnBlocks)
        }
        self.init(
            config: c, quantizedLayerBytes: layerBytes, untiedOutput: f.tensor("output.weight") != nil,
            adapterParameters: parameters, optimizer: optimizer, momentum: momentum, context: context, mode: mode,
            outputChunkRows: outputChunkRows, runtimeBytes: runtimeBytes,
            keptLayers: keptLayers, keepLogits: keepLogits, quantized: quantized)
    }
}

extension TrainingMemoryPlan {
    /// The streamed plan that keeps the most it can within `budget` bytes: the logits first (one
    /// [T][d]·[d][V] product saved per MB is the better trade), then the last layers' activations.
    /// Nil when even keeping nothing does not fit.
    public static func filling(
        budget: Int, gguf f: GGUFFile, rank: Int, targets: [LoRATarget], optimizer: OptimizerKind, momentum: Float = 0,
        context: Int,
        runtimeBytes: Int = TrainingMemoryPlan.runtimeBytes, kernel: FrozenKernel = .float
    ) throws -> TrainingMemoryPlan? {
        func plan(_ k: Int, _ logits: Bool) throws -> TrainingMemoryPlan {
            try TrainingMemoryPlan(
                gguf: f, rank: rank, targets: targets, optimizer: optimizer, momentum: momentum, context: context,
                mode: .streamed,
                runtimeBytes: runtimeBytes, keptLayers: k, keepLogits: logits, kernel: kernel)
        }
        let bare = try plan(0, false)
        guard bare.total <= budget else { return nil }
        let logits = try plan(0, true).total <= budget
        let layers = try LlamaConfig(gguf: f).layers
        var k = 0
        while k < layers, try plan(k + 1, logits).total <= budget { k += 1 }
        return try plan(k, logits)
    }

    /// The plan fine-tuning runs under a RAM budget: the cached mode when it fits, else the
    /// streamed mode filled to the budget; when nothing fits, the bare streamed plan (over the
    /// budget, so the caller can say what is needed).
    public static func best(
        budget: Int, gguf f: GGUFFile, rank: Int, targets: [LoRATarget], optimizer: OptimizerKind, momentum: Float = 0,
        context: Int,
        runtimeBytes: Int = TrainingMemoryPlan.runtimeBytes, kernel: FrozenKernel = .float
    ) throws -> TrainingMemoryPlan {
        let cached = try TrainingMemoryPlan(
            gguf: f, rank: rank, targets: targets, optimizer: optimizer, momentum: momentum, context: context,
            mode: .cached,
            runtimeBytes: runtimeBytes, kernel: kernel)
        if cached.total <= budget { return cached }
        if let filled = try filling(
            budget: budget, gguf: f, rank: rank, targets: targets, optimizer: optimizer, momentum: momentum,
            context: context,
            runtimeBytes: runtimeBytes, kernel: kernel)
        {
            return filled
        }
        return try TrainingMemoryPlan(
            gguf: f, rank: rank, targets: targets, optimizer: optimizer, momentum: momentum, context: context,
            mode: .streamed,
            runtimeBytes: runtimeBytes, kernel: kernel)
    }
}

/// The process's peak resident set size so far, in bytes: VmHWM from /proc/self/status (the
/// current address space's high-water mark, fresh after exec), else getrusage's ru_maxrss — which
/// on Linux survives execve and so inherits a large parent's peak (a test runner spawning us).
public func peakResidentBytes() -> Int {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
        }
    }
    var usage = rusage()
    getrusage(0, &usage) // RUSAGE_SELF
    return usage.ru_maxrss * 1024
}
