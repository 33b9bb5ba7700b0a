import Foundation
import HardwareProfiles
import LanguageModel
import Logging
import Wire
import XCTest

@testable import EdgeNode

/// The firmware's state machine against a base station played by the test, in memory.
final class FirmwareTests: XCTestCase {
    var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// A firmware on its own thread, the base station's end, and the firmware's exit when it stops.
    func boot(vanishAtRound: Int? = nil, failed: @escaping @Sendable (Error) -> Void = { XCTFail("firmware: \($0)") })
        throws
        -> (bs: ServerTransport, model: String, exit: () -> EdgeFirmware.Exit?)
    {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("tiny.gguf").path
        try TinyModelSpec().write(to: model)
        let network = InMemoryNetwork()
        var log = Logger(label: "test.fw")
        log.logLevel = .warning
        let firmware = try EdgeFirmware(
            transport: network.connect("n0"), name: "n0",
            profile: try HardwareProfile.load(repository.appendingPathComponent("hwprofiles/raspberry-pi-4.toml").path),
            modelPath: model, watchdog: Watchdog(timeout: 600, expire: { s, _ in XCTFail("watchdog in \(s)") }),
            bsTimeoutS: 30, realtimeScale: nil, frameSymbols: 8, vanishAtRound: vanishAtRound, log: log)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var exit: EdgeFirmware.Exit?
        Thread {
            do { exit = try firmware.run() } catch { failed(error) }
            done.signal()
        }.start()
        return (network.server(), model, { done.wait(timeout: .now() + 30) == .success ? exit : nil })
    }

    func next(_ bs: ServerTransport, _ type: FrameType) throws -> Frame {
        let deadline = Date(timeIntervalSinceNow: 30)
        while Date() < deadline {
            guard let (_, data) = try bs.receive() else { continue }
            let f = try Frame(decoding: data)
            if f.type == type { return f }
        }
        throw FrameError(offset: 0, problem: "no \(type) frame from the firmware within 30 s")
    }

    let welcome = Welcome(
        index: 0, devices: 1, seed: 1, data: "fortunes:science", partition: "category", dirichletAlpha: 0.5,
        heldOutFraction: 0.1, context: 32, batch: 1, optimizer: "adamw", learningRate: 1e-2, clipNorm: 1, weightDecay: 0
    )

    /// A transmit order with a window of 1: one symbols frame goes, then nothing until a grant;
    /// a grant of 2 lets two more go; a shutdown while the firmware waits for the next grant ends
    /// the transmission, and the firmware leaves with a farewell.
    func testAWindowedTransmissionWaitsForGrantsAndAShutdownEndsIt() throws {
        let (bs, model, exit) = try boot()
        _ = try next(bs, .hello)
        try bs.send(welcome.frame(round: 0, node: 0).encoded(), to: "n0")
        let adapter = LoRAAdapter(
            config: try LlamaConfig(gguf: try GGUFFile(path: model)), rank: 2, alpha: 4, targets: [.q, .v], seed: 1)
        try bs.send(
            RoundStart(rank: 2, alpha: 4, targets: ["attn_q", "attn_v"], localSteps: 1, adapter: adapter.flattened())
                .frame(
                    round: 1, node: 0
                ).encoded(), to: "n0")
        _ = try next(bs, .updateReady)
        XCTAssertGreaterThan(adapter.parameterCount, 4 * 64, "the transmission must need more than three frames")
        try bs.send(
            Transmit(mode: .ideal, scale: 0.01, subcarriers: 4, streams: 1, antennas: 1, precoders: [], window: 1)
                .frame(round: 1, node: 0).encoded(), to: "n0")
        func symbolsWithin(_ seconds: Double) throws -> Int {
            var n = 0
            let deadline = Date(timeIntervalSinceNow: seconds)
            while Date() < deadline {
                guard let (_, data) = try bs.receive() else { continue }
                let f = try Frame(decoding: data)
                XCTAssertNotEqual(f.type, .roundEnd, "the transmission ended without its grants")
                if f.type == .symbols { n += 1 }
            }
            return n
        }
        XCTAssertEqual(try symbolsWithin(1), 1)
        try bs.send(Grant(frames: 5).frame(round: 0, node: 0).encoded(), to: "n0") // another round's: no credit
        XCTAssertEqual(try symbolsWithin(0.5), 0)
        try bs.send(Grant(frames: 2).frame(round: 1, node: 0).encoded(), to: "n0")
        XCTAssertEqual(try symbolsWithin(1), 2)
        try bs.send(Shutdown(.runOver, reason: "over").frame(round: 0, node: 0).encoded(), to: "n0")
        _ = try next(bs, .farewell)
        XCTAssertEqual(exit(), .shutdown("over"))
    }

    /// boot → register → wait → train → wait → modulate → transmit → wait → halted, with the
    /// frames each state owes the base station; a malformed round start costs only its round.
    func testOneRoundThroughEveryState() throws {
        let (bs, model, exit) = try boot()
        XCTAssertEqual(try Hello(frame: try next(bs, .hello)).name, "n0")
        try bs.send(welcome.frame(round: 0, node: 0).encoded(), to: "n0")
        let adapter = LoRAAdapter(
            config: try LlamaConfig(gguf: try GGUFFile(path: model)), rank: 2, alpha: 4, targets: [.q, .v], seed: 1)
        let start = RoundStart(
            rank: 2, alpha: 4, targets: ["attn_q", "attn_v"], localSteps: 2, adapter: adapter.flattened())
        try bs.send(start.frame(round: 1, node: 0).encoded(), to: "n0")
        let ready = try UpdateReady(frame: try next(bs, .updateReady))
        XCTAssertEqual(ready.steps, 2)
        XCTAssertEqual(ready.reals, adapter.parameterCount)
        XCTAssertTrue(ready.updateEnergy > 0 && ready.updateEnergy.isFinite && ready.loss.isFinite)

        try bs.send(
            Transmit(mode: .ideal, scale: 0.01, subcarriers: 4, streams: 1, antennas: 1, precoders: [])
                .frame(round: 1, node: 0).encoded(), to: "n0")
        var symbols = 0
        var reference = [Float]()
        while true {
            let (_, data) = try XCTUnwrap(try bs.receive())
            let f = try Frame(decoding: data)
            if f.type == .symbols { symbols += 1 }
            if f.type == .reference { reference += try UpdateReference(frame: f).values }
            if f.type == .roundEnd {
                XCTAssertEqual(try RoundEnd(frame: f).frames, symbols)
                break
            }
        }
        XCTAssertEqual(reference.count, adapter.parameterCount)
        XCTAssertEqual(
            reference.reduce(0) { $0 + Double($1) * Double($1) }, ready.updateEnergy,
            accuracy: 1e-9 * ready.updateEnergy)

        var broken = start.frame(round: 2, node: 0)
        broken.payload = broken.payload.prefix(5)
        try bs.send(broken.encoded(), to: "n0")
        XCTAssertEqual(
            try UpdateReady(frame: try next(bs, .updateReady)).steps, 0, "a malformed round start is sat out")
        try bs.send(Shutdown(.runOver, reason: "done").frame(round: 2, node: 0).encoded(), to: "n0")
        XCTAssertEqual(exit(), .shutdown("done"))
        let farewell = try next(bs, .farewell)
        XCTAssertEqual(
            [farewell.round, farewell.node], [2, 0], "the farewell answers the shutdown's round and device")
    }

    /// A node that registers after the run is over is answered with the shutdown: it leaves with a
    /// farewell. A refusal instead is the node's failure, named.
    func testAShutdownAnsweringHelloEndsCleanlyAndARefusalFails() throws {
        let (bs, _, exit) = try boot()
        _ = try next(bs, .hello)
        try bs.send(Shutdown(.runOver, reason: "run complete").frame(round: 5, node: 1).encoded(), to: "n0")
        XCTAssertEqual(exit(), .shutdown("run complete"))
        XCTAssertEqual(try next(bs, .farewell).node, 1)

        let failure = LockedBox<String>()
        let (refusing, _, refusedExit) = try boot(failed: { failure.set("\($0)") })
        _ = try next(refusing, .hello)
        try refusing.send(
            Shutdown(.refused, reason: "'n0' is not a node of this scenario").frame(round: 0, node: 0).encoded(),
            to: "n0")
        XCTAssertNil(refusedExit())
        XCTAssertEqual(failure.get(), "the base station refused n0: 'n0' is not a node of this scenario")
    }

    func testVanishingFirmwareStopsWithoutAWord() throws {
        let (bs, _, exit) = try boot(vanishAtRound: 1)
        _ = try next(bs, .hello)
        try bs.send(welcome.frame(round: 0, node: 0).encoded(), to: "n0")
        try bs.send(
            RoundStart(rank: 1, alpha: 1, targets: ["attn_q"], localSteps: 1, adapter: []).frame(round: 1, node: 0)
                .encoded(), to: "n0")
        XCTAssertEqual(exit(), .vanished)
        XCTAssertNil(try bs.receive(), "nothing after vanishing")
    }
}

/// A value set on the firmware's thread and read on the test's.
private final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T?
    func set(_ v: T) { lock.withLock { value = v } }
    func get() -> T? { lock.withLock { value } }
}
