import Foundation
import Numerics
import Randomness

/// Learning-rate schedule over a run of `steps`: linear warm-up, then constant, cosine or linear
/// decay to `floor` × the peak (HF Trainer's schedules).
public struct LearningRateSchedule: Sendable, Equatable {
    public enum Shape: String, Sendable, CaseIterable { case constant, cosine, linear }
    public var shape: Shape = .constant
    public var warmupSteps = 0
    public var floor: Float = 0.1

    public init(shape: Shape = .constant, warmupSteps: Int = 0, floor: Float = 0.1) {
        self.shape = shape
        self.warmupSteps = warmupSteps
        self.floor = floor
    }

    /// The rate at 0-based `step` of `total`.
    public func rate(peak: Float, step: Int, total: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        let span = max(1, total - warmupSteps)
        let progress = min(1, Float(step - warmupSteps) / Float(span))
        switch shape {
        case .constant: return peak
        case .cosine: return peak * (floor + (1 - floor) * 0.5 * (1 + Float.cos(.pi * progress)))
        case .linear: return peak * (floor + (1 - floor) * (1 - progress))
        }
    }
}

/// One optimiser step's record (a line of the loss log).
public struct TrainingStepRecord: Sendable, Equatable {
    public var step: Int
    /// Mean NLL per scored token over the step's windows (nats).
    public var loss: Double
    public var gradientNorm: Double
    public var learningRate: Float
    public var tokens: Int
    public var seconds: Double
    /// FLOPs of the step: the passes' matrix products and elementwise kernels, then the gradient
    /// accumulation, clipping norm and optimiser update (`FlopMeter`).
    public var flops: Double
}

/// Centralised LoRA fine-tuning of a frozen Llama: per step, the loss and LoRA gradients of one or
/// more windows (gradient accumulation, weighted by scored tokens), one optimiser update.
///
/// A step whose loss or gradient is not finite throws and leaves the adapter and optimiser as
/// they were, so a bad batch never poisons the adapter.
///
/// Memory, as llm.c holds it: the adapter's parameters, the optimiser's moments and the layers'
/// activation buffers (a `GradientWorkspace`) are allocated once and reused step after step; a
/// step allocates its gradient buffer (one per window in flight plus the accumulator, the
/// plan's 2·D) and the head's and backward's transients.
public final class LoRAFineTuner {
    public let model: LlamaModel
    public private(set) var adapter: LoRAAdapter
    public private(set) var optimizer: LoRAOptimizer
    public let schedule: LearningRateSchedule
    public let totalSteps: Int
    /// What the gradient pass keeps or recomputes (the memory plan's choice).
    public let activations: ActivationPolicy
    /// Counts every step's FLOPs (passes and optimiser); the edge firmware reads it against its budget.
    public let meter: FlopMeter
    public private(set) var history: [TrainingStepRecord] = []
    /// The layers' activation buffers, kept from one step to the next.
    private let workspace: GradientWorkspace<Float>

    /// - Parameter workspace: activation buffers to reuse (a caller that fine-tunes round after
    ///   round keeps one, so each round does not fault its activations' pages in again; their
    ///   contents are always written before they are read). Default: new ones.
    public init(
        model: LlamaModel, adapter: LoRAAdapter, optimizer: OptimizerSettings, schedule: LearningRateSchedule = .init(),
        totalSteps: Int, activations: ActivationPolicy, meter: FlopMeter = FlopMeter(),
        workspace: GradientWorkspace<Float>? = nil
    ) {
        self.workspace = workspace ?? GradientWorkspace<Float>()
        self.model = model
        self.adapter = adapter
        self.optimizer = LoRAOptimizer(optimizer)
        self.schedule = schedule
        self.totalSteps = totalSteps
        self.activations = activations
        self.meter = meter
    }

    /// One optimiser step over `windows` (each ≥ 2 tokens). The adapter is updated in place: the
    /// step throws (a non-finite loss or gradient) before anything is written.
    @discardableResult
    public func step(_ windows: [[Int]]) throws -> TrainingStepRecord {
        guard !windows.isEmpty else { throw TrainingError.noData("a step needs at least one window") }
        let start = DispatchTime.now().uptimeNanoseconds
        let flops0 = meter.flops
        let (gradients, loss) = try accumulatedGradients(windows)
        let rate = schedule.rate(peak: optimizer.settings.learningRate, step: history.count, total: totalSteps)
        let norm = try optimizer.step(&adapter, gradients: gradients, learningRate: rate)
        // Accumulation (2 per parameter and window), the norm (2), the update (AdamW 12, SGD 4).
        let parameters = Double(adapter.parameterCount)
        meter.add(parameters * (2 * Double(windows.count) + 2 + (optimizer.settings.kind == .adamw ? 12 : 4)))
        let record = TrainingStepRecord(
            step: history.count + 1, loss: loss, gradientNorm: norm, learningRate: rate,
            tokens: windows.reduce(0) { $0 + $1.count },
            seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, flops: meter.flops - flops0)
        history.append(record)
        return record
    }

    /// The gradient of the step, Σ_w n_w·g_w / Σ_w n_w over the windows (n_w scored tokens, g_w
    /// the window's mean-loss gradient), in the adapter's flat layout: the first window's buffer
    /// scaled, one axpy per further window, one scal by 1/Σ n_w. Also the mean loss per scored
    /// token. The pass (which holds the adapter's buffer) ends here, so the update that follows
    /// writes the buffer in place.
    private func accumulatedGradients(_ windows: [[Int]]) throws -> (LoRAParameters<Float>, loss: Double) {
        let pass = LlamaForward(model: model, adapter: adapter, meter: meter)
        var total: LoRAParameters<Float>? = nil
        var lossSum = 0.0
        var scored = 0
        for w in windows {
            var r = try pass.lossAndGradients(w, policy: activations, workspace: workspace)
            guard r.loss.isFinite else { throw TrainingError.nonFiniteLoss(step: history.count) }
            let weight = Float(r.scoredTokens)
            if total == nil {
                r.gradients.scale(by: weight)
                total = r.gradients
            } else {
                total!.add(r.gradients, scaledBy: weight)
            }
            lossSum += r.loss * Double(r.scoredTokens)
            scored += r.scoredTokens
        }
        total!.scale(by: 1 / Float(scored))
        return (total!, lossSum / Double(scored))
    }
}

/// Windows in a seeded shuffled order, reshuffled every epoch; epoch e's order comes from its
/// own substream of the seed, so any position is reached in O(windows).
public struct WindowSampler: Sendable {
    public let windows: [[Int]]
    private let seed: UInt64
    private var order: [Int] = []
    private var position = 0
    /// Epochs begun so far.
    public private(set) var epoch = 0
    /// Windows drawn so far.
    public private(set) var drawn = 0

    public init(_ windows: [[Int]], seed: UInt64) throws {
        guard !windows.isEmpty else { throw TrainingError.noData("no windows of at least 2 tokens") }
        self.windows = windows
        self.seed = seed
    }

    /// The sampler as it is after `draws` windows from the start, whatever it drew before: a
    /// process that restarts (or a round that is replayed) draws what it would have.
    public func positioned(at draws: Int) -> WindowSampler {
        var s = self
        let n = max(draws, 0)
        let epochs = n / windows.count
        let within = n % windows.count
        if within == 0 && epochs > 0 {
            // At an epoch's end: the next draw begins epoch `epochs` + 1.
            s.shuffle(epoch: epochs)
            s.position = s.order.count
        } else {
            s.order = []
            s.position = 0
            s.epoch = epochs
            if within > 0 {
                s.shuffle(epoch: epochs + 1)
                s.position = within
            }
        }
        s.drawn = n
        return s
    }

    /// Begins epoch `e` (1-based): a Fisher–Yates shuffle from the epoch's substream.
    private mutating func shuffle(epoch e: Int) {
        var generator = SeededGenerator(seed: seed, stream: [0x5A_3B, UInt64(e)])
        order = Array(windows.indices)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(generator.next() % UInt64(i + 1))) }
        position = 0
        epoch = e
    }

    public mutating func next() -> [Int] {
        if position == order.count { shuffle(epoch: epoch + 1) }
        defer {
            position += 1
            drawn += 1
        }
        return windows[order[position]]
    }
}
