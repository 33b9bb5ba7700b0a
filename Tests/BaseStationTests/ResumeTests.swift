import Foundation
import XCTest

@testable import BaseStation

/// A base station that dies and is restarted with `resume` continues from its last checkpoint
/// and ends where an uninterrupted run ends: the same adapter bytes, the same metrics. The nodes
/// outlive it (the same firmware threads, on the same in-memory network); the kill with real
/// processes is `CrashResumeTests`.
final class ResumeTests: XCTestCase {
    let pi4 = InMemoryFleet.profile("raspberry-pi-4"), pi5 = InMemoryFleet.profile("raspberry-pi-5")

    struct Outcome {
        var adapter: Data
        /// metrics.csv without the wall clock.
        var metrics: [[String: String]]
        var summary: RunSummary
    }

    /// A 3-round run of two real firmwares; the base station dies at `crash` and is restarted
    /// with `resume` (twice when two crashes are given).
    func run(crashes: [(round: Int, point: CrashPoint)], extra: String = "") throws -> Outcome {
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("b", pi5)], rounds: 3, federationExtra: extra)
        try fleet.startFirmware("a", profile: pi4)
        try fleet.startFirmware("b", profile: pi5)
        for crash in crashes {
            fleet.server.rounds.crashPoint = { $0 == crash.round && $1 == crash.point }
            XCTAssertThrowsError(try fleet.server.run()) { XCTAssertTrue($0 is SimulatedCrash, "\($0)") }
            try fleet.restartServer(start: .resume)
        }
        let summary = try fleet.run()
        return Outcome(
            adapter: try Data(contentsOf: fleet.directory.appendingPathComponent("results/adapter.gguf")),
            metrics: try fleet.metrics().map { $0.filter { $0.key != "wall_s" } }, summary: summary)
    }

    func testAResumedRunEndsInTheSameAdapterAsAnUninterruptedOne() throws {
        let whole = try run(crashes: [])
        XCTAssertNil(whole.summary.resumedFromRound)
        // Between rounds, after the nodes reported (they wait for a transmit order that never
        // comes), after the symbols arrived (before the commit), and twice in one run.
        let cases: [[(round: Int, point: CrashPoint)]] = [
            [(1, .checkpointed)], [(2, .reported)], [(3, .collected)],
            [(1, .collected), (2, .checkpointed)],
        ]
        for crashes in cases {
            let resumed = try run(crashes: crashes)
            let label = "crashes at \(crashes)"
            XCTAssertEqual(resumed.adapter, whole.adapter, label)
            XCTAssertEqual(resumed.metrics, whole.metrics, label)
            let last = crashes.last!
            XCTAssertEqual(
                resumed.summary.resumedFromRound,
                last.point == .checkpointed ? last.round : last.round - 1, label)
            let figures: [KeyPath<RunSummary, Double>] = [
                \.finalPerplexity, \.finalLoss, \.mseMean, \.airtimeTotalS, \.energyTotalJ,
            ]
            for figure in figures {
                XCTAssertEqual(resumed.summary[keyPath: figure], whole.summary[keyPath: figure], "\(figure), \(label)")
            }
            XCTAssertEqual(resumed.summary.lastRoundDelivered, whole.summary.lastRoundDelivered, label)
        }
    }

    /// With the rank planned from a pilot round, the planned rank, the planner's record and the
    /// warm start survive the restart.
    func testAResumedPlannedRunKeepsItsRankAndPlan() throws {
        let whole = try run(crashes: [], extra: "rank_planning = true")
        let resumed = try run(crashes: [(1, .reported)], extra: "rank_planning = true")
        XCTAssertEqual(resumed.adapter, whole.adapter)
        XCTAssertEqual(resumed.metrics, whole.metrics)
        // The planner's whole record survives the checkpoint, its phases' wall-clock seconds aside.
        var plan = try XCTUnwrap(resumed.summary.rankPlanning)
        var wholePlan = try XCTUnwrap(whole.summary.rankPlanning)
        (plan.seconds, wholePlan.seconds) = ([:], [:])
        XCTAssertEqual(plan, wholePlan)
        XCTAssertEqual(resumed.summary.rank, whole.summary.rank)
    }

    /// A restart without `resume` into the run's directory is refused; with `resume` and no
    /// checkpoint yet (it died before round 0 was recorded) the run starts from the beginning.
    func testRestartWithoutResumeIsRefusedAndNothingToResumeStartsOver() throws {
        let fleet = try InMemoryFleet(in: try temporaryDirectory(self), nodes: [("a", pi4)], rounds: 1)
        try fleet.startFirmware("a", profile: pi4)
        fleet.server.rounds.crashPoint = { _, _ in true }
        XCTAssertThrowsError(try fleet.server.run())
        XCTAssertThrowsError(try fleet.restartServer(start: .fresh)) {
            XCTAssertTrue("\($0)".contains("already holds a run"), "\($0)")
        }
        try FileManager.default.removeItem(
            at: fleet.directory.appendingPathComponent("results/checkpoint/checkpoint.gguf"))
        try fleet.restartServer(start: .resume)
        let summary = try fleet.run()
        XCTAssertNil(summary.resumedFromRound)
        XCTAssertEqual(try fleet.metrics().filter { $0["node"] == "global" }.map { $0["status"]! }, ["initial", "ok"])
    }

    /// `resume` of a finished run awaits no node (none is started here, so waiting would fail with
    /// "no node registered"): it reports the run's summary; killed after its last checkpoint but
    /// before its results, it writes them from its rows, the same adapter bytes.
    func testResumingAFinishedRunReportsItWithoutAwaitingNodes() throws {
        let fleet = try InMemoryFleet(in: try temporaryDirectory(self), nodes: [("a", pi4)], rounds: 1)
        try fleet.startFirmware("a", profile: pi4)
        let whole = try fleet.run()
        let results = fleet.directory.appendingPathComponent("results")
        let adapter = try Data(contentsOf: results.appendingPathComponent("adapter.gguf"))
        try fleet.restartServer(start: .resume)
        let again = try fleet.server.run()
        XCTAssertEqual(again.finalPerplexity, whole.finalPerplexity)
        XCTAssertEqual(again.wallTimeS, whole.wallTimeS, "the summary on disk, not a new run's")
        try FileManager.default.removeItem(at: results.appendingPathComponent("summary.json"))
        try FileManager.default.removeItem(at: results.appendingPathComponent("adapter.gguf"))
        try fleet.restartServer(start: .resume)
        let rewritten = try fleet.server.run()
        XCTAssertEqual(rewritten.finalPerplexity, whole.finalPerplexity)
        XCTAssertEqual(rewritten.resumedFromRound, 1)
        XCTAssertEqual(try Data(contentsOf: results.appendingPathComponent("adapter.gguf")), adapter)
    }

    /// serve's two flags become one start mode at the boundary; both at once are refused.
    func testStartModeFromTheFlags() throws {
        XCTAssertEqual(try RunStart(resume: false, overwrite: false), .fresh)
        XCTAssertEqual(try RunStart(resume: true, overwrite: false), .resume)
        XCTAssertEqual(try RunStart(resume: false, overwrite: true), .overwrite)
        XCTAssertThrowsError(try RunStart(resume: true, overwrite: true)) {
            XCTAssertTrue("\($0)".contains("give one"), "\($0)")
        }
    }
}
