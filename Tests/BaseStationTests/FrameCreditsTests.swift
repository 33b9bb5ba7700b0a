import Foundation
import Randomness
import Wire
import XCTest

@testable import BaseStation
@testable import EdgeNode

/// The stress round's window (`FrameCredits`) and the nodes that keep to it or do not.
final class FrameCreditsTests: XCTestCase {
    /// Nodes that each send their frames when they hold credit, taken in in a random order and
    /// held a while before they are done with (as the receiver holds frames to batch them), all
    /// of them at once when none is on its way: every frame goes (no deadlock, also at the
    /// round's end), and at no time are more than the pool granted and not done with, for K
    /// below, at and above the pool and blocks of 1 to the pool.
    func testEveryFrameGoesAndNoMoreThanThePoolAreEverInFlight() {
        var g = SeededGenerator(seed: 5, stream: [1])
        for (k, pool, block, frames) in [
            (1, 32, 4, 100), (4, 32, 4, 37), (16, 32, 4, 20), (64, 32, 4, 9), (5, 3, 1, 11), (3, 8, 8, 6),
        ] {
            var credits = FrameCredits(pool: pool, block: block, nodes: Array(0..<k))
            var held = (0..<k).map { credits.window(of: $0) }
            var left = Array(repeating: frames, count: k)
            var wire: [Int] = []
            var ended = Set<Int>()
            var receiverHolds = 0
            XCTAssertEqual(held.reduce(0, +), pool)
            func take(_ grants: [(node: Int, frames: Int)]) { for (n, f) in grants { held[n] += f } }
            while ended.count < k {
                // Nodes send what their credit allows; a node with nothing left ends.
                for j in 0..<k where !ended.contains(j) {
                    while held[j] > 0, left[j] > 0 {
                        held[j] -= 1
                        left[j] -= 1
                        wire.append(j)
                    }
                    if left[j] == 0, !wire.contains(j) {
                        ended.insert(j)
                        take(credits.ended(j))
                    }
                }
                XCTAssertLessThanOrEqual(credits.inFlight + credits.held, pool)
                XCTAssertEqual(credits.held, receiverHolds)
                if credits.inFlight == 0, receiverHolds > 0 {
                    take(credits.released(receiverHolds))
                    receiverHolds = 0
                    continue
                }
                guard !wire.isEmpty else {
                    XCTAssertEqual(ended.count, k, "stuck: K \(k), pool \(pool), left \(left)")
                    break
                }
                let j = wire.remove(at: Int(g.next() % UInt64(wire.count)))
                XCTAssertTrue(credits.arrived(from: j))
                receiverHolds += 1
                // The receiver hands a random number of the frames it holds to the workers.
                let done = Int(g.next() % UInt64(receiverHolds + 1))
                receiverHolds -= done
                take(credits.released(done))
            }
            XCTAssertEqual(left, Array(repeating: 0, count: k), "K \(k), pool \(pool)")
        }
    }

    /// A frame from a node with no credit is not accepted and changes nothing.
    func testAFrameBeyondTheWindowIsRefused() {
        var credits = FrameCredits(pool: 2, block: 1, nodes: [0, 1, 2])
        XCTAssertEqual([0, 1, 2].map(credits.window(of:)), [1, 1, 0])
        XCTAssertFalse(credits.arrived(from: 2))
        XCTAssertFalse(credits.arrived(from: 7))
        XCTAssertEqual(credits.inFlight, 2)
        XCTAssertTrue(credits.arrived(from: 0))
        XCTAssertFalse(credits.arrived(from: 0))
        // Its credit comes back when the frame is done with, not when it arrives.
        XCTAssertEqual(credits.held, 1)
        XCTAssertEqual(credits.released(1).map(\.node), [2])
        XCTAssertEqual(credits.held, 0)
    }

    /// A node's window: grants of its round add to it, late grants of another round are skipped
    /// (malformed ones never pass the ingress), any other frame ends the wait, and no window means
    /// no wait.
    func testTheNodesWindowTakesGrantsOfItsRoundOnly() throws {
        let order = Transmit(
            mode: .aircomp, scale: 1, subcarriers: 1, streams: 1, antennas: 1, precoders: [1, 0], sampleFormat: .cf32,
            window: 1)
        var window = TransmitWindow(round: 3, order: order)
        let far = Date(timeIntervalSinceNow: 30)
        XCTAssertEqual(window.take(until: far) { nil }, .mayGo)
        var inbox = [Grant(frames: 5).frame(round: 2, node: 0), Grant(frames: 2).frame(round: 3, node: 0)].map(heard)
        XCTAssertEqual(window.take(until: far) { inbox.isEmpty ? nil : inbox.removeFirst() }, .mayGo)
        XCTAssertEqual(window.credit, 1)
        XCTAssertEqual(window.take(until: far) { nil }, .mayGo)
        // A grant that does not decode never reaches the window: the ingress refuses it as malformed.
        guard
            case .failure(let refusal) = Inbound.decode(
                Frame(type: .grant, round: 3, node: 0, payload: Data([0])).encoded())
        else { return XCTFail("a one-byte grant decoded") }
        XCTAssertEqual(refusal.reason, .malformed)
        XCTAssertEqual(refusal.header?.round, 3)
        let shutdown = heard(Shutdown(.runOver, reason: "over").frame(round: 0, node: 0))
        XCTAssertEqual(window.take(until: far) { shutdown }, .interrupted(shutdown))
        XCTAssertEqual(window.take(until: Date(timeIntervalSinceNow: 0.05)) { nil }, .timedOut)
        // A grant of Int.max (a hostile base station) is clamped, not trusted: 0 + Int.max cannot overflow, and the
        // credit stays ≤ Int32.max.
        var greedy = TransmitWindow(round: 3, order: order)
        XCTAssertEqual(greedy.take(until: far) { nil }, .mayGo)
        XCTAssertEqual(greedy.take(until: far) { heard(Grant(frames: .max).frame(round: 3, node: 0)) }, .mayGo)
        XCTAssertEqual(greedy.credit, Int(Int32.max) - 1)
        var open = TransmitWindow(
            round: 3,
            order: Transmit(mode: .aircomp, scale: 1, subcarriers: 1, streams: 1, antennas: 1, precoders: [1, 0]))
        for _ in 0..<100 { XCTAssertEqual(open.take(until: far) { nil }, .mayGo) }
    }

    /// A stress base station (in memory) with a window of 2 frames: a flood node keeps to it and
    /// loses nothing; a node that sends its whole transmission at once has what lies beyond its
    /// credit dropped under "beyond its window", and the rounds still complete. Its one frame whose
    /// header names the other device is dropped as serve drops it ("wrong node field").
    func testANodeThatIgnoresItsWindowHasTheExcessDropped() throws {
        let network = InMemoryNetwork()
        let settings = StressSettings(
            nodes: 2, rxAntennas: 4, txAntennas: 2, streams: 2, subcarriers: 4, roundSymbols: 8, format: .cf32,
            seconds: 1,
            threads: 2, queueDepth: 4, windowFrames: 2, noisePowerW: 0.01, registerTimeoutS: 20, roundTimeoutS: 20,
            seed: 3)
        let server = StressServer(settings: settings, transport: network.server(), log: CollectedLog().logger())
        let honest = FloodNode(
            name: "honest", transport: network.connect("honest"), frameSymbols: 1, format: .cf32,
            deadline: Date(timeIntervalSinceNow: 30), seed: 1)
        let liar = network.connect("liar")
        let done = DispatchGroup()
        let failures = Failures()
        DispatchQueue.global().async(group: done) { do { try honest.run() } catch { failures.add("honest: \(error)") } }
        DispatchQueue.global().async(group: done) {
            do {
                try liar.send(
                    Hello(
                        name: "liar", profile: "x", txPowerW: 1, antennas: 2, dacBits: 16, sustainedGFLOPS: 1,
                        flopBudgetPerRound: 0,
                        joulesPerGFLOP: 0, ramBytes: 0
                    ).frame(round: 0, node: 0).encoded())
                let samples = [Float](repeating: 0.1, count: 2 * 4 * 2)
                var index: UInt32 = 0
                var impersonated = false
                while true {
                    guard let data = try liar.receive() else { continue }
                    let f = try Frame(decoding: data)
                    switch f.type {
                    case .welcome: index = UInt32(try Welcome(frame: f).index)
                    case .syntheticRound:
                        try liar.send(
                            UpdateReady(
                                loss: 0, steps: 1, tokens: 0, flops: 0, computeSeconds: 0, energyJ: 0, updateEnergy: 1,
                                reals: settings.reals
                            ).frame(round: f.round, node: index).encoded())
                    case .transmit:
                        if !impersonated {
                            // Once, a frame whose header names the other device: serve's check, run by stress too.
                            impersonated = true
                            try liar.send(
                                Frame.symbols(
                                    round: f.round, node: 1 - index, firstSymbol: 0, symbolCount: 1, subcarriers: 4,
                                    antennas: 2, samples: samples[...], format: .cf32
                                ).encoded())
                        }
                        for t in 0..<8 {
                            try liar.send(
                                Frame.symbols(
                                    round: f.round, node: index, firstSymbol: UInt32(t), symbolCount: 1,
                                    subcarriers: 4,
                                    antennas: 2,
                                    samples: samples[...], format: .cf32
                                ).encoded())
                        }
                        try liar.send(
                            RoundEnd(frames: 8, ofdmSymbols: 8).frame(round: f.round, node: index).encoded())
                    case .shutdown: return
                    default: continue
                    }
                }
            } catch { failures.add("liar: \(error)") }
        }
        try server.run()
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(failures.all, [])
        XCTAssertGreaterThan(server.tally.rounds, 0)
        XCTAssertGreaterThan(server.tally.dropped["beyond its window"] ?? 0, 0, "\(server.tally.dropped)")
        XCTAssertEqual(server.tally.dropped["wrong node field"], 1, "\(server.tally.dropped)")
        XCTAssertEqual(Set(server.tally.dropped.keys), ["beyond its window", "wrong node field"])
        XCTAssertGreaterThanOrEqual(
            honest.tally.rounds, server.tally.rounds - 1, "the honest node's transmissions went whole")
        XCTAssertEqual(server.tally.incompleteRounds, 0)
    }
}

/// Failures from the nodes' threads.
private final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ s: String) {
        lock.lock()
        list.append(s)
        lock.unlock()
    }
    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return list
    }
}

/// A stress base station whose sends to some nodes fail (a node vanished, or its queue is full).
final class StressUnreachableNodeTests: XCTestCase {
    /// Three flood nodes; the transmit order to "a" cannot be handed over, nor later the first
    /// grant to "b". The run neither ends nor waits for them: each is left out (once), its credit
    /// goes to the others, and "c"'s rounds go on to the end, well before any round's deadline.
    func testANodeThatCannotBeReachedIsLeftOutAndTheRunGoesOn() throws {
        let network = InMemoryNetwork()
        let settings = StressSettings(
            nodes: 3, rxAntennas: 4, txAntennas: 2, streams: 2, subcarriers: 4, roundSymbols: 16, format: .cf32,
            seconds: 1,
            threads: 2, queueDepth: 4, windowFrames: 8, noisePowerW: 0.01, registerTimeoutS: 20, roundTimeoutS: 30,
            seed: 3)
        let failing = FailingSends(network.server()) { peer, type, count in
            (peer == "a" && type == .transmit) || (peer == "b" && type == .grant && count == 0)
        }
        let lines = CollectedLog()
        let server = StressServer(settings: settings, transport: failing, log: lines.logger())
        let nodes = ["a", "b", "c"].map {
            FloodNode(
                name: $0, transport: network.connect($0), frameSymbols: 1, format: .cf32,
                deadline: Date(timeIntervalSinceNow: 40), seed: 1)
        }
        let done = DispatchGroup()
        let failures = Failures()
        for node in nodes {
            DispatchQueue.global().async(group: done) {
                do { try node.run() } catch { failures.add("\(node.name): \(error)") }
            }
        }
        let began = Date()
        try server.run()
        XCTAssertLessThan(Date().timeIntervalSince(began), 15, "no round waited for its deadline")
        XCTAssertEqual(
            done.wait(timeout: .now() + 30), .success, "the run's shutdown ended every node, the left-out ones too")
        XCTAssertEqual(failures.all, [])
        XCTAssertEqual(server.tally.nodesLeftOut, 2)
        XCTAssertEqual(server.tally.sendsFailed, ["transmit": 1, "grant": 1])
        XCTAssertEqual(server.ingress.nodes.filter(\.active).map(\.name), ["c"])
        XCTAssertGreaterThan(server.tally.rounds, 2)
        XCTAssertEqual(
            server.tally.incompleteRounds, server.tally.rounds, "a round without a node's transmission is not complete")
        XCTAssertGreaterThanOrEqual(nodes[2].tally.rounds, server.tally.rounds - 1, "c's transmissions went whole")
        XCTAssertEqual(lines.all.filter { $0.contains("leaving it out") }.count, 2, "\(lines.all)")
    }
}

/// A server transport whose sends fail where `fails(peer, frame type, sends of that type to that
/// peer so far)` says.
private final class FailingSends: ServerTransport {
    let inner: ServerTransport
    let fails: (String, FrameType, Int) -> Bool
    private var sent: [String: Int] = [:]
    var address: String { inner.address }

    init(_ inner: ServerTransport, fails: @escaping (String, FrameType, Int) -> Bool) {
        self.inner = inner
        self.fails = fails
    }

    func send(_ data: Data, to peer: String) throws {
        let type = try Frame(decoding: data).type
        let key = "\(peer) \(type)"
        defer { sent[key, default: 0] += 1 }
        if fails(peer, type, sent[key] ?? 0) { throw Unreachable(peer: peer) }
        try inner.send(data, to: peer)
    }

    func receive() throws -> (peer: String, data: Data)? { try inner.receive() }

    struct Unreachable: Error { var peer: String }
}

/// `frame` as a node's ingress hands it on.
private func heard(_ frame: Frame) -> Inbound { try! Inbound.decode(frame.encoded()).get() }
