import ArgumentParser
import CommandLineSupport
import Foundation
import LanguageModel

/// LoRA and optimiser options shared by the commands that train.
struct TrainingOptions: ParsableArguments {
    @Option(help: "LoRA rank r.") var rank: Int = 8
    @Option(help: "LoRA α (scale α/r); default 2r.") var alpha: Float?
    @Option(
        help:
            .init(
                "Adapted projections, comma-separated: attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down "
                    + "(default: attn_q,attn_k,attn_v,attn_output)."),
        transform: parseTargets)
    var targets: [LoRATarget] = attentionTargets
    @Option(help: "Optimiser.") var optimizer: OptimizerKind = .adamw
    @Option(name: .customLong("lr"), help: "Peak learning rate.") var learningRate: Float = 1e-3
    @Option(help: "Weight decay (AdamW: decoupled).") var weightDecay: Float = 0
    @Option(help: "SGD momentum.") var momentum: Float = 0
    @Option(help: "Clip the global gradient norm to this (0: off).") var clip: Float = 1
    @Option(help: "Learning-rate schedule after warm-up.") var schedule: LearningRateSchedule.Shape = .constant
    @Option(help: "Linear warm-up steps.") var warmup: Int = 0
    @Option(help: "Windows per optimiser step (gradient accumulation).") var batch: Int = 1
    @Option(
        help:
            .init(
                "Memory mode: cached (dequantised weights, activations kept), streamed (per-layer dequantisation, "
                    + "recomputation), or auto (cached when it fits --memory-budget-mb).")
    )
    var memory: MemoryChoice = .auto
    @Option(
        help:
            .init(
                "The products with the frozen weights: quantized (on the file's Q4_0/Q4_1/Q8_0 blocks and a Q8_0 "
                    + "transpose for the backward, activations and gradients quantized per block to 8 bits; in either "
                    + "memory mode, the streamed one making a layer's transposes when its backward needs them) or "
                    + "float "
                    + "(dequantised weights and sgemm).")
    )
    var kernel: FrozenKernel = .quantized
    @Option(
        help:
            "RAM budget for --memory auto, MiB (default: this machine's available memory, /proc/meminfo MemAvailable).")
    var memoryBudgetMb: Int?

    func optimizerSettings() throws -> OptimizerSettings {
        guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--lr must be positive") }
        guard clip >= 0, weightDecay >= 0, momentum >= 0, momentum < 1 else {
            throw ValidationError("--clip and --weight-decay must be ≥ 0, --momentum in [0, 1)")
        }
        var s = OptimizerSettings()
        s.kind = optimizer
        s.learningRate = learningRate
        s.weightDecay = weightDecay
        s.momentum = momentum
        s.clipNorm = clip
        return s
    }

    func learningRateSchedule() throws -> LearningRateSchedule {
        guard warmup >= 0 else { throw ValidationError("--warmup must be ≥ 0") }
        return LearningRateSchedule(shape: schedule, warmupSteps: warmup)
    }

    /// The memory mode: as asked, or for auto the cached mode when its plan fits the budget.
    func memoryPlan(_ file: GGUFFile, context: Int) throws -> TrainingMemoryPlan {
        guard rank >= 1 else { throw ValidationError("--rank must be ≥ 1") }
        guard batch >= 1 else { throw ValidationError("--batch must be ≥ 1") }
        let settings = try optimizerSettings()
        let kind = settings.kind
        let momentum = settings.momentum
        let list = targets
        func plan(_ m: TrainingMemoryPlan.Mode) throws -> TrainingMemoryPlan {
            try TrainingMemoryPlan(
                gguf: file, rank: rank, targets: list, optimizer: kind, momentum: momentum, context: context, mode: m,
                kernel: kernel)
        }
        let budget = memoryBudgetMb.map { $0 << 20 } ?? availableMemoryBytes()
        // Streamed within a budget keeps what fits (logits, then the last layers' activations).
        func streamed(within budget: Int?) throws -> TrainingMemoryPlan {
            guard let budget else { return try plan(.streamed) }
            guard
                let filled = try TrainingMemoryPlan.filling(
                    budget: budget, gguf: file, rank: rank, targets: list, optimizer: kind, momentum: momentum,
                    context: context,
                    kernel: kernel)
            else {
                throw CommandError(
                    "fine-tuning needs \(try plan(.streamed).total >> 20) MiB even streamed; the budget is "
                        + "\(budget >> 20) MiB"
                )
            }
            return filled
        }
        switch memory {
        case .cached: return try plan(.cached)
        case .streamed: return try streamed(within: memoryBudgetMb.map { $0 << 20 })
        case .auto:
            guard let budget else { return try plan(.cached) }
            let best = try TrainingMemoryPlan.best(
                budget: budget, gguf: file, rank: rank, targets: list, optimizer: kind, momentum: momentum,
                context: context,
                kernel: kernel)
            guard best.total <= budget else {
                throw CommandError(
                    "fine-tuning needs \(best.total >> 20) MiB even streamed; the budget is \(budget >> 20) MiB")
            }
            return best
        }
    }
}

/// MemAvailable from /proc/meminfo (bytes), nil where there is no such file.
func availableMemoryBytes() -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
        let fields = line.split(separator: " ")
        if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
    }
    return nil
}
