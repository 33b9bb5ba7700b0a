import CommandLineSupport
import Foundation
import XCTest

@testable import BaseStation

/// `--memo`: runs that share work (the base model's evaluation, training from the fresh adapter)
/// take it from the memo and end in the same bits as runs that compute everything; a damaged
/// entry is computed again, never used. In memory, with the real firmware.
final class MemoRunTests: XCTestCase {
    struct Outcome {
        let metrics: [[String: String]]
        let adapter: Data
        let summary: RunSummary
    }

    /// The tiny fleet with rank planning (a pilot round, then two rounds) in `directory`.
    func run(in directory: URL, memo: String?, aggregation: String = "aircomp") throws -> Outcome {
        let pi4 = InMemoryFleet.profile("raspberry-pi-4")
        let pi5 = InMemoryFleet.profile("raspberry-pi-5")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fleet = try InMemoryFleet(
            in: directory, nodes: [("a", pi4), ("b", pi5)], aggregation: aggregation, rounds: 2,
            federationExtra: "rank_planning = true")
        let store = try memo.map { try Memo(directory: $0) }
        fleet.server.evaluator.memo = store
        try fleet.startFirmware("a", profile: pi4, memo: store)
        try fleet.startFirmware("b", profile: pi5, memo: store)
        let summary = try fleet.run()
        return Outcome(
            metrics: try fleet.metrics().map { $0.filter { $0.key != "wall_s" } },
            adapter: try Data(contentsOf: directory.appendingPathComponent("results/adapter.gguf")), summary: summary)
    }

    /// The memo's entries of `kind`, each with its inode (a rewritten entry is a new file).
    func entries(_ memo: String, _ kind: String) throws -> [String: UInt64] {
        var found: [String: UInt64] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: memo) where name.hasPrefix(kind + "-") {
            found[name] = try XCTUnwrap(
                FileManager.default.attributesOfItem(atPath: memo + "/" + name)[.systemFileNumber] as? UInt64)
        }
        return found
    }

    func testMemoisedRunsEndInTheSameBitsAsComputedOnes() throws {
        let root = try temporaryDirectory(self)
        let memo = root.appendingPathComponent("memo").path
        let plain = try run(in: root.appendingPathComponent("plain"), memo: nil)
        let cold = try run(in: root.appendingPathComponent("cold"), memo: memo)
        // One base-model evaluation; each node's pilot (round 0, at r_max) and first round (at the planned rank).
        let evaluations = try entries(memo, "heldout-base")
        let trainings = try entries(memo, "train")
        XCTAssertEqual(evaluations.count, 1)
        XCTAssertEqual(trainings.count, 4, "\(trainings.keys.sorted())")
        let warm = try run(in: root.appendingPathComponent("warm"), memo: memo)
        XCTAssertEqual(try entries(memo, "heldout-base"), evaluations, "the warm run evaluated the base model again")
        XCTAssertEqual(try entries(memo, "train"), trainings, "the warm run trained from the fresh adapter again")
        for (name, other) in [("cold", cold), ("warm", warm)] {
            XCTAssertEqual(other.metrics, plain.metrics, "\(name) memo: metrics differ from the run without one")
            XCTAssertEqual(other.adapter, plain.adapter, "\(name) memo: the adapter differs from the run without one")
        }
        XCTAssertNil(plain.summary.memo)
        XCTAssertEqual(cold.summary.memo?.heldoutBase, false)
        XCTAssertEqual(warm.summary.memo?.heldoutBase, true)
        // Ideal aggregation trains the same pilot and first round (only the air differs): all found.
        let ideal = try run(in: root.appendingPathComponent("ideal"), memo: memo, aggregation: "ideal")
        XCTAssertEqual(try entries(memo, "train"), trainings)
        func pilotLosses(_ o: Outcome) -> [String] {
            o.metrics.filter { $0["node"] != "global" && $0["round"] == "0" }.map { $0["train_loss"] ?? "-" }
        }
        XCTAssertEqual(pilotLosses(ideal), pilotLosses(plain))
    }

    func testDamagedEntriesAreComputedAgainNotUsed() throws {
        let root = try temporaryDirectory(self)
        let memo = root.appendingPathComponent("memo").path
        let first = try run(in: root.appendingPathComponent("first"), memo: memo)
        let before = try entries(memo, "train").merging(try entries(memo, "heldout-base")) { $1 }
        // Each entry altered differently: a value byte flipped, cut short, emptied, another entry's bytes.
        let names = before.keys.sorted()
        for (i, name) in names.enumerated() {
            let path = memo + "/" + name
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            switch i % 4 {
            case 0: bytes[bytes.count - 20] ^= 0x40
            case 1: bytes = bytes.prefix(bytes.count / 2)
            case 2: bytes = Data()
            default: bytes = try Data(contentsOf: URL(fileURLWithPath: memo + "/" + names[(i + 1) % names.count]))
            }
            try bytes.write(to: URL(fileURLWithPath: path))
        }
        let again = try run(in: root.appendingPathComponent("again"), memo: memo)
        XCTAssertEqual(again.metrics, first.metrics)
        XCTAssertEqual(again.adapter, first.adapter)
        let after = try entries(memo, "train").merging(try entries(memo, "heldout-base")) { $1 }
        XCTAssertEqual(Set(after.keys), Set(before.keys))
        for name in names {
            XCTAssertNotEqual(after[name], before[name], "\(name) was damaged but not computed and stored again")
        }
    }
}
