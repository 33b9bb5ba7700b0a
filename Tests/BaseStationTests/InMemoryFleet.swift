import CommandLineSupport
import Foundation
import HardwareProfiles
import LanguageModel
import Logging
import Wire
import XCTest

@testable import BaseStation
@testable import EdgeNode

/// A base station and its nodes in one process over an `InMemoryNetwork`: the server runs on the
/// test's thread, each real firmware or scripted node on a thread of its own.
final class InMemoryFleet {
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }
    static func profile(_ name: String) -> String { repository.appendingPathComponent("hwprofiles/\(name).toml").path }

    let network: InMemoryNetwork
    /// The base station's clock: the machine's, or (virtual time) one its empty receives move on.
    let clock: MonotonicClock
    let directory: URL
    private(set) var server: FederationServer
    private let log: Logger
    private var threads = [Thread]()
    private let finished = DispatchGroup()

    /// A `FleetScenario` over the generated tiny model with `nodes` (name, profile path).
    init(
        in directory: URL, nodes: [(name: String, profile: String)], aggregation: String = "aircomp",
        beamforming: String = "manifold",
        rounds: Int = 2, roundTimeoutS: Double = 30, seed: Int = 3, federationExtra: String = "",
        aircompExtra: String = "", calibrationTokens: Int = 256, model spec: TinyModelSpec = TinyModelSpec(),
        registerTimeoutS: Double = 20, virtualClock: ManualClock? = nil
    ) throws {
        self.directory = directory
        network = InMemoryNetwork(virtualClock: virtualClock)
        clock = virtualClock ?? SystemClock.shared
        let model = directory.appendingPathComponent("tiny.gguf").path
        if !FileManager.default.fileExists(atPath: model) { try spec.write(to: model) }
        let toml = FleetScenario(
            seed: seed, model: model, rounds: rounds, rank: 2, localSteps: 2, batch: 1, ctx: 32,
            aggregation: aggregation,
            beamforming: beamforming, evalTokens: 256, registerTimeoutS: registerTimeoutS, roundTimeoutS: roundTimeoutS,
            nodes: nodes,
            federationExtra: federationExtra, aircompExtra: aircompExtra,
            calibrationTokens: calibrationTokens
        ).toml
        let path = directory.appendingPathComponent("fleet.toml").path
        try toml.write(toFile: path, atomically: true, encoding: .utf8)
        var log = Logger(label: "test.basestation")
        log.logLevel = .warning
        self.log = log
        server = try FederationServer(
            scenario: try Scenario.load(path), scenarioDirectory: directory.path,
            results: directory.appendingPathComponent("results").path, transport: network.server(), clock: clock,
            log: log)
    }

    /// A new base station on the same network and results (the old one is dropped as a killed
    /// process is): the nodes that outlived it carry on with it.
    func restartServer(start: RunStart) throws {
        let path = directory.appendingPathComponent("fleet.toml").path
        server = try FederationServer(
            scenario: try Scenario.load(path), scenarioDirectory: directory.path,
            results: directory.appendingPathComponent("results").path, transport: network.server(), start: start,
            clock: clock, log: log)
    }

    /// Starts the real firmware of node `name` on its own thread.
    func startFirmware(
        _ name: String, profile: String, vanishAtRound: Int? = nil, frameSymbols: Int = 16, memo: Memo? = nil
    ) throws {
        var log = Logger(label: "test.\(name)")
        log.logLevel = .warning
        let firmware = try EdgeFirmware(
            transport: network.connect(name), name: name, profile: try HardwareProfile.load(profile),
            modelPath: directory.appendingPathComponent("tiny.gguf").path,
            watchdog: Watchdog(timeout: 600, expire: { s, _ in XCTFail("watchdog expired in \(s)") }),
            bsTimeoutS: 60, realtimeScale: nil, frameSymbols: frameSymbols, vanishAtRound: vanishAtRound, memo: memo,
            log: log)
        start { _ = try firmware.run() }
    }

    /// Runs `body` on its own thread (a scripted peer); a thrown error fails the test.
    func start(_ body: @escaping () throws -> Void) {
        finished.enter()
        let thread = Thread { [finished] in
            do { try body() } catch { XCTFail("peer: \(error)") }
            finished.leave()
        }
        thread.start()
        threads.append(thread)
    }

    /// Runs the base station to the end; then waits for every peer to stop.
    func run() throws -> RunSummary {
        let summary = try server.run()
        XCTAssertEqual(finished.wait(timeout: .now() + 60), .success, "a peer did not stop after the run")
        return summary
    }

    /// metrics.csv as rows keyed by column.
    func metrics() throws -> [[String: String]] {
        let text = try String(
            contentsOfFile: directory.appendingPathComponent("results/metrics.csv").path, encoding: .utf8)
        let lines = text.split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
    }
}

/// A node played by the test: it speaks the protocol by hand, to misbehave on cue.
final class ScriptedNode {
    let name: String
    let transport: NodeTransport
    var index = 0
    /// Whether a shutdown is answered with a farewell, as a node does (false: one that never says it).
    var saysFarewell = true

    init(_ name: String, on network: InMemoryNetwork) {
        self.name = name
        transport = network.connect(name)
    }

    func send(_ frame: Frame) throws { try transport.send(frame.encoded()) }

    /// Hello, then the welcome (its index kept).
    func register() throws {
        try sayHello()
        index = try Welcome(frame: try XCTUnwrap(next(.welcome))).index
    }

    /// The hello alone (queued for the base station; the welcome is left unread).
    func sayHello() throws {
        try send(
            Hello(
                name: name, profile: "scripted", txPowerW: 0.2, antennas: 1, dacBits: 12, sustainedGFLOPS: 10,
                flopBudgetPerRound: 1e12,
                joulesPerGFLOP: 1, ramBytes: 1e9
            ).frame(round: 0, node: 0))
    }

    /// The next frame of `type` within `seconds` (others skipped); nil on a shutdown (answered with a
    /// farewell when `saysFarewell`) or silence.
    func next(_ type: FrameType, within seconds: Double = 60) throws -> Frame? {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            guard let data = try transport.receive() else { continue }
            let frame = try Frame(decoding: data)
            if frame.type == .shutdown {
                // As a node does: the base station waits for the farewell before it exits.
                if saysFarewell { try send(Farewell().frame(round: frame.round, node: frame.node)) }
                return type == .shutdown ? frame : nil
            }
            if frame.type == type { return frame }
        }
        return nil
    }

    /// Reports an update of the round's size with energy `energy` (default: its true ‖Δ‖²).
    func report(_ round: UInt32, update: [Float], energy: Double? = nil) throws {
        let e = energy ?? update.reduce(0) { $0 + Double($1) * Double($1) }
        try send(
            UpdateReady(
                loss: 3, steps: 1, tokens: 32, flops: 1e6, computeSeconds: 0.1, energyJ: 0.1, updateEnergy: e,
                reals: update.count
            )
            .frame(round: round, node: UInt32(index)))
    }

    /// Sends the frames the real modulator makes for `update` under `order`, through `edit`.
    func transmit(_ round: UInt32, update: [Float], order: Transmit, edit: ([Frame]) -> [Frame] = { $0 }) throws {
        let frames = try Modulator(dacBits: 12, frameSymbols: 8).frames(
            for: update, order: order, round: round, node: UInt32(index))
        for f in edit(frames) { try send(f) }
    }

    /// Every round from the next one on: an honest small update (1e-3 per real), reported and
    /// transmitted as ordered, until the run's shutdown.
    func serveHonestly() throws {
        while let start = try next(.roundStart) {
            let update = try RoundStart(frame: start).adapter.map { _ in Float(1e-3) }
            try report(start.round, update: update)
            guard let order = try next(.transmit) else { return }
            try transmit(start.round, update: update, order: try Transmit(frame: order))
        }
    }

    /// Waits (up to two minutes) for the run's shutdown.
    func awaitShutdown() throws {
        _ = try next(.shutdown, within: 120)
    }
}
