import Foundation
import LanguageModel
import LinearAlgebra
import Numerics
import Wire

/// Who a run is, for telling its checkpoint from another run's: the scenario file's bytes, the
/// seed, the aggregation mode and every `--set` override. The rounds and the endpoint are not in
/// it: a resumed run may run longer, or listen elsewhere.
package struct RunIdentity: Equatable {
    /// FNV-1a (64-bit) of the scenario file, hex.
    var scenario: String
    var seed: UInt64
    var aggregation: String
    var overrides: [String]

    package init(scenario: String, seed: UInt64, aggregation: String, overrides: [String]) {
        (self.scenario, self.seed, self.aggregation, self.overrides) = (scenario, seed, aggregation, overrides)
    }

    init(scenarioFile: String, seed: UInt64, aggregation: String, overrides: [String]) {
        self.init(
            scenario: IdealReference.fnv1a(FileManager.default.contents(atPath: scenarioFile) ?? Data()), seed: seed,
            aggregation: aggregation, overrides: overrides)
    }
}

/// Everything a run needs to continue exactly where it stopped, in one file written after every
/// round (`checkpoint/checkpoint.gguf`): a llama.cpp LoRA adapter GGUF (the global adapter, which
/// `llama-cli --lora` loads as it is) whose `airfl.checkpoint.*` metadata hold the rest: the
/// rounds done, the run's identity, every metrics row so far (exact doubles), the rank planner's
/// record, the beamformers the next round warm-starts from, and a CRC-32 over all of it.
///
/// What is not in it is a function of the seed and the round: the channel (advanced to the
/// round), the CSI error, the air's noise, the beamformer's restarts, every node's data draws.
package struct RunCheckpoint {
    /// 2: this build's arithmetic differs from format 1's at the same settings (the frozen
    /// products on the quantized blocks and the air summed in the combiner's space by default),
    /// so a run checkpointed before cannot continue bit for bit and is refused.
    static let format: UInt32 = 2
    /// Rounds finished: 0 after the base model's evaluation (and the rank-planning pilot).
    var round: Int
    var identity: RunIdentity
    /// In the run's target order (its buffer is the wire's).
    var adapter: LoRAAdapter
    var rows: [MetricsRow]
    /// summary.json's `rank_planning` (nil without planning), held as its JSON text.
    var rankPlanning: RankPlanningRecord?
    /// The participants and beamformers the next round's design warm-starts from.
    var warmParticipants: [Int]
    var warmBeamformers: [ComplexMatrix<Double>]?
    /// The straggler policy's state of every node that missed a round (`NodeRegistry.Straggler`),
    /// so a resumed run asks back the nodes an uninterrupted one would.
    var stragglers: [NodeRegistry.Straggler] = []

    package init(
        round: Int, identity: RunIdentity, adapter: LoRAAdapter, rows: [MetricsRow], rankPlanning: RankPlanningRecord?,
        warmParticipants: [Int], warmBeamformers: [ComplexMatrix<Double>]?
    ) {
        (self.round, self.identity, self.adapter, self.rows) = (round, identity, adapter, rows)
        (self.rankPlanning, self.warmParticipants, self.warmBeamformers) = (
            rankPlanning, warmParticipants, warmBeamformers
        )
    }

    static let prefix = "airfl.checkpoint."

    /// The file's bytes.
    package func encoded() throws -> Data {
        var w = try adapter.ggufWriter()
        for (key, value) in try metadata() { w.set(Self.prefix + key, value) }
        w.set(Self.crcKey, .uint32(Self.digest(adapter: adapter, metadata: w.metadata)))
        return w.encoded()
    }

    static let crcKey = prefix + "crc32"

    /// The state's metadata, keys without the prefix.
    private func metadata() throws -> [(String, GGUFValue)] {
        func ints(_ v: [Int]) -> GGUFValue { .array(.int64, v.map { .int64(Int64($0)) }) }
        func strings(_ v: [String]) -> GGUFValue { .array(.string, v.map { .string($0) }) }
        let beams = warmBeamformers ?? []
        return [
            ("format", .uint32(Self.format)), ("round", .int64(Int64(round))),
            ("run.scenario", .string(identity.scenario)), ("run.seed", .uint64(identity.seed)),
            ("run.aggregation", .string(identity.aggregation)), ("run.overrides", strings(identity.overrides)),
            ("targets", strings(adapter.targets.map(\.rawValue))),
            ("rows.round", ints(rows.map(\.round))), ("rows.node", strings(rows.map(\.node))),
            ("rows.profile", strings(rows.map(\.profile))), ("rows.status", strings(rows.map(\.status.rawValue))),
            ("rows.rank", ints(rows.map(\.rank))), ("rows.steps", ints(rows.map(\.steps))),
            ("rows.reals", .array(.float64, rows.flatMap { r in MetricsRow.reals.map { .float64(r[keyPath: $0]) } })),
            ("rank_planning", .string(try RankPlanningRecord.checkpointText(rankPlanning))),
            ("warm_start.participants", ints(warmParticipants)),
            ("stragglers.nodes", strings(stragglers.map(\.name))),
            ("stragglers.misses", ints(stragglers.map(\.missesInARow))),
            ("stragglers.backed_off_until", ints(stragglers.map(\.backedOffUntil))),
            (
                "warm_start.shape",
                ints(warmBeamformers.map { [$0.count, $0.first?.rows ?? 0, $0.first?.cols ?? 0] } ?? [])
            ),
            (
                "warm_start.beamformers",
                .array(
                    .float64,
                    beams.flatMap { $0.elements.flatMap { [GGUFValue.float64($0.real), .float64($0.imaginary)] } })
            ),
        ]
    }

    /// CRC-32 over the adapter's buffer and every metadata value but the CRC's own (keys sorted):
    /// with the checks of the GGUF's structure and the adapter's shapes, any byte of the file that
    /// matters is covered.
    static func digest(adapter: LoRAAdapter, metadata: [(String, GGUFValue)]) -> UInt32 {
        var bytes = Data()
        adapter.parameters.values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        for (key, value) in metadata.filter({ $0.0 != crcKey }).sorted(by: { $0.0 < $1.0 }) {
            bytes.append(contentsOf: Array(key.utf8))
            GGUFWriter.append(value, to: &bytes)
        }
        return bytes.withUnsafeBytes { CRC32.update(0, $0) }
    }
}

/// A checkpoint that cannot be resumed from: torn, altered, foreign, or of another format.
struct CheckpointError: Error, CustomStringConvertible {
    let path: String, field: String, problem: String
    var description: String { "checkpoint \(path): \(field): \(problem)" }
}
