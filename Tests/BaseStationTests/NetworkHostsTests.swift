import Foundation
import XCTest

/// The fleet across the project's own test hosts (`launch/hosts.sh`): the base station and the edge
/// nodes in two network namespaces joined by a veth pair with a one-way delay and a rate limit;
/// the tiny fleet runs there and its rounds take longer by at least the round trips the protocol
/// makes. Needs root and iproute2 (the test setup's machine has both).
final class NetworkHostsTests: XCTestCase {
    func testTinyFleetAcrossDelayedHostsShowsTheDelayInRoundLatency() throws {
        let repository = repositoryRoot
        func shell(_ script: String, _ env: [String: String] = [:]) throws -> (status: Int32, output: String) { try runScript(script, env: env) }
        /// Mean wall time of the fleet's rounds (metrics.csv's global rows) with `delay` ms each way.
        func fastestRound(delayMs delay: Int) throws -> Double {
            // The relay (on a kernel without sch_netem) runs as this test's own child: a process
            // that outlives a script would hold Foundation's wait for that script.
            let up = try shell("launch/hosts.sh up --delay-ms \(delay) --rate 200mbit --port 5590 --print-relay")
            XCTAssertEqual(up.status, 0, "hosts up (root and iproute2): \(up.output)")
            var relay: Process?
            if let line = up.output.split(separator: "\n").first(where: { $0.hasPrefix("RELAY=") }) {
                let words = line.dropFirst("RELAY=".count).split(separator: " ").map(String.init)
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
                p.arguments = Array(words.dropFirst())
                p.currentDirectoryURL = repository
                p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
                p.standardError = FileHandle(forWritingAtPath: "/dev/null")
                try p.run()
                relay = p
                Thread.sleep(forTimeInterval: 0.5)
            }
            defer {
                relay?.terminate()
                relay?.waitUntilExit()
                _ = try? shell("launch/hosts.sh down")
            }
            let vars = try XCTUnwrap(up.output.split(separator: "\n").last { $0.hasPrefix("FLEET_BS_NETNS=") })
            var env = [String: String]()
            for pair in vars.split(separator: " ") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                env[String(kv[0])] = String(kv[1])
            }
            let run = try temporaryDirectory(self).appendingPathComponent("run").path
            env["FLEET_RUN_DIR"] = run
            let fleet = try shell("launch/fleet.sh launch/scenarios/tiny.toml --rounds 3 --endpoint tcp://10.77.0.1:5590", env)
            XCTAssertEqual(fleet.status, 0, String(fleet.output.suffix(2000)))
            let lines = try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            let header = lines[0].map(String.init)
            let node = try XCTUnwrap(header.firstIndex(of: "node")), round = try XCTUnwrap(header.firstIndex(of: "round")),
                wall = try XCTUnwrap(header.firstIndex(of: "wall_s"))
            let walls = lines.dropFirst().filter { $0[node] == "global" && $0[round] != "0" }.compactMap { Double($0[wall]) }
            XCTAssertEqual(walls.count, 3)
            return walls.min() ?? .nan
        }
        let near = try fastestRound(delayMs: 1), far = try fastestRound(delayMs: 100)
        print(String(format: "hosts: fastest round %.3f s at 1 ms each way, %.3f s at 100 ms", near, far))
        // A round is at least two round trips end to end (round start → report, transmit order →
        // the last frames): at 100 ms each way no round can take under 0.4 s, and 99 ms more each
        // way is ≥ 0.396 s more per round. The fastest round of each run is compared: a busy
        // machine (CI beside other work) slows some rounds, not the delay's share of every one.
        XCTAssertGreaterThanOrEqual(far, 0.396, "no round at 100 ms each way can be faster than two round trips")
        XCTAssertGreaterThan(far - near, 0.3, "round latency \(near) s at 1 ms, \(far) s at 100 ms each way")
    }
}
