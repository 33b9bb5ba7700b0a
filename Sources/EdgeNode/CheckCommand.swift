import ArgumentParser
import CommandLineSupport
import Foundation
import HardwareProfiles
import LanguageModel

/// `edgenode check`: would LoRA fine-tuning of a model fit a device class? The memory plan (the
/// training state; the device's own firmware overhead is not modelled), the flash the model
/// needs, and the largest rank and context that would fit.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Memory plan of LoRA fine-tuning on a hardware profile; exit 1 when it does not fit.")
    @Option(help: "Hardware profile (.toml).") var profile: String
    @Option(help: "GGUF model.") var model: String
    @Option(help: "LoRA rank.") var rank: Int = 8
    @Option(help: "Window length in tokens.") var ctx: Int = 256
    @Option(
        help: "Adapted projections (GGUF names, comma-separated; default: attn_q,attn_k,attn_v,attn_output).",
        transform: parseTargets) var targets: [LoRATarget] = attentionTargets
    @Option(help: "Optimiser.") var optimizer: OptimizerKind = .adamw
    @Option(
        help:
            "Kernel of the frozen products: quantized (what a fleet's nodes run by default) or float; the plans differ."
    )
    var kernel: FrozenKernel = .quantized
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try failing {
            guard rank >= 1, ctx >= 2 else { throw ValidationError("need --rank ≥ 1 and --ctx ≥ 2") }
            let hw = try HardwareProfile.load(profile)
            let file = try GGUFFile(path: model)
            let fit = try DeviceFit(file: file, profile: hw, targets: targets, optimizer: optimizer, kernel: kernel)
            let plan = fit.plan(rank: rank, context: ctx)
            let modelBytes = file.byteCount
            let ram = Int(hw.ramBytes)
            let flash = Int(hw.flashBytes)
            let fitsRAM = plan.total <= ram
            let fitsFlash = modelBytes <= flash
            if json {
                try printJSONLine(
                    CheckReport(
                        profile: hw.name, model: model, rank: rank, ctx: ctx, mode: plan.mode.rawValue,
                        kernel: plan.kernel.rawValue, fits: fitsRAM && fitsFlash, neededBytes: plan.total,
                        availableBytes: ram, flashNeededBytes: modelBytes, flashAvailableBytes: flash,
                        plan: .init(
                            weights: plan.weights, mappedModel: plan.mappedModel, activations: plan.activations,
                            backwardScratch: plan.backwardScratch, lora: plan.adapter, gradients: plan.gradients,
                            optimizerState: plan.optimizerState, runtime: plan.runtime, total: plan.total),
                        maxRankAtCtx: fit.largestRank(context: ctx), maxCtxAtRank: fit.largestContext(rank: rank)))
            } else {
                print(
                    String(
                        format:
                            "%@ on %@: rank %d, ctx %d, %@ mode: needs %d bytes of RAM (weights %d, activations %d, "
                            + "LoRA+gradients+optimiser %d), has %d; model file %d bytes, flash %d",
                        model, hw.name, rank, ctx, plan.mode.rawValue, plan.total, plan.weights, plan.activations,
                        plan.adapter + plan.gradients + plan.optimizerState, ram, modelBytes, flash))
            }
            guard fitsRAM else {
                throw CommandError(
                    "\(hw.name) cannot fine-tune \(model) at rank \(rank), ctx \(ctx): needs \(plan.total) bytes of "
                        + "RAM (\(plan.mode.rawValue) mode), the profile has \(ram)"
                )
            }
            guard fitsFlash else {
                throw CommandError(
                    "\(hw.name) cannot hold \(model): the model needs \(modelBytes) bytes of flash, the profile has "
                        + "\(flash)"
                )
            }
        }
    }
}

/// The plan of a model on a device: the cached mode when it fits the RAM, otherwise the streamed
/// mode filled to the RAM; and the limits of rank and context.
struct DeviceFit {
    let file: GGUFFile
    let profile: HardwareProfile
    let targets: [LoRATarget]
    let optimizer: OptimizerKind
    let kernel: FrozenKernel
    let contextLimit: Int

    init(
        file: GGUFFile, profile: HardwareProfile, targets: [LoRATarget], optimizer: OptimizerKind,
        kernel: FrozenKernel = .quantized
    ) throws {
        self.file = file
        self.kernel = kernel
        self.profile = profile
        self.targets = targets
        self.optimizer = optimizer
        contextLimit = file.metadata["llama.context_length"]?.int ?? 8192
        // Planning reads the model's shape; a model without it fails here, so `plan` cannot later.
        _ = try TrainingMemoryPlan(
            gguf: file, rank: 1, targets: targets, optimizer: optimizer, context: 2, mode: .cached, runtimeBytes: 0)
    }

    /// The plan `edgenode run` would use on this device (`TrainingMemoryPlan.best` under its RAM).
    func plan(rank: Int, context: Int) -> TrainingMemoryPlan {
        try! TrainingMemoryPlan.best(
            budget: Int(profile.ramBytes), gguf: file, rank: rank, targets: targets, optimizer: optimizer,
            context: context, runtimeBytes: 0, kernel: kernel)
    }

    func fits(rank: Int, context: Int) -> Bool { Double(plan(rank: rank, context: context).total) <= profile.ramBytes }

    /// The largest value in lower...limit for which `ok` holds (monotone), nil if none.
    func largest(from lower: Int = 1, upTo limit: Int, _ ok: (Int) -> Bool) -> Int? {
        guard ok(lower) else { return nil }
        var lo = lower
        var hi = limit
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if ok(mid) { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    func largestRank(context: Int) -> Int? { largest(upTo: 4096) { fits(rank: $0, context: context) } }
    func largestContext(rank: Int) -> Int? { largest(from: 2, upTo: contextLimit) { fits(rank: rank, context: $0) } }
}
