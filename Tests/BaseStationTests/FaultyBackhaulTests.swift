import Foundation
import XCTest

@testable import BaseStation

/// The fleet over a faulty backhaul (issue: reliability): the base station and two edge hosts in
/// their own network namespaces (launch/hosts.sh), each link with 5 % packet loss and 200 ms each
/// way, and one edge host's link cut for twice the round timeout mid-run. Real processes under
/// CURVE. The run completes; the cut-off node is left out and rejoins when its link returns; and
/// nothing the nodes delivered is lost: the rounds before the cut are exactly those of the same
/// fleet on loopback, the other node is in every round, and no frame arrived damaged.
final class FaultyBackhaulTests: XCTestCase {
    func testLossyDelayedBackhaulWithANodeCutOffCompletesAndLosesNothing() throws {
        let timeout = 8.0
        let rounds = 16
        let cutAfterRound = 2
        let hosts = try TestHosts(self, "--edge-hosts 2 --delay-ms 200 --rate 100mbit --loss-percent 5 --seed 3")
        let fleet = try ProcessFleet(
            in: try temporaryDirectory(self), rounds: rounds, roundTimeoutS: timeout, host: "10.77.0.1")
        let results = fleet.dir.appendingPathComponent("run").path
        let bs = try fleet.baseStation(results, netns: hosts.baseStation)
        let n0 = try fleet.node(0, netns: hosts.edgeHosts[0])
        let n1 = try fleet.node(1, netns: hosts.edgeHosts[1])
        bs.waitFor("round \(cutAfterRound): train loss", seconds: 180)
        let cutAt = Date()
        try hosts.cut(hosts.edgeHosts[1])
        Thread.sleep(forTimeInterval: 2 * timeout)
        try hosts.restore(hosts.edgeHosts[1])
        let restoredAfter = Date().timeIntervalSince(cutAt)
        XCTAssertEqual(bs.finish(seconds: 400), 0, bs.log)
        XCTAssertEqual(n0.finish(seconds: 30), 0, n0.log)
        XCTAssertEqual(n1.finish(seconds: 30), 0, n1.log)
        let links = try hosts.down()

        // The impairments were real: about 5 % of the packets lost on each link, and the cut dropped packets.
        for (edge, log) in links {
            let c = linkCounts(log)
            let rate = Double(c.lost) / Double(c.delivered + c.lost)
            print(
                String(
                    format: "backhaul %@: %d packets delivered, %d lost (%.1f %%), %d dropped while cut", edge,
                    c.delivered, c.lost, 100 * rate, c.cut))
            XCTAssertGreaterThan(c.delivered, 200, log)
            XCTAssertEqual(rate, 0.05, accuracy: 0.03, "loss on \(edge): \(log)")
        }
        XCTAssertGreaterThan(linkCounts(links[hosts.edgeHosts[1]]!).cut, 0, "the cut dropped nothing")
        XCTAssertEqual(linkCounts(links[hosts.edgeHosts[0]]!).cut, 0)

        let rows = try fleet.metrics(results)
        let status = { (node: String) in rows.filter { $0["node"] == node && $0["round"] != "0" }.map { $0["status"]! }
        }
        XCTAssertEqual(status("global"), Array(repeating: "ok", count: rounds), "every round committed")
        XCTAssertEqual(
            status("n0"), Array(repeating: "ok", count: rounds), "the node whose link stayed up is in every round")
        let n1Rounds = status("n1")
        print(
            "backhaul: cut after round \(cutAfterRound) for \(2 * timeout) s; n1 by round: "
                + "\(n1Rounds.joined(separator: " "))"
        )
        XCTAssertEqual(Array(n1Rounds.prefix(cutAfterRound)), Array(repeating: "ok", count: cutAfterRound))
        XCTAssertNotEqual(
            n1Rounds[cutAfterRound], "ok", "the cut-off node is left out of the round after the cut: \(n1Rounds)")
        XCTAssertEqual(
            n1Rounds.last, "ok",
            "the cut-off node rejoins when its link returns (restored \(restoredAfter) s after the cut): "
                + "\(n1Rounds)\n\(bs.log.suffix(4000))"
        )
        XCTAssertTrue(bs.log.contains("left out of round \(cutAfterRound + 1)"), bs.log)

        // Nothing arrived damaged or was refused: the only drops allowed are the cut-off node's late frames.
        let drops = try RunSummary.read(directory: results).framesDroppedByReason.filter { $0.value > 0 }
        XCTAssertTrue(Set(drops.keys).isSubset(of: ["wrong round"]), "frames dropped: \(drops)")

        // The rounds before the cut are bit-for-bit those of the same fleet on loopback: the lossy,
        // delayed links changed no byte that was delivered.
        let clean = try ProcessFleet(in: try temporaryDirectory(self), rounds: cutAfterRound, roundTimeoutS: timeout)
        let cleanResults = clean.dir.appendingPathComponent("run").path
        let cbs = try clean.baseStation(cleanResults)
        let c0 = try clean.node(0)
        let c1 = try clean.node(1)
        XCTAssertEqual(cbs.finish(), 0, cbs.log)
        _ = (c0.finish(seconds: 30), c1.finish(seconds: 30))
        let before = rows.filter { Int($0["round"]!)! <= cutAfterRound }
        XCTAssertEqual(before.count, try clean.metrics(cleanResults).count)
        XCTAssertEqual(
            before, try clean.metrics(cleanResults), "the rounds before the cut differ from the loopback fleet's")
    }
}
