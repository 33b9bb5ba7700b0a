import Foundation
import Wire
import XCTest

@testable import BaseStation

/// The straggler policy: a node that registers whenever asked and then never reports costs one
/// round timeout per backoff period (it sits out 1, 2, 4, … rounds after its 1st, 2nd, 3rd miss),
/// not one every other round; and a quorum holds back rounds with too few updates.
final class StragglerTests: XCTestCase {
    let pi4 = InMemoryFleet.profile("raspberry-pi-4")

    /// Says hello whenever asked to register (the base station asks the nodes it awaits every
    /// second, so it registers at the start too); never reports.
    func startMute(_ mute: ScriptedNode, on fleet: InMemoryFleet) {
        fleet.start {
            while true {
                guard let data = try mute.transport.receive() else { continue }
                let frame = try Frame(decoding: data)
                switch frame.type {
                case .registerAgain: try mute.sayHello()
                case .shutdown:
                    try mute.send(Farewell().frame(round: frame.round, node: frame.node))
                    return
                default: continue
                }
            }
        }
    }

    func testASilentNodeThatRejoinsIsBackedOffExponentially() throws {
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("mute", pi4)], rounds: 8, roundTimeoutS: 1)
        let honest = ScriptedNode("a", on: fleet.network)
        fleet.start {
            try honest.register()
            try honest.serveHonestly()
        }
        startMute(ScriptedNode("mute", on: fleet.network), on: fleet)
        _ = try fleet.run()
        let rows = try fleet.metrics().filter { $0["round"] != "0" }
        let mute = rows.filter { $0["node"] == "mute" }.map { $0["status"]! }
        // Misses in rounds 1, 3 and 6; it sits out 1, then 2, then 4 rounds (until round 11).
        XCTAssertEqual(
            mute, ["absent", "backed-off", "absent", "backed-off", "backed-off", "absent", "backed-off", "backed-off"])
        XCTAssertEqual(rows.filter { $0["node"] == "a" }.map { $0["status"]! }, Array(repeating: "ok", count: 8))
        let waited = rows.filter { $0["node"] == "global" }.map { Double($0["wall_s"]!)! }
        XCTAssertEqual(waited.indices.filter { waited[$0] >= 1 }, [0, 2, 5], "a round timeout in rounds 1, 3, 6 only")
    }

    /// The backoff is in the checkpoint: a base station killed after round 3 and resumed leaves the
    /// silent node out of the rounds an uninterrupted one does (without it, the resumed run would
    /// ask the node back in round 4 and wait out its timeout).
    func testAResumedRunKeepsTheBackoff() throws {
        func statuses(crashAfter crash: Int?) throws -> [String] {
            let fleet = try InMemoryFleet(
                in: try temporaryDirectory(self), nodes: [("a", pi4), ("mute", pi4)], rounds: 6, roundTimeoutS: 1)
            try fleet.startFirmware("a", profile: pi4)
            startMute(ScriptedNode("mute", on: fleet.network), on: fleet)
            if let crash {
                fleet.server.rounds.crashPoint = { $0 == crash && $1 == .checkpointed }
                XCTAssertThrowsError(try fleet.server.run()) { XCTAssertTrue($0 is SimulatedCrash, "\($0)") }
                try fleet.restartServer(start: .resume)
            }
            _ = try fleet.run()
            return try fleet.metrics().filter { $0["node"] == "mute" && $0["round"] != "0" }.map { $0["status"]! }
        }
        let whole = try statuses(crashAfter: nil)
        XCTAssertEqual(whole, ["absent", "backed-off", "absent", "backed-off", "backed-off", "absent"])
        XCTAssertEqual(try statuses(crashAfter: 3), whole)
    }

    /// With `quorum = 2` and one of two nodes silent, no round moves the model (`no-quorum`); the
    /// run fails as one in which no update was delivered to the last round.
    func testARoundBelowTheQuorumMovesNothing() throws {
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("mute", pi4)], rounds: 2, roundTimeoutS: 1,
            federationExtra: "quorum = 2")
        let honest = ScriptedNode("a", on: fleet.network)
        fleet.start {
            try honest.register()
            try honest.serveHonestly()
        }
        startMute(ScriptedNode("mute", on: fleet.network), on: fleet)
        let before = fleet.server.global.flattened()
        XCTAssertThrowsError(try fleet.run())
        let global = try fleet.metrics().filter { $0["node"] == "global" && $0["round"] != "0" }
        XCTAssertEqual(global.map { $0["status"]! }, ["no-quorum", "no-quorum"])
        XCTAssertEqual(fleet.server.global.flattened(), before)
    }
}
