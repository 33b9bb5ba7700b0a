import Foundation
import Wire
import XCTest

@testable import BaseStation

/// CURVE on a live base station: only the allow-listed keys get in, each as its own node. A node
/// without a key, one with a key the base station does not know, and one with a known key under
/// another node's name are each refused, logged and counted, and the round goes on undisturbed.
final class AuthenticationTests: XCTestCase {
    func testOnlyAllowListedKeysJoinEachAsItsOwnNode() throws {
        let fleet = try ProcessFleet(in: try temporaryDirectory(self), rounds: 3)
        let results = fleet.dir.appendingPathComponent("run").path
        let strangerKeys = fleet.dir.appendingPathComponent("stranger").path
        XCTAssertEqual(try runProduct("edgenode", ["keys", "--name", "n1", "--dir", strangerKeys]).status, 0)
        let bs = try fleet.baseStation(results)
        // The attackers first, so that each would have been first with n1's name.
        let plaintext = try fleet.node(1, security: ["--insecure"])
        let unknown = try fleet.node(
            1, security: ["--key", strangerKeys + "/n1.key", "--server-key", fleet.keys + "/basestation.pub"])
        let borrowed = try fleet.node(
            1, security: ["--key", fleet.keys + "/nodes/n0.key", "--server-key", fleet.keys + "/basestation.pub"])
        let nodes = try (0..<2).map { try fleet.node($0) }
        XCTAssertEqual(bs.finish(), 0, bs.log)
        for n in nodes { XCTAssertEqual(n.finish(seconds: 30), 0, n.log) }
        for attacker in [plaintext, unknown, borrowed] { attacker.kill9() }

        let rows = try fleet.metrics(results)
        XCTAssertEqual(
            rows.filter { $0["node"] != "global" && $0["status"] == "ok" }.count, 6,
            "every real node delivered every round")
        let dropped = try RunSummary.read(directory: results).framesDroppedByReason
        XCTAssertGreaterThanOrEqual(dropped["failed handshake"] ?? 0, 1, "\(dropped)")
        XCTAssertGreaterThanOrEqual(dropped["unknown key"] ?? 0, 1, "\(dropped)")
        XCTAssertGreaterThanOrEqual(dropped["bad hello"] ?? 0, 1, "\(dropped)")
        XCTAssertTrue(bs.log.contains("refused a connection") && bs.log.contains("does not speak CURVE"), bs.log)
        XCTAssertTrue(bs.log.contains("key not on the allow-list"), bs.log)
        XCTAssertTrue(bs.log.contains("claims to be 'n1' but its key is 'n0'"), bs.log)
        XCTAssertFalse(borrowed.log.contains("registered as device"), borrowed.log)
    }

    /// Plaintext is explicit on both sides and logged as a warning; keys are made 0600, never
    /// replaced silently, and a secret key others can read is refused.
    func testPlaintextIsExplicitAndKeysAreGuarded() throws {
        let fleet = try ProcessFleet(in: try temporaryDirectory(self), rounds: 1)
        let bare = try runProduct(
            "edgenode",
            [
                "run", "--bs", "tcp://127.0.0.1:1", "--name", "n0", "--model", fleet.model, "--profile",
                fleet.profiles[0],
            ])
        XCTAssertNotEqual(bare.status, 0)
        XCTAssertTrue(bare.stderr.contains("--insecure"), bare.stderr)
        let noKeys = try runProduct(
            "basestation",
            [
                "serve", "--scenario", fleet.scenario, "--results", fleet.dir.appendingPathComponent("r").path,
                "--keys", fleet.dir.appendingPathComponent("none").path,
            ])
        XCTAssertEqual(noKeys.status, 1)
        XCTAssertTrue(noKeys.stderr.contains("basestation keys") && noKeys.stderr.contains("--insecure"), noKeys.stderr)
        let plain = try runProduct(
            "basestation",
            [
                "serve", "--scenario", fleet.scenario, "--results", fleet.dir.appendingPathComponent("p").path,
                "--insecure", "--set", "federation.register_timeout_s=0.5",
            ])
        XCTAssertTrue(plain.stderr.contains("warning") && plain.stderr.contains("plaintext"), plain.stderr)

        let secret = fleet.keys + "/nodes/n0.key"
        var st = stat()
        XCTAssertEqual(stat(secret, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        let again = try runProduct("edgenode", ["keys", "--name", "n0", "--dir", fleet.keys + "/nodes"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("exists"), again.stderr)
        chmod(secret, 0o644)
        XCTAssertThrowsError(try CurveKeyFile.readSecret(secret)) {
            XCTAssertTrue("\($0)".contains("chmod 600"), "\($0)")
        }
        XCTAssertThrowsError(try NodeAllowList(contentsOf: fleet.keys + "/nodes/n0.pub")) {
            XCTAssertTrue("\($0)".contains("line 1"), "\($0)")
        }
        let list = try NodeAllowList(contentsOf: fleet.keys + "/allowed-nodes")
        XCTAssertEqual(Set(list.names.values), ["n0", "n1"])
    }
}
