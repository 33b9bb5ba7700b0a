import Foundation
import XCTest

@testable import BaseStation

/// Real processes killed with SIGKILL: the base station mid-training, restarted with `--resume`
/// (its nodes outlive it), ends in the adapter an uninterrupted run ends in, byte for byte; an
/// edge node killed mid-round is left out of that round within its timeout and, restarted, rejoins.
final class CrashResumeTests: XCTestCase {
    func testBaseStationKilledAtSeveralPointsResumesToTheSameAdapter() throws {
        let fleet = try ProcessFleet(in: try temporaryDirectory(self), rounds: 4)
        // Uninterrupted.
        let whole = fleet.dir.appendingPathComponent("whole").path
        let bs = try fleet.baseStation(whole)
        let nodes = try (0..<2).map { try fleet.node($0) }
        XCTAssertEqual(bs.finish(), 0, bs.log)
        for n in nodes { XCTAssertEqual(n.finish(seconds: 30), 0, n.log) }

        // Killed mid-round 1 (a node has trained; round 0's checkpoint stands), between rounds 2 and
        // 3, and mid-round 4; each time restarted with --resume while the nodes carry on.
        let resumed = fleet.dir.appendingPathComponent("resumed").path
        let survivors = try (0..<2).map { try fleet.node($0) }
        var server = try fleet.baseStation(resumed)
        let kills: [(who: () -> FleetChild, line: String)] = [
            ({ survivors[0] }, "round 1: 3 steps"), ({ server }, "round 2: train loss"),
            ({ survivors[1] }, "round 4: 3 steps"),
        ]
        var resumedAfter = [Int]()
        for (i, kill) in kills.enumerated() {
            kill.who().waitFor(kill.line)
            server.kill9()
            XCTAssertEqual(server.process.terminationReason, .uncaughtSignal, "kill \(i + 1)")
            server = try fleet.baseStation(resumed, resume: true)
            server.waitFor("resuming")
            let line = try XCTUnwrap(server.log.split(separator: "\n").first { $0.contains("resuming") })
            resumedAfter.append(
                try XCTUnwrap(Int(line.components(separatedBy: "after round ").last!.prefix { $0.isNumber })))
        }
        XCTAssertEqual(server.finish(), 0, server.log)
        for n in survivors { XCTAssertEqual(n.finish(seconds: 30), 0, n.log) }
        // Round 0's checkpoint, round 2's (or 3's, if round 3 ended before the kill landed), round 3's.
        XCTAssertEqual(resumedAfter.first, 0, "\(resumedAfter)")
        XCTAssertTrue([2, 3].contains(resumedAfter[1]), "\(resumedAfter)")
        XCTAssertEqual(resumedAfter.last, 3, "\(resumedAfter)")
        XCTAssertNotNil(try RunSummary.read(directory: resumed).resumedFromRound)
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: resumed + "/adapter.gguf")),
            try Data(contentsOf: URL(fileURLWithPath: whole + "/adapter.gguf")),
            "the resumed run's adapter differs from the uninterrupted run's")
        XCTAssertEqual(try fleet.metrics(resumed), try fleet.metrics(whole))
        XCTAssertEqual(try fleet.metrics(whole).filter { $0["node"] != "global" && $0["status"] == "ok" }.count, 8)
    }

    func testEdgeNodeKilledMidRoundIsLeftOutAndRejoinsWhenRestarted() throws {
        let timeout = 6.0
        // Rounds of about half a second (the nodes sleep 40 × their emulated compute time), so the
        // run outlasts the restart of a node (loading the model and data) several times over.
        let fleet = try ProcessFleet(
            in: try temporaryDirectory(self), rounds: 12, roundTimeoutS: timeout, federationExtra: "realtime_scale = 40"
        )
        let results = fleet.dir.appendingPathComponent("run").path
        let bs = try fleet.baseStation(results)
        let n0 = try fleet.node(0)
        let n1 = try fleet.node(1)
        // Killed after its round-2 training, before its report.
        n1.waitFor("round 2: 3 steps")
        n1.kill9()
        let restarted = try fleet.node(1)
        XCTAssertEqual(bs.finish(), 0, bs.log)
        XCTAssertEqual(n0.finish(seconds: 30), 0, n0.log)
        XCTAssertEqual(restarted.finish(seconds: 30), 0, restarted.log)
        XCTAssertTrue(restarted.log.contains("registered as device 1"), restarted.log)
        let rows = try fleet.metrics(results)
        let n1Rows = rows.filter { $0["node"] == "n1" }.map { $0["status"]! }
        XCTAssertEqual(n1Rows[0], "ok")
        XCTAssertNotEqual(n1Rows[1], "ok", "the killed node's round-2 update cannot be in the sum: \(n1Rows)")
        XCTAssertEqual(n1Rows.last, "ok", "restarted, it rejoins: \(n1Rows)\n\(bs.log)")
        XCTAssertEqual(rows.filter { $0["node"] == "n0" }.map { $0["status"]! }, Array(repeating: "ok", count: 12))
        XCTAssertEqual(
            rows.filter { $0["node"] == "global" && $0["round"] != "0" }.map { $0["status"]! },
            Array(repeating: "ok", count: 12))
        let wall = try String(contentsOfFile: results + "/metrics.csv", encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix("2,global,") }.compactMap {
                $0.split(separator: ",", omittingEmptySubsequences: false).last.flatMap { Double($0) }
            }
        XCTAssertLessThan(try XCTUnwrap(wall.first), timeout + 5, "round 2 waited past its timeout")
    }
}
