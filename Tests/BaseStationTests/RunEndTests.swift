import Foundation
import Wire
import XCTest

@testable import BaseStation

/// The run's end: the shutdown, then the nodes' farewells. The base station stays until every
/// active node has said farewell (or min(round_timeout_s, 10 s) passes), so its exit cannot reset a
/// connection whose shutdown is still in flight; meanwhile a hello is answered with the shutdown.
final class RunEndTests: XCTestCase {
    let pi4 = InMemoryFleet.profile("raspberry-pi-4"), pi5 = InMemoryFleet.profile("raspberry-pi-5")

    func testAHelloAfterTheRunIsToldItIsOverAndASilentNodeHoldsTheExitOnlyBriefly() throws {
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("late", pi5), ("mum", pi5)], rounds: 1,
            roundTimeoutS: 3)
        try fleet.startFirmware("a", profile: pi4)
        let late = ScriptedNode("late", on: fleet.network)
        let mum = ScriptedNode("mum", on: fleet.network)
        late.saysFarewell = false
        mum.saysFarewell = false
        nonisolated(unsafe) var answer: Frame?
        fleet.start {
            try late.register()
            try late.serveHonestly()
            // As a node whose shutdown was lost: it says hello again.
            try late.send(
                Hello(
                    name: "late", profile: "scripted", txPowerW: 0.2, antennas: 1, dacBits: 12, sustainedGFLOPS: 10,
                    flopBudgetPerRound: 1e12,
                    joulesPerGFLOP: 1, ramBytes: 1e9
                ).frame(round: 0, node: 0))
            late.saysFarewell = true
            answer = try late.next(.shutdown, within: 10)
        }
        fleet.start {
            try mum.register()
            try mum.serveHonestly()
        }
        _ = try fleet.run()

        let shutdown = try Shutdown(
            frame: try XCTUnwrap(answer, "the hello after the run was not answered with a shutdown"))
        XCTAssertEqual(shutdown.kind, .runOver)
        XCTAssertEqual(try XCTUnwrap(answer).node, 1, "addressed to the node's device index")
        XCTAssertEqual(fleet.server.nodes[1].registrations, 1, "a hello after the run is not a registration")
        XCTAssertEqual(fleet.server.awaitingFarewell, [2], "the farewells of a and late came; mum's never did")
        XCTAssertEqual(
            try fleet.metrics().filter { $0["round"] == "1" }.map { $0["status"]! }, ["ok", "ok", "ok", "ok"])
    }
}
