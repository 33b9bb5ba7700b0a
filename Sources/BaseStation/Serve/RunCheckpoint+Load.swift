import CommandLineSupport
import Foundation
import LanguageModel
import LinearAlgebra
import Numerics

extension RunCheckpoint {
    /// Reads and checks a checkpoint for the run `expected` over the model `config`, its adapter
    /// laid out for `targets`. Every way it can be unusable is a `CheckpointError` naming the file
    /// and the field: not a GGUF or cut short (torn), no `airfl.checkpoint.format` (not ours), a
    /// CRC that does not match its contents (torn or altered), another run's identity (foreign),
    /// rows or beamformers whose sizes disagree.
    package static func load(path: String, config: LlamaConfig, targets: [LoRATarget], expected: RunIdentity) throws
        -> RunCheckpoint
    {
        func fail(_ field: String, _ problem: String) -> CheckpointError {
            CheckpointError(path: path, field: field, problem: problem)
        }
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw fail("file", "unreadable, torn or not a GGUF (\(error))") }
        let m = file.metadata
        func value(_ key: String) throws -> GGUFValue {
            guard let v = m[prefix + key] else { throw fail(prefix + key, "missing") }
            return v
        }
        func int(_ key: String) throws -> Int {
            guard let v = try value(key).int else { throw fail(prefix + key, "not an integer") }
            return v
        }
        func string(_ key: String) throws -> String {
            guard let v = try value(key).string else { throw fail(prefix + key, "not a string") }
            return v
        }
        func strings(_ key: String) throws -> [String] {
            guard let a = try value(key).array, let v = Optional(a.compactMap(\.string)), v.count == a.count else {
                throw fail(prefix + key, "not a string array")
            }
            return v
        }
        func ints(_ key: String) throws -> [Int] {
            guard let a = try value(key).array, let v = Optional(a.compactMap(\.int)), v.count == a.count else {
                throw fail(prefix + key, "not an integer array")
            }
            return v
        }
        func doubles(_ key: String) throws -> [Double] {
            guard let a = try value(key).array else { throw fail(prefix + key, "not an array") }
            let v = a.compactMap { if case .float64(let x) = $0 { return x } else { return nil } }
            guard v.count == a.count else { throw fail(prefix + key, "not a float64 array") }
            return v
        }
        guard m[prefix + "format"] != nil else {
            throw fail(
                prefix + "format", "missing: this GGUF is not a run checkpoint of this project (a plain adapter?)")
        }
        let format = try int("format")
        guard format == Int(Self.format) else {
            throw fail(prefix + "format", "format \(format); this base station reads format \(Self.format)")
        }

        // The adapter: checked against the model, then laid out as the run's buffer.
        let stored = try strings("targets").map { name -> LoRATarget in
            guard let t = LoRATarget(rawValue: name) else { throw fail(prefix + "targets", "unknown target '\(name)'") }
            return t
        }
        guard Set(stored) == Set(targets), stored.count == targets.count else {
            throw fail(prefix + "targets", "\(stored.map(\.rawValue)), the run adapts \(targets.map(\.rawValue))")
        }
        let adapter: LoRAAdapter
        do { adapter = try LoRAAdapter(gguf: file, config: config).laidOut(targets: stored, config: config) } catch {
            throw fail("adapter", "\(error)")
        }
        guard case .uint64(let seed) = try value("run.seed") else { throw fail(prefix + "run.seed", "not a uint64") }
        var checkpoint = RunCheckpoint(
            round: try int("round"),
            identity: RunIdentity(
                scenario: try string("run.scenario"), seed: seed, aggregation: try string("run.aggregation"),
                overrides: try strings("run.overrides")),
            adapter: adapter, rows: [], rankPlanning: nil,
            warmParticipants: try ints("warm_start.participants"), warmBeamformers: nil)

        // Integrity before meaning: a torn or altered file says nothing reliable.
        guard case .uint32(let crc) = try value("crc32") else { throw fail(crcKey, "not a uint32") }
        let computed = digest(adapter: adapter, metadata: m.map { ($0.key, $0.value) })
        guard computed == crc else {
            throw fail(
                crcKey,
                String(format: "the contents' CRC-32 is %08x, the file records %08x: torn or altered", computed, crc))
        }
        try checkpoint.checkIdentity(expected, fail)
        do { checkpoint.rankPlanning = try RankPlanningRecord.fromCheckpoint(try string("rank_planning")) } catch let e
            as DecodingError
        {
            throw fail(prefix + "rank_planning", "not a rank-planning record (\(JSONRecord.describe(e)))")
        }
        checkpoint.rows = try readRows(ints: ints, strings: strings, doubles: doubles, fail)
        // Checkpoints from before the straggler policy have none.
        if m[prefix + "stragglers.nodes"] != nil {
            let names = try strings("stragglers.nodes")
            let misses = try ints("stragglers.misses")
            let until = try ints("stragglers.backed_off_until")
            guard misses.count == names.count, until.count == names.count,
                misses.allSatisfy({ (0...1_000_000).contains($0) }),
                until.allSatisfy({ (0...checkpoint.round + 1 + NodeRegistry.maximumBackoff).contains($0) })
            else {
                throw fail(prefix + "stragglers", "misses or backoffs out of range, or lists of unequal length")
            }
            checkpoint.stragglers = names.indices.map {
                NodeRegistry.Straggler(name: names[$0], missesInARow: misses[$0], backedOffUntil: until[$0])
            }
        }
        guard checkpoint.round >= 0, checkpoint.rows.allSatisfy({ $0.round <= checkpoint.round }) else {
            throw fail(
                prefix + "round", "\(checkpoint.round), but rows reach round \(checkpoint.rows.map(\.round).max() ?? 0)"
            )
        }
        checkpoint.warmBeamformers = try readBeamformers(
            shape: try ints("warm_start.shape"), values: try doubles("warm_start.beamformers"), fail)
        return checkpoint
    }

    /// Foreign: made by another scenario file, seed, aggregation mode or overrides.
    private func checkIdentity(_ expected: RunIdentity, _ fail: (String, String) -> CheckpointError) throws {
        let p = Self.prefix
        guard identity.scenario == expected.scenario else {
            throw fail(
                p + "run.scenario",
                "made from another scenario file (FNV-1a \(identity.scenario), this one's is \(expected.scenario))")
        }
        guard identity.seed == expected.seed else {
            throw fail(p + "run.seed", "made with seed \(identity.seed), this run's is \(expected.seed)")
        }
        guard identity.aggregation == expected.aggregation else {
            throw fail(
                p + "run.aggregation",
                "made with aggregation \(identity.aggregation), this run's is \(expected.aggregation)")
        }
        guard identity.overrides == expected.overrides else {
            throw fail(p + "run.overrides", "made with --set \(identity.overrides), this run has \(expected.overrides)")
        }
    }

    private static func readRows(
        ints: (String) throws -> [Int], strings: (String) throws -> [String], doubles: (String) throws -> [Double],
        _ fail: (String, String) -> CheckpointError
    ) throws -> [MetricsRow] {
        let rounds = try ints("rows.round")
        let nodes = try strings("rows.node")
        let profiles = try strings("rows.profile")
        let statuses = try strings("rows.status")
        let ranks = try ints("rows.rank")
        let steps = try ints("rows.steps")
        let reals = try doubles("rows.reals")
        let n = rounds.count
        // Rows of a checkpoint from before the aggregate's energy was recorded have fewer reals.
        let width =
            n > 0 && reals.count == n * MetricsRow.realsBeforeEnergy
            ? MetricsRow.realsBeforeEnergy : MetricsRow.reals.count
        guard [nodes.count, profiles.count, statuses.count, ranks.count, steps.count].allSatisfy({ $0 == n }),
            reals.count == n * width
        else {
            throw fail(prefix + "rows", "columns of unequal length (\(n) rounds, \(reals.count) reals)")
        }
        return try (0..<n).map { i in
            guard let status = RoundStatus(rawValue: statuses[i]) else {
                throw fail(prefix + "rows.status", "unknown status '\(statuses[i])'")
            }
            var row = MetricsRow(round: rounds[i], node: nodes[i], profile: profiles[i], status: status, rank: ranks[i])
            row.steps = steps[i]
            for (j, path) in MetricsRow.reals.prefix(width).enumerated() {
                row[keyPath: path] = reals[i * width + j]
            }
            return row
        }
    }

    private static func readBeamformers(shape: [Int], values: [Double], _ fail: (String, String) -> CheckpointError)
        throws -> [ComplexMatrix<Double>]?
    {
        guard !shape.isEmpty else { return nil }
        // Each side at most 2^20, so the products cannot overflow; the values are already in memory.
        guard shape.count == 3, shape.allSatisfy({ (0...(1 << 20)).contains($0) }),
            shape[0] * shape[1] * shape[2] * 2 == values.count
        else {
            throw fail(prefix + "warm_start.shape", "\(shape) does not fit \(values.count) reals")
        }
        let size = shape[1] * shape[2]
        return (0..<shape[0]).map { k in
            ComplexMatrix(
                rows: shape[1], cols: shape[2],
                elements: (0..<size).map { i in
                    Complex(values[2 * (k * size + i)], values[2 * (k * size + i) + 1])
                })
        }
    }
}
