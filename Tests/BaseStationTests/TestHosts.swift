import Foundation
import XCTest

/// The project's test hosts (`launch/hosts.sh`) for one test: the base station's namespace and
/// edge hosts behind emulated backhaul links, brought down at the end of the test.
struct TestHosts {
    /// FLEET_BS_NETNS, FLEET_EDGE_NETNS (space-separated) and FLEET_CONNECT, as hosts.sh prints them.
    let fleetEnvironment: [String: String]
    var baseStation: String { fleetEnvironment["FLEET_BS_NETNS"]! }
    var edgeHosts: [String] { fleetEnvironment["FLEET_EDGE_NETNS"]!.split(separator: " ").map(String.init) }

    /// `launch/hosts.sh up options…` (needs root and iproute2: the test setup's machine has both).
    init(_ test: XCTestCase, _ options: String) throws {
        let up = try runScript("launch/hosts.sh up \(options)")
        XCTAssertEqual(up.status, 0, "hosts up (root and iproute2): \(up.output)")
        test.addTeardownBlock { _ = try? runScript("launch/hosts.sh down") }
        let line = try XCTUnwrap(up.output.split(separator: "\n").last { $0.hasPrefix("FLEET_BS_NETNS=") }, up.output)
        var env = [String: String]()
        var key = ""
        for word in line.split(separator: " ") {
            if let eq = word.firstIndex(of: "="), word[..<eq].hasPrefix("FLEET_") {
                key = String(word[..<eq])
                env[key] = String(word[word.index(after: eq)...])
            } else {
                env[key, default: ""] += " " + word
            }
        }
        fleetEnvironment = env.mapValues { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'")) }
    }

    func cut(_ edgeHost: String) throws { XCTAssertEqual(try runScript("launch/hosts.sh cut \(edgeHost)").status, 0) }
    func restore(_ edgeHost: String) throws {
        XCTAssertEqual(try runScript("launch/hosts.sh restore \(edgeHost)").status, 0)
    }

    /// Brings the hosts down and returns each link's closing counts (`link: A → B: N delivered (…), M lost, C dropped
    /// while cut, …`).
    func down() throws -> [String: String] {
        _ = try runScript("launch/hosts.sh down")
        var logs = [String: String]()
        for edge in edgeHosts {
            logs[edge] = (try? String(contentsOfFile: "/tmp/airfl-hosts/\(edge).log", encoding: .utf8)) ?? ""
        }
        return logs
    }
}

/// The packets of a link log's closing lines: (delivered, lost, dropped while cut), both directions summed.
func linkCounts(_ log: String) -> (delivered: Int, lost: Int, cut: Int) {
    var sum = (delivered: 0, lost: 0, cut: 0)
    for line in log.split(separator: "\n") where line.contains(" delivered (") {
        let numbers = line.split(separator: ":").last!.split(separator: ",").map {
            Int($0.split(separator: " ").first ?? "") ?? 0
        }
        sum.delivered += numbers[0]
        sum.lost += numbers[1]
        sum.cut += numbers[2]
    }
    return sum
}
