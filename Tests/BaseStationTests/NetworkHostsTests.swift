import Foundation
import XCTest

/// The fleet across the project's own test hosts (`launch/hosts.sh`): the base station and the edge
/// nodes in network namespaces joined by emulated backhaul links with a one-way delay and a rate
/// limit; the tiny fleet runs there and its rounds take longer by at least the round trips the
/// protocol makes.
final class NetworkHostsTests: XCTestCase {
    func testTinyFleetAcrossDelayedHostsShowsTheDelayInRoundLatency() throws {
        /// The fastest of the fleet's rounds (metrics.csv's global rows) with `delay` ms each way.
        func fastestRound(delayMs delay: Int) throws -> Double {
            let hosts = try TestHosts(self, "--delay-ms \(delay) --rate 200mbit --port 5590")
            defer { _ = try? hosts.down() }
            var env = hosts.fleetEnvironment
            let run = try temporaryDirectory(self).appendingPathComponent("run").path
            env["FLEET_RUN_DIR"] = run
            let fleet = try runScript(
                "launch/fleet.sh launch/scenarios/tiny.toml --rounds 3 --endpoint tcp://10.77.0.1:5590", env: env)
            XCTAssertEqual(fleet.status, 0, String(fleet.output.suffix(2000)))
            let lines = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n").map {
                $0.split(separator: ",", omittingEmptySubsequences: false)
            }
            let header = lines[0].map(String.init)
            let node = try XCTUnwrap(header.firstIndex(of: "node"))
            let round = try XCTUnwrap(header.firstIndex(of: "round"))
            let wall = try XCTUnwrap(header.firstIndex(of: "wall_s"))
            let walls = lines.dropFirst().filter { $0[node] == "global" && $0[round] != "0" }.compactMap {
                Double($0[wall])
            }
            XCTAssertEqual(walls.count, 3)
            return walls.min() ?? .nan
        }
        let near = try fastestRound(delayMs: 1)
        let far = try fastestRound(delayMs: 100)
        print(String(format: "hosts: fastest round %.3f s at 1 ms each way, %.3f s at 100 ms", near, far))
        // A round is at least two round trips end to end (round start → report, transmit order →
        // the last frames): at 100 ms each way no round can take under 0.4 s, and 99 ms more each
        // way is ≥ 0.396 s more per round. The fastest round of each run is compared: a busy
        // machine (CI beside other work) slows some rounds, not the delay's share of every one.
        XCTAssertGreaterThanOrEqual(far, 0.396, "no round at 100 ms each way can be faster than two round trips")
        XCTAssertGreaterThan(far - near, 0.3, "round latency \(near) s at 1 ms, \(far) s at 100 ms each way")
    }
}
