import Foundation
import Wire
import XCTest

@testable import BaseStation

/// Deadlines and timeouts on a `ManualClock`: the base station's empty receives move it on by the
/// network's receive timeout, so a test of a 20 s or 30 s wait takes no such wait and says when, on
/// the base station's own clock, each wait ended.
final class VirtualTimeTests: XCTestCase {
    let pi4 = InMemoryFleet.profile("raspberry-pi-4")
    /// One empty receive's step of the clock (`InMemoryNetwork`'s receive timeout), plus rounding.
    let step = 0.05 + 1e-6

    /// No node says hello: the run ends at the registration deadline, 20 s on the clock, and says so.
    func testRegistrationEndsAtItsDeadline() throws {
        let clock = ManualClock()
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4)], rounds: 1, registerTimeoutS: 20,
            virtualClock: clock)
        let began = clock.nanoseconds
        let wall = Date()
        XCTAssertThrowsError(try fleet.server.run()) {
            XCTAssertTrue("\($0)".contains("no node registered within 20"), "\($0)")
        }
        XCTAssertEqual(clock.seconds(since: began), 20, accuracy: step)
        XCTAssertLessThan(Date().timeIntervalSince(wall), 20, "the wait was the clock's, not the machine's")
    }

    /// A node registers and falls silent: round 1 waits out the round timeout, 30 s on the clock to
    /// within one receive, and leaves it out; round 2 has no one to ask and waits for nothing; the
    /// run fails, naming the rounds no node delivered to.
    func testASilentNodeCostsExactlyOneRoundTimeout() throws {
        let clock = ManualClock()
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("mute", pi4)], rounds: 2, roundTimeoutS: 30,
            virtualClock: clock)
        // Queued before the base station runs, so its first receive finds it.
        try ScriptedNode("mute", on: fleet.network).sayHello()
        XCTAssertThrowsError(try fleet.server.run()) {
            XCTAssertTrue("\($0)".contains("no node delivered an update in rounds 1–2 of 2"), "\($0)")
        }
        let global = try fleet.metrics().filter { $0["node"] == "global" && $0["round"] != "0" }
        let wall = global.map { Double($0["wall_s"] ?? "") ?? .nan }
        XCTAssertEqual(wall.count, 2)
        XCTAssertEqual(wall[0], 30, accuracy: step, "round 1 waited out its 30 s for the silent node's report")
        XCTAssertLessThanOrEqual(wall[1], step, "round 2 asked no one: the silent node was left out")
        XCTAssertEqual(global.map { $0["status"] }, ["no-updates", "no-updates"])
        XCTAssertFalse(fleet.server.nodes[0].active)
    }
}
