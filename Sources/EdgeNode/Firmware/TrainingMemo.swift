import CommandLineSupport
import Foundation
import LanguageModel
import Wire

/// Local training from a fresh adapter (every B zero), memoised (`edgenode run --memo DIR`).
///
/// Every run of a seed starts from the same seeded fresh adapter, so the experiment suite's
/// variants that differ only in the air (beamformer, power, aggregation) train the same rank-
/// planning pilot, and the same first round at the same planned rank, bit for bit. The entry is
/// keyed by everything that training reads: the model file's bytes, the welcome (data, partition,
/// seed, device index, context, batch, optimiser, kernel), the profile's budgets, the round
/// (which fixes the data draws), the round start (rank, α, targets, steps and the adapter
/// itself), the kernel the memory plan runs and the FLOP estimate carried from the previous step;
/// it holds the update, the report and the estimate after. Rounds from a trained adapter are never memoised: no other
/// run sends the same one.
extension EdgeFirmware {
    /// What a memoised training left: the report, the update, the FLOP estimate it measured.
    struct RecalledTraining {
        let ready: UpdateReady
        let update: [Float]
        let lastStepFlops: Double
    }

    /// The memo key of this round's training (nil: no memo, or not from a fresh adapter).
    func trainingMemoKey(_ round: UInt32, _ start: RoundStart, adapter: LoRAAdapter, kernel: FrozenKernel) throws
        -> [UInt8]?
    {
        guard memo != nil, let w = welcome, adapter.leavesBaseModelUnchanged else { return nil }
        var key = MemoKey("train v1")
        let model = try modelIdentity()
        key.add("model_fnv1a", model.hash)
        key.add("model_bytes", Int64(model.bytes))
        var welcomeBytes = PayloadWriter()
        w.write(to: &welcomeBytes)
        key.add("welcome", [UInt8](welcomeBytes.data))
        key.add("ram_bytes", profile.ramBytes)
        key.add("flop_budget", profile.flopBudgetPerRound)
        key.add("sustained_gflops", profile.sustainedGFLOPS)
        key.add("joules_per_gflop", profile.joulesPerGFLOP)
        key.add("round", UInt64(round))
        var startBytes = PayloadWriter()
        start.write(to: &startBytes)
        key.add("round_start", [UInt8](startBytes.data))
        key.add("step_flops_estimate", lastStepFlops)
        key.add("kernel", kernel.rawValue)
        return key.bytes
    }

    /// The stored training for `key`, if the memo holds a usable one for `reals` parameters.
    func recallTraining(_ key: [UInt8], reals: Int) -> RecalledTraining? {
        guard let memo else { return nil }
        switch memo.lookup(kind: "train", key: key, maxValueBytes: 256 + 4 * reals) {
        case .absent: return nil
        case .unusable(let reason):
            note("memo: \(reason); training again")
            return nil
        case .hit(let value):
            do {
                var r = PayloadReader(Data(value))
                let ready = try UpdateReady(reading: &r)
                let estimate = try r.f64()
                let update = try r.floats()
                try r.finish("memoised training")
                guard update.count == reals, ready.reals == reals, update.allSatisfy(\.isFinite), estimate.isFinite,
                    estimate >= 0
                else {
                    throw FrameError(
                        offset: 0, problem: "\(update.count) reals (expected \(reals)) or a non-finite value")
                }
                return RecalledTraining(ready: ready, update: update, lastStepFlops: estimate)
            } catch {
                note("memo: \(memo.path(kind: "train", key: key)) cannot be read (\(error)); training again")
                return nil
            }
        }
    }

    /// Stores this round's training under `key` (a failure to store is logged, never fatal).
    func rememberTraining(_ key: [UInt8], ready: UpdateReady, update: [Float]) {
        guard let memo else { return }
        var w = PayloadWriter()
        ready.write(to: &w)
        w.f64(lastStepFlops)
        w.floats(update)
        do { try memo.store(kind: "train", key: key, value: [UInt8](w.data)) } catch {
            note("memo: not stored: \(error)")
        }
    }

    /// The model file's FNV-1a-64 and size, read once.
    func modelIdentity() throws -> (hash: UInt64, bytes: Int) {
        if let known = modelFileIdentity { return known }
        guard let identity = FNV1a.hash(file: modelPath) else { throw CommandError("cannot read \(modelPath)") }
        modelFileIdentity = identity
        return identity
    }
}
