import CommandLineSupport
import Foundation
import LanguageModel
import Logging

/// A run's checkpoints: whose they are (`RunIdentity`), where they go, and the one a `--resume`
/// continues from. The state that passes between rounds stays a value (`RunCheckpoint`: the round,
/// the global adapter, the metrics rows, the rank plan, the warm start); this type only checks,
/// reads and replaces it.
struct RunResumption {
    /// Who this run is: a checkpoint of another run (seed, aggregation, scenario, overrides) is refused.
    let identity: RunIdentity
    /// results/checkpoint/checkpoint.gguf.
    let path: String
    /// The checkpoint this run continues from (`RunStart.resume` with one there), checked against
    /// this run's identity, model, targets and rounds; nil for a run from the beginning.
    let resumed: RunCheckpoint?

    /// Reads the checkpoint in `results` when `start` is `.resume` (a resume with none there starts
    /// from the beginning, and says so).
    init(
        start: RunStart, results: String, identity: RunIdentity, config: LlamaConfig, targets: [LoRATarget],
        rounds: Int, log: Logger
    ) throws {
        self.identity = identity
        path = RunRecorder.checkpointPath(in: results)
        guard start == .resume else {
            resumed = nil
            return
        }
        guard FileManager.default.fileExists(atPath: path) else {
            log.warning("no checkpoint in \(results): nothing was committed, so the run starts from the beginning")
            resumed = nil
            return
        }
        let checkpoint = try RunCheckpoint.load(path: path, config: config, targets: targets, expected: identity)
        guard checkpoint.round <= rounds else {
            throw CommandError(
                "\(path) is at round \(checkpoint.round), beyond this run's \(rounds) rounds (give --rounds)")
        }
        resumed = checkpoint
    }

    /// The state after a round, replacing the previous checkpoint (a crash at any moment leaves
    /// the previous one or this one).
    func save(
        round: Int, adapter: LoRAAdapter, rows: [MetricsRow], rankPlanning: RankPlanningRecord?, warmStart: WarmStart,
        stragglers: [NodeRegistry.Straggler]
    ) throws {
        var checkpoint = RunCheckpoint(
            round: round, identity: identity, adapter: adapter, rows: rows, rankPlanning: rankPlanning,
            warmParticipants: warmStart.participants, warmBeamformers: warmStart.beamformers)
        checkpoint.stragglers = stragglers
        try DurableFile.write(try checkpoint.encoded(), to: path)
    }
}

extension RunCheckpoint {
    /// The rounds' warm start as the checkpoint recorded it.
    var warmStart: WarmStart { WarmStart(participants: warmParticipants, beamformers: warmBeamformers) }
}
