import Wire
import XCTest

@testable import BaseStation

/// The registry records, the server decides: a hello is taken only under its own name, a node
/// left out stays out until it registers again, and unknown names are answered once each, up to
/// the cap.
final class NodeRegistryTests: XCTestCase {
    func registry() throws -> NodeRegistry { NodeRegistry(names: ["a", "b"]) }

    func hello(_ name: String) -> Hello {
        Hello(
            name: name, profile: "scripted", txPowerW: 0.2, antennas: 1, dacBits: 12, sustainedGFLOPS: 10,
            flopBudgetPerRound: 1e12, joulesPerGFLOP: 1, ramBytes: 1e9)
    }

    func testAHelloIsTakenOnlyUnderItsOwnName() throws {
        var r = try registry()
        XCTAssertEqual(r.index(of: "b"), 1)
        XCTAssertNil(r.index(of: "mallory"))
        XCTAssertThrowsError(try r.check(hello("a"), from: 1, secure: true)) {
            XCTAssertEqual("\($0)", "it claims to be 'a' but its key is 'b'; refused")
        }
        XCTAssertThrowsError(try r.check(hello("a"), from: 1, secure: false)) {
            XCTAssertTrue("\($0)".contains("it connected as 'b'"), "\($0)")
        }
        try r.check(hello("b"), from: 1, secure: true)
        r.admit(1, hello: hello("b"))
        r.admit(1, hello: hello("b"))
        XCTAssertEqual(r.nodes[1].registrations, 2)
        XCTAssertEqual(r.activeCount, 1)
        r.leaveOut(1)
        XCTAssertFalse(r.nodes[1].active)
        XCTAssertEqual(r.nodes[1].registrations, 2, "leaving out is no deregistration")
    }

    func testEachStrangerIsAnsweredOnceUpToTheCap() throws {
        var r = try registry()
        XCTAssertTrue(r.firstWord(toStranger: "x"))
        XCTAssertFalse(r.firstWord(toStranger: "x"))
        let answered = (0..<2 * NodeRegistry.strangersAnswered).filter { r.firstWord(toStranger: "s\($0)") }.count
        XCTAssertEqual(answered, NodeRegistry.strangersAnswered - 1, "the cap counts x too")
    }

    func testFirstComersAreSeatedInOrderAndKeepTheirSeats() {
        var r = NodeRegistry(seats: 2)
        XCTAssertNil(r.index(of: "x"), "no seat before a hello")
        XCTAssertEqual(r.seat(for: "x"), 0)
        XCTAssertEqual(r.seat(for: "y"), 1)
        XCTAssertNil(r.seat(for: "z"), "two seats, two peers")
        XCTAssertEqual(r.seat(for: "x"), 0)
        XCTAssertEqual(r.index(of: "y"), 1)
        XCTAssertNoThrow(try r.check(hello("anyone"), from: 0, secure: true), "first comers' names are their peers'")
        var named = NodeRegistry(names: ["a"])
        XCTAssertNil(named.seat(for: "x"), "a scenario seats only its own nodes")
    }
}
