import Foundation
import Wire
import XCTest

@testable import BaseStation

/// The one ingress of `serve` and `stress`: every message decoded once, its sender checked
/// against the registry and the transport, and anything else named by its `DropReason`.
final class NodeIngressTests: XCTestCase {
    func hello(_ name: String) -> Frame {
        Hello(
            name: name, profile: "scripted", txPowerW: 0.2, antennas: 1, dacBits: 12, sustainedGFLOPS: 10,
            flopBudgetPerRound: 1e12, joulesPerGFLOP: 1, ramBytes: 1e9
        ).frame(round: 0, node: 0)
    }

    func ingress(_ registry: NodeRegistry, _ transport: ScriptedServerTransport) -> NodeIngress {
        NodeIngress(
            transport: transport, registry: registry, metrics: LiveMetrics(), clock: ManualClock(),
            log: CollectedLog().logger(),
            welcome: {
                Welcome(
                    index: $0, devices: 2, seed: 1, data: "synthetic", partition: "iid", dirichletAlpha: 1,
                    heldOutFraction: 0.1, context: 1, batch: 1, optimizer: "sgd", learningRate: 0, clipNorm: 0,
                    weightDecay: 0)
            })
    }

    func testEachMessageIsDecodedOnceAndItsSenderChecked() throws {
        let transport = ScriptedServerTransport()
        let ingress = ingress(NodeRegistry(names: ["a", "b"]), transport)
        func arrival(_ frame: Frame, from peer: String) -> NodeIngress.Arrival {
            ingress.classify(Inbound.decode(frame.encoded()), from: peer)
        }
        let report = UpdateReady(
            loss: 1, steps: 1, tokens: 1, flops: 1, computeSeconds: 1, energyJ: 1, updateEnergy: 1, reals: 4)
        guard case .fromNode(1, let inbound) = arrival(report.frame(round: 2, node: 1), from: "b") else {
            return XCTFail("b's report is not b's")
        }
        XCTAssertEqual(inbound.message, .updateReady(report))
        guard case .dropped(.wrongNodeField, _) = arrival(report.frame(round: 2, node: 0), from: "b") else {
            return XCTFail("a header naming another device passed")
        }
        guard case .stranger("mallory") = arrival(report.frame(round: 2, node: 0), from: "mallory") else {
            return XCTFail("an unknown peer passed")
        }
        guard case .hello(0, _) = arrival(hello("a"), from: "a") else { return XCTFail("a's hello is not a's") }
        guard case .stranger = arrival(hello("c"), from: "c") else { return XCTFail("a scenario has no seat for c") }
        var torn = report.frame(round: 2, node: 1).encoded()
        torn[torn.count - 1] ^= 1
        guard case .dropped(.badCRC, _) = ingress.classify(Inbound.decode(torn), from: "b") else {
            return XCTFail("a torn frame passed")
        }
        guard
            case .dropped(.badHello, _) = arrival(
                Frame(type: .hello, round: 0, node: 0, payload: Data([1, 2, 3])), from: "a")
        else { return XCTFail("a hello that does not decode passed") }
        transport.onAdoptedConnection = false
        guard case .dropped(.notTheRegisteredConnection, _) = arrival(report.frame(round: 2, node: 1), from: "b") else {
            return XCTFail("a frame over another connection than b's passed")
        }
    }

    /// Stress's registry: the first K peers take the seats, whatever they call themselves; the
    /// K+1-th is refused (once) and counted, a seated peer's second hello keeps its seat.
    func testFirstComersTakeTheSeatsAndTheRestAreRefused() throws {
        let transport = ScriptedServerTransport()
        let ingress = ingress(NodeRegistry(seats: 2), transport)
        transport.inbox = [
            ("x", hello("whoever")), ("y", hello("y")), ("z", hello("z")), ("z", hello("z")), ("x", hello("x")),
        ]
        .map { ($0, $1.encoded()) }
        try ingress.pump(for: 1, { _, _ in XCTFail("no message but hellos") }, done: { transport.inbox.isEmpty })
        XCTAssertEqual(ingress.nodes.map(\.name), ["x", "y"])
        XCTAssertEqual(ingress.nodes.map(\.registrations), [2, 1])
        XCTAssertEqual(ingress.metrics.snapshot.dropped, ["hello beyond the K nodes": 2])
        let refusals = transport.sent.filter { $0.peer == "z" }
        XCTAssertEqual(refusals.count, 1, "z is told once")
        XCTAssertEqual(try Shutdown(frame: Frame(decoding: refusals[0].data)).kind, .refused)
        XCTAssertEqual(
            transport.sent.filter { $0.peer == "x" }.map { try! Frame(decoding: $0.data).type }, [.welcome, .welcome])
    }

    /// A key holder's hello flood is answered, but logged once per 10 s (the count with the next
    /// line); so are the frames of a peer that are dropped over and over.
    func testAFloodOfHellosOrBadFramesIsLoggedOncePerInterval() throws {
        let transport = ScriptedServerTransport()
        let lines = CollectedLog()
        let clock = ManualClock()
        let ingress = NodeIngress(
            transport: transport, registry: NodeRegistry(names: ["a"]), metrics: LiveMetrics(), clock: clock,
            log: lines.logger(),
            welcome: {
                Welcome(
                    index: $0, devices: 1, seed: 1, data: "synthetic", partition: "iid", dirichletAlpha: 1,
                    heldOutFraction: 0.1, context: 1, batch: 1, optimizer: "sgd", learningRate: 0, clipNorm: 0,
                    weightDecay: 0)
            })
        transport.inbox =
            Array(repeating: ("a", hello("a").encoded()), count: 2000)
            + Array(repeating: ("a", Data([1, 2, 3])), count: 500)
        try ingress.pump(for: 1, { _, _ in }, done: { transport.inbox.isEmpty })
        XCTAssertEqual(ingress.nodes[0].registrations, 2000, "every hello is still answered")
        XCTAssertEqual(lines.all.count, 2, "\(lines.all.prefix(5))")
        clock.advance(by: 10)
        transport.inbox = [("a", hello("a").encoded())]
        try ingress.pump(for: 1, { _, _ in }, done: { transport.inbox.isEmpty })
        XCTAssertTrue(lines.all.last!.contains("and 1999 more like it"), "\(lines.all)")
    }

    /// A send that cannot be handed over is counted by type and leaves its node out, logged once.
    func testASendThatFailsLeavesItsNodeOut() throws {
        let transport = ScriptedServerTransport()
        let ingress = ingress(NodeRegistry(seats: 1), transport)
        transport.inbox = [("x", hello("x").encoded())]
        try ingress.pump(for: 1, { _, _ in }, done: { transport.inbox.isEmpty })
        XCTAssertTrue(ingress.nodes[0].active)
        transport.failSends = true
        XCTAssertFalse(ingress.send(Grant(frames: 1).frame(round: 1, node: 0), to: 0))
        XCTAssertFalse(ingress.send(Grant(frames: 1).frame(round: 1, node: 0), to: 0))
        XCTAssertFalse(ingress.nodes[0].active)
        XCTAssertEqual(ingress.sendsFailed, [.grant: 2])
        XCTAssertEqual(ingress.nodesLeftOut, 1)
    }
}

/// A server transport that hands out a script of messages and keeps what is sent.
final class ScriptedServerTransport: ServerTransport {
    var inbox: [(peer: String, data: Data)] = []
    private(set) var sent: [(peer: String, data: Data)] = []
    var onAdoptedConnection = true
    var failSends = false
    var address: String { "scripted" }
    var lastReceivedOnAdoptedConnection: Bool { onAdoptedConnection }

    func send(_ data: Data, to peer: String) throws {
        if failSends { throw CocoaError(.fileWriteUnknown) }
        sent.append((peer, data))
    }

    func receive() throws -> (peer: String, data: Data)? { inbox.isEmpty ? nil : inbox.removeFirst() }
}
