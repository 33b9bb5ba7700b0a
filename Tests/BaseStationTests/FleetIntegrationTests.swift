import Foundation
import Wire
import XCTest

@testable import BaseStation

/// The whole system over TCP loopback: `basestation serve` and three `edgenode run` processes
/// with a generated tiny model, a few rounds.
final class FleetIntegrationTests: XCTestCase {
    static let profiles = ["raspberry-pi-4", "raspberry-pi-5", "esp32-s3"]
    var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    struct Run {
        var summary: RunSummary
        var metrics: String
        var rows: [[String: String]]
        func global() -> [[String: String]] { rows.filter { $0["node"] == "global" } }
    }

    /// Writes a scenario, starts the base station and the nodes, waits for the run to end.
    func fleet(
        in dir: URL, name: String, aggregation: String, seed: Int, rounds: Int = 3,
        vanish: (node: Int, round: Int)? = nil,
        roundTimeout: Double = 60, garbage: Bool = false, strangerFlood: Int = 0, profilePaths: [String]? = nil
    ) throws -> Run {
        let profiles =
            profilePaths ?? Self.profiles.map { repository.appendingPathComponent("hwprofiles/\($0).toml").path }
        let model = dir.appendingPathComponent("tiny.gguf").path
        if !FileManager.default.fileExists(atPath: model) {
            XCTAssertEqual(try runProduct("edgenode", ["tiny-model", "--out", model]).status, 0)
        }
        let port = 20000 + Int(ProcessInfo.processInfo.processIdentifier % 20000) + Int.random(in: 0..<9000)
        let scenario = FleetScenario(
            seed: seed, model: model, rounds: rounds, aggregation: aggregation, endpoint: "tcp://127.0.0.1:\(port)",
            roundTimeoutS: roundTimeout, nodes: profiles.enumerated().map { ("n\($0.offset)", $0.element) }
        ).toml
        let scenarioPath = dir.appendingPathComponent("\(name).toml").path
        try scenario.write(toFile: scenarioPath, atomically: true, encoding: .utf8)
        let results = dir.appendingPathComponent(name).path
        let bs = Process()
        bs.executableURL = productsDirectory().appendingPathComponent("basestation")
        // Plaintext here (CURVE is the default, tested by AuthenticationTests and CrashResumeTests).
        bs.arguments = ["serve", "--scenario", scenarioPath, "--results", results, "--json", "--insecure"]
        let out = Pipe()
        let err = Pipe()
        bs.standardOutput = out
        bs.standardError = err
        try bs.run()
        var nodes = [Process]()
        for (i, profile) in profiles.enumerated() {
            let p = Process()
            p.executableURL = productsDirectory().appendingPathComponent("edgenode")
            p.arguments =
                [
                    "run", "--bs", "tcp://127.0.0.1:\(port)", "--name", "n\(i)", "--model", model,
                    "--profile", profile, "--bs-timeout-s", "60", "--insecure",
                ]
                + (vanish?.node == i ? ["--vanish-at-round", "\(vanish!.round)"] : [])
            p.standardError = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
            nodes.append(p)
        }
        defer { for p in nodes where p.isRunning { p.terminate() } }
        let flood =
            strangerFlood > 0 ? try StrangerFlood(endpoint: "tcp://127.0.0.1:\(port)", hellos: strangerFlood) : nil
        defer { flood?.stop() }
        if garbage {
            // A rogue peer sends bytes that are no frame, then a frame with a broken CRC.
            let context = try ZeroMQContext()
            let rogue = try ZeroMQSocket(context, .dealer)
            try rogue.setIdentity("rogue")
            try rogue.connect("tcp://127.0.0.1:\(port)")
            try rogue.send([Data("not a frame".utf8)])
            var bad = Hello(
                name: "n0", profile: "x", txPowerW: 1, antennas: 1, dacBits: 8, sustainedGFLOPS: 1,
                flopBudgetPerRound: 1,
                joulesPerGFLOP: 1, ramBytes: 1
            ).frame(round: 0, node: 0).encoded()
            bad[bad.count - 1] ^= 0xFF
            try rogue.send([bad])
            // A well-formed hello from a name the scenario does not list is refused with a shutdown;
            // its arrival proves the two bad frames before it were read (one ordered connection).
            try rogue.send([
                Hello(
                    name: "rogue", profile: "x", txPowerW: 1, antennas: 1, dacBits: 8, sustainedGFLOPS: 1,
                    flopBudgetPerRound: 1,
                    joulesPerGFLOP: 1, ramBytes: 1
                ).frame(round: 0, node: 0).encoded()
            ])
            try rogue.setReceiveTimeout(ms: 30_000)
            let reply = try XCTUnwrap(try rogue.receive()?.last, "no answer to the rogue hello")
            XCTAssertTrue(try Shutdown(frame: try Frame(decoding: reply)).reason.contains("not a node"))
            rogue.close()
        }
        // A stalled base station fails the test instead of hanging the suite.
        let watchdog = DispatchWorkItem { if bs.isRunning { bs.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 300, execute: watchdog)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        bs.waitUntilExit()
        watchdog.cancel()
        XCTAssertEqual(bs.terminationStatus, 0, stderr)
        let summary: RunSummary
        do { summary = try JSONDecoder().decode(RunSummary.self, from: stdout) } catch {
            throw TestFailure(description: "serve --json printed no summary (\(error)): \(stderr)")
        }
        let metrics = try String(contentsOfFile: results + "/metrics.csv", encoding: .utf8)
        let lines = metrics.split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        let rows = lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
        for file in [
            "summary.json", "loss.svg", "perplexity.svg", "adapter.gguf", "peft/adapter_model.safetensors",
            "checkpoint/checkpoint.gguf",
        ] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: results + "/" + file), file)
        }
        return Run(summary: summary, metrics: metrics, rows: rows)
    }

    func testLossFallsSeedReproducesAndIdealAgreesWithAirCompAtHighSNR() throws {
        let dir = try temporaryDirectory(self)
        let air = try fleet(in: dir, name: "air", aggregation: "aircomp", seed: 3)
        let global = air.global()
        XCTAssertEqual(global.count, 4)
        let losses = global.map { Double($0["heldout_loss"]!)! }
        XCTAssertLessThan(losses.last!, losses.first! - 0.3, "held-out loss \(losses)")
        XCTAssertLessThan(
            try measured(air.summary.finalPerplexity),
            try measured(air.summary.initialPerplexity))
        XCTAssertEqual(air.summary.rounds, 3)
        XCTAssertTrue(air.summary.finalLoss.isFinite && air.summary.mseMean.isFinite)
        XCTAssertEqual(air.summary.nodes.count, 3, "every node of the scenario")
        // Every node delivered every round.
        XCTAssertEqual(air.rows.filter { $0["node"] != "global" && $0["status"] == "ok" }.count, 9)
        // The served MSE, against the true weighted sum of the updates: with perfect CSI its
        // thermal part matches σ²L/η over the run, misalignment is float rounding, the DACs add some.
        let ratio = try measured(air.summary.mseThermalOverPredicted)
        XCTAssertEqual(ratio, 1, accuracy: 0.05, "served thermal MSE / closed form")
        let thermal = try measured(air.summary.mseThermalMean)
        XCTAssertLessThan(try measured(air.summary.mseCsiMean), 1e-6 * thermal)
        XCTAssertGreaterThan(try measured(air.summary.mseQuantizationMean), 0)
        XCTAssertEqual(
            try measured(air.summary.mseMean)
                / (thermal + air.summary.mseQuantizationMean), 1, accuracy: 0.1)

        // The same seed reproduces the same metrics, to the last digit (all but the wall clock).
        let again = try fleet(in: dir, name: "again", aggregation: "aircomp", seed: 3)
        func withoutWallClock(_ csv: String) -> [[Substring]] {
            let rows = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            guard let wall = rows.first?.firstIndex(of: "wall_s") else { return rows }
            return rows.map { row in row.enumerated().filter { $0.offset != wall }.map(\.element) }
        }
        XCTAssertEqual(withoutWallClock(again.metrics), withoutWallClock(air.metrics))
        XCTAssertTrue(air.metrics.hasPrefix("round,") && air.metrics.contains("wall_s"))

        // At this SNR (MSE ~1e-5 per unit-power symbol) AirComp matches the exact sum closely.
        let ideal = try fleet(in: dir, name: "ideal", aggregation: "ideal", seed: 3)
        let pAir = try measured(air.summary.finalPerplexity)
        let pIdeal = try measured(ideal.summary.finalPerplexity)
        XCTAssertEqual(pAir / pIdeal, 1, accuracy: 0.02, "aircomp \(pAir) vs ideal \(pIdeal)")
        XCTAssertNotEqual(air.metrics, ideal.metrics)
        XCTAssertEqual(ideal.summary.mseMean, 0, "ideal aggregation is exact")

        // Digital OFDMA with 8-bit updates learns as well but needs more airtime than AirComp.
        let digital = try fleet(in: dir, name: "digital", aggregation: "digital", seed: 3)
        let pDigital = try measured(digital.summary.finalPerplexity)
        XCTAssertEqual(pDigital / pIdeal, 1, accuracy: 0.02, "digital \(pDigital) vs ideal \(pIdeal)")
        let digitalMSE = try measured(digital.summary.mseMean)
        XCTAssertGreaterThan(digitalMSE, 0, "8-bit payloads are not exact")
        XCTAssertEqual(digital.summary.mseQuantizationMean, digitalMSE)
        let airtime = { (r: Run) in try measured(r.summary.airtimeTotalS) }
        XCTAssertGreaterThan(try airtime(digital), try airtime(air))
    }

    /// A stranger that floods hellos and never reads its answers: before, the base station
    /// answered every hello, the answers filled the stranger's queue, each further answer waited
    /// out the 30 s send timeout on the loop that runs the rounds, and every node was dropped. Now
    /// it is answered once, never waited for, and every node delivers every round.
    func testAStrangerThatNeverReadsDoesNotStallTheRounds() throws {
        let dir = try temporaryDirectory(self)
        let start = Date()
        let run = try fleet(
            in: dir, name: "stranger", aggregation: "aircomp", seed: 5, rounds: 3, roundTimeout: 20,
            strangerFlood: 60_000)
        XCTAssertEqual(run.rows.filter { $0["node"] != "global" && $0["status"] == "ok" }.count, 9, run.metrics)
        let dropped = run.summary.framesDroppedByReason
        XCTAssertGreaterThan(
            dropped["unknown peer"] ?? 0, 1000, "the flood reached the base station and was counted: \(dropped)")
        XCTAssertLessThan(Date().timeIntervalSince(start), 60, "the rounds were held up")
    }

    /// A node that vanishes when a round starts does not stall the run: the round times out, the
    /// others are summed and rescaled, the run completes. Malformed frames from a rogue peer are
    /// counted and dropped.
    func testVanishingNodeDoesNotStallTheRun() throws {
        let dir = try temporaryDirectory(self)
        // Node 2 is a Raspberry Pi 5 whose FLOP budget allows one local step of the three asked.
        let tight = dir.appendingPathComponent("tight.toml").path
        try String(
            contentsOfFile: repository.appendingPathComponent("hwprofiles/raspberry-pi-5.toml").path, encoding: .utf8
        )
        .replacingOccurrences(of: "flop_budget_per_round = 2.4e12", with: "flop_budget_per_round = 1.0e8")
        .write(toFile: tight, atomically: true, encoding: .utf8)
        let profiles =
            ["raspberry-pi-4", "raspberry-pi-5"].map { repository.appendingPathComponent("hwprofiles/\($0).toml").path }
            + [tight]
        let run = try fleet(
            in: dir, name: "vanish", aggregation: "aircomp", seed: 4, rounds: 3, vanish: (node: 1, round: 2),
            roundTimeout: 4,
            garbage: true, profilePaths: profiles)
        let budgeted = run.rows.filter { $0["node"] == "n2" }
        XCTAssertEqual(budgeted.map { $0["steps"]! }, ["1", "1", "1"], "the FLOP budget cuts local training")
        XCTAssertTrue(budgeted.allSatisfy { Double($0["flops"]!)! <= 1.0e8 })
        XCTAssertTrue(run.rows.filter { $0["node"] == "n0" }.allSatisfy { $0["steps"] == "3" })
        XCTAssertGreaterThanOrEqual(
            run.summary.framesDropped, 2, "malformed frames are counted and dropped")
        let n1 = run.rows.filter { $0["node"] == "n1" }.map { $0["status"]! }
        // Round 2 missed (it vanished), so round 3 is sat out under the straggler policy.
        XCTAssertEqual(n1, ["ok", "absent", "backed-off"])
        XCTAssertEqual(
            run.rows.filter { $0["round"] == "2" && $0["status"] == "ok" && $0["node"] != "global" }.count, 2)
        let losses = run.global().map { Double($0["heldout_loss"]!)! }
        XCTAssertLessThan(losses.last!, losses.first!)
        XCTAssertEqual(run.summary.nodes.first { $0.name == "n1" }?.activeAtEnd, false)
    }
}

/// A DEALER with a name no scenario lists that sends `hellos` hellos as fast as it can and never
/// reads (the attack of one peer that never receives).
final class StrangerFlood: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    init(endpoint: String, hellos: Int) throws {
        let context = try ZeroMQContext()
        let socket = try ZeroMQSocket(context, .dealer)
        try socket.setIdentity("mallory")
        try socket.setSendTimeout(ms: 2000)
        try socket.connect(endpoint)
        let hello = Hello(
            name: "mallory", profile: "x", txPowerW: 1, antennas: 1, dacBits: 8, sustainedGFLOPS: 1,
            flopBudgetPerRound: 1,
            joulesPerGFLOP: 1, ramBytes: 1
        ).frame(round: 0, node: 0).encoded()
        Thread { [self] in
            for _ in 0..<hellos where !isStopped {
                do { try socket.send([hello]) } catch { break }
            }
            while !isStopped { Thread.sleep(forTimeInterval: 0.05) }
            socket.close()
            withExtendedLifetime(context) {}
            done.signal()
        }.start()
    }

    private var isStopped: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopped
    }

    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
        done.wait()
    }
}
