import Foundation

/// The one training loop: `edgenode finetune`, `edgenode bench` and the firmware's local rounds
/// all run their steps through it. Each step draws its windows, runs `LoRAFineTuner.step`, and is
/// reported; the loop ends after `steps`, before a step would pass a FLOP budget, or at a step the
/// tuner refuses (a non-finite loss or gradient, which leaves the adapter as it was before it).
public final class LocalTrainer {
    /// Why a run of steps ended.
    public enum Stop: Equatable {
        case completed
        /// The next step would have passed the FLOP budget (its cost estimated by the last step's).
        case flopBudget
        case refused(TrainingError)
    }

    /// What a run of steps did.
    public struct Outcome {
        public var records: [TrainingStepRecord]
        public var stop: Stop
        /// FLOPs of the run (the tuner's meter).
        public var flops: Double
        /// Mean loss over the steps (NaN when none ran).
        public var meanLoss: Double {
            records.isEmpty ? .nan : records.reduce(0) { $0 + $1.loss } / Double(records.count)
        }
        public var tokens: Int { records.reduce(0) { $0 + $1.tokens } }

        /// The time the run takes on hardware sustaining `gflops` GFLOP/s, seconds.
        public func emulatedSeconds(sustainedGFLOPS gflops: Double) -> Double { flops / (gflops * 1e9) }
        /// The energy the run takes at `joulesPerGFLOP`, joules.
        public func emulatedEnergy(joulesPerGFLOP: Double) -> Double { flops / 1e9 * joulesPerGFLOP }
    }

    public let tuner: LoRAFineTuner
    /// FLOPs one run may spend (nil: no budget).
    public let flopBudget: Double?
    /// The last step's FLOPs, which estimates the next one's: the very first step of a trainer is
    /// the probe that measures it, so a budget is enforced from the second step on.
    public private(set) var lastStepFlops = 0.0

    /// - Parameter stepFlopsEstimate: a previous run's last step cost (0: unknown, the first step measures it).
    public init(tuner: LoRAFineTuner, flopBudget: Double? = nil, stepFlopsEstimate: Double = 0) {
        self.tuner = tuner
        self.flopBudget = flopBudget
        lastStepFlops = stepFlopsEstimate
    }

    /// Up to `steps` steps, each on the windows `batch()` returns; `onStep` sees each step's record.
    /// A refused step ends the run (`Stop.refused`); any other error is thrown.
    public func run(steps: Int, batch: () -> [[Int]], onStep: (TrainingStepRecord) throws -> Void = { _ in }) throws
        -> Outcome
    {
        let start = tuner.meter.flops
        var records = [TrainingStepRecord]()
        var stop = Stop.completed
        for _ in 0..<steps {
            if let budget = flopBudget, lastStepFlops > 0, tuner.meter.flops - start + lastStepFlops > budget {
                stop = .flopBudget
                break
            }
            do {
                let r = try tuner.step(batch())
                records.append(r)
                lastStepFlops = r.flops
                try onStep(r)
            } catch let e as TrainingError {
                stop = .refused(e)
                break
            }
        }
        return Outcome(records: records, stop: stop, flops: tuner.meter.flops - start)
    }
}
