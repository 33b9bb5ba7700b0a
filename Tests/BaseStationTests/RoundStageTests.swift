import CommandLineSupport
import Foundation
import Radio
import Wire
import XCTest

@testable import BaseStation

/// Whole rounds without processes: the base station and real firmware over an in-memory network,
/// and scripted nodes that time out, drop their transmission, poison the sum or re-register.
final class RoundStageTests: XCTestCase {
    let pi4 = InMemoryFleet.profile("raspberry-pi-4"), pi5 = InMemoryFleet.profile("raspberry-pi-5")

    func testRealFirmwareRoundsInMemory() throws {
        let fleet = try InMemoryFleet(in: try temporaryDirectory(self), nodes: [("a", pi4), ("b", pi5)])
        try fleet.startFirmware("a", profile: pi4)
        try fleet.startFirmware("b", profile: pi5)
        let summary = try fleet.run()
        let rows = try fleet.metrics()
        XCTAssertEqual(rows.filter { $0["node"] != "global" && $0["status"] == "ok" }.count, 4)
        XCTAssertEqual(rows.filter { $0["node"] == "global" }.map { $0["status"]! }, ["initial", "ok", "ok"])
        XCTAssertLessThan(
            try measured(summary.finalPerplexity),
            try measured(summary.initialPerplexity))
        XCTAssertTrue(summary.mseThermalOverPredicted.isFinite)
    }

    /// Every seed evaluates one held-out set (the base model's score is the same bits), with its
    /// standard error in metrics.csv and summary.json.
    func testEverySeedEvaluatesTheSameHeldOutSet() throws {
        func run(seed: Int) throws -> (summary: RunSummary, initial: [String: String]) {
            let fleet = try InMemoryFleet(
                in: try temporaryDirectory(self), nodes: [("a", pi4), ("b", pi5)], rounds: 1, seed: seed)
            try fleet.startFirmware("a", profile: pi4)
            try fleet.startFirmware("b", profile: pi5)
            let summary = try fleet.run()
            return (summary, try XCTUnwrap(try fleet.metrics().first { $0["round"] == "0" }))
        }
        let one = try run(seed: 3)
        let two = try run(seed: 4)
        XCTAssertEqual(one.initial["heldout_loss"], two.initial["heldout_loss"])
        XCTAssertEqual(one.summary.initialPerplexity, two.summary.initialPerplexity)
        XCTAssertNotEqual(
            one.summary.finalPerplexity, two.summary.finalPerplexity,
            "the seeds train differently")
        let se = try measured(one.summary.finalHeldoutLossSe)
        XCTAssertTrue(se > 0 && se < 1, "\(se)")
        XCTAssertGreaterThan(Double(one.initial["heldout_loss_se"] ?? "") ?? 0, 0)
    }

    /// The base station sums frames as they arrive, exactly: a seeded run's adapter and metrics
    /// are the same bits whatever the frame size the nodes send, the interleaving of their
    /// frames, and the receiver's thread count (the batch chain is the one-frame case, the same
    /// bits by `StreamingReceiverTests`).
    func testLearningIsBitIdenticalForAnyFrameSplitAndThreadCount() throws {
        func run(frameSymbols: Int, threads: Int) throws -> (adapter: Data, metrics: [[String: String]]) {
            let fleet = try InMemoryFleet(in: try temporaryDirectory(self), nodes: [("a", pi4), ("b", pi5)])
            fleet.server.rounds.receiverThreads = threads
            try fleet.startFirmware("a", profile: pi4, frameSymbols: frameSymbols)
            try fleet.startFirmware("b", profile: pi5, frameSymbols: frameSymbols + 1)
            _ = try fleet.run()
            let adapter = try Data(contentsOf: fleet.directory.appendingPathComponent("results/adapter.gguf"))
            // Everything but the wall clock.
            let metrics = try fleet.metrics().map { $0.filter { $0.key != "wall_s" } }
            return (adapter, metrics)
        }
        let whole = try run(frameSymbols: 4096, threads: 1)
        let split = try run(frameSymbols: 1, threads: 3)
        XCTAssertEqual(whole.adapter, split.adapter)
        XCTAssertEqual(whole.metrics, split.metrics)
        XCTAssertTrue(whole.metrics.contains { $0["node"] == "global" && $0["round"] == "2" && $0["status"] == "ok" })
    }

    /// `eval_every`: the held-out set is scored on those rounds and after the last only; the
    /// training is the same (the train losses equal a run that evaluates every round); summary.json
    /// says where the run's time went.
    func testEvaluationEveryNRoundsLeavesTrainingAlone() throws {
        func run(_ extra: String) throws -> (rows: [[String: String]], summary: RunSummary) {
            let fleet = try InMemoryFleet(
                in: try temporaryDirectory(self), nodes: [("a", pi4), ("b", pi5)], rounds: 3, federationExtra: extra)
            try fleet.startFirmware("a", profile: pi4)
            try fleet.startFirmware("b", profile: pi5)
            let summary = try fleet.run()
            return (try fleet.metrics(), summary)
        }
        let sparse = try run("eval_every = 2")
        let every = try run("")
        let evaluated = sparse.rows.filter { $0["node"] == "global" && !($0["heldout_perplexity"] ?? "").isEmpty }.map {
            $0["round"]!
        }
        XCTAssertEqual(evaluated, ["0", "2", "3"])
        let losses = { (rows: [[String: String]]) in
            rows.filter { $0["node"] != "global" }.map { $0["train_loss"] ?? "" }
        }
        XCTAssertEqual(losses(sparse.rows), losses(every.rows))
        XCTAssertEqual(sparse.summary.finalPerplexity, every.summary.finalPerplexity)
        let time = every.summary.timeS
        XCTAssertGreaterThan(time.heldoutEvaluation, 0)
        let written = try JSONSerialization.jsonObject(with: try JSONRecord.encoded(every.summary)) as? [String: Any]
        XCTAssertEqual(
            Set((written?["time_s"] as? [String: Double] ?? [:]).keys),
            ["set_up", "registration", "pilot", "heldout_evaluation", "rounds_without_evaluation"],
            "summary.json's time_s keys")
    }

    /// `serve` runs every receive beamformer `solve` has; the baselines' designs are as valid.
    func testEveryBeamformingMethodServesARound() throws {
        for method in ["eigen", "weakest", "random"] {
            let fleet = try InMemoryFleet(
                in: try temporaryDirectory(self), nodes: [("a", pi4), ("b", pi5)], beamforming: method, rounds: 1)
            try fleet.startFirmware("a", profile: pi4)
            try fleet.startFirmware("b", profile: pi5)
            let summary = try fleet.run()
            XCTAssertEqual(
                try fleet.metrics().first { $0["round"] == "1" && $0["node"] == "global" }?["status"], "ok", method)
            XCTAssertEqual(try measured(summary.mseThermalOverPredicted), 1, accuracy: 0.2, method)
        }
    }

    /// Digital OFDMA held to AirComp's airtime compresses harder instead of taking longer, and takes
    /// AirComp's airtime within 5 %.
    func testDigitalInAirCompsAirtimeFitsIt() throws {
        func airtime(_ aggregation: String, _ extra: String = "") throws -> Double {
            let fleet = try InMemoryFleet(
                in: try temporaryDirectory(self), nodes: [("a", pi4), ("b", pi5)], aggregation: aggregation,
                rounds: 1, federationExtra: extra)
            try fleet.startFirmware("a", profile: pi4)
            try fleet.startFirmware("b", profile: pi5)
            return try measured(try fleet.run().airtimeTotalS)
        }
        let air = try airtime("aircomp")
        let digital = try airtime("digital")
        let held = try airtime("digital", "digital_same_airtime = true")
        XCTAssertGreaterThan(digital, air, "8-bit digital takes longer than AirComp here")
        XCTAssertLessThanOrEqual(held, air * (1 + 1e-9), "held to AirComp's airtime")
        XCTAssertEqual(held / air, 1, accuracy: 0.05, "and it spends it: the budget fills the airtime")
    }

    /// The classic AirComp baselines serve rounds: truncated channel inversion leaves the device
    /// whose channel is below the cut out of the round (`unscheduled`) and sums the rest; the
    /// minimum-MSE power control commits with a measured error; a binding energy budget lowers
    /// the power, so the thermal error rises.
    func testTruncationMinimumMSEAndEnergyBudgetServeRounds() throws {
        func run(_ aircomp: String) throws -> (summary: RunSummary, rows: [[String: String]]) {
            let fleet = try InMemoryFleet(
                in: try temporaryDirectory(self), nodes: [("a", pi4), ("b", pi5), ("c", pi4)], rounds: 1,
                aircompExtra: aircomp)
            for (name, profile) in [("a", pi4), ("b", pi5), ("c", pi4)] {
                try fleet.startFirmware(name, profile: profile)
            }
            let summary = try fleet.run()
            return (summary, try fleet.metrics())
        }
        let truncated = try run("truncation_db = 0")
        let statuses = truncated.rows.filter { $0["round"] == "1" && $0["node"] != "global" }.map { $0["status"]! }
        XCTAssertEqual(
            statuses.filter { $0 == "unscheduled" }.count, 1, "of three, the one below the median sits out: \(statuses)"
        )
        XCTAssertEqual(truncated.rows.first { $0["round"] == "1" && $0["node"] == "global" }?["status"], "ok")
        let mmse = try run("power_control = \"mmse\"")
        XCTAssertEqual(mmse.rows.first { $0["round"] == "1" && $0["node"] == "global" }?["status"], "ok")
        XCTAssertTrue(mmse.summary.mseMean.isFinite)
        let full = try run("")
        let starved = try run("tx_energy_offset_db = -60")
        let (a, b) = (
            try measured(full.summary.mseThermalMean),
            try measured(starved.summary.mseThermalMean)
        )
        XCTAssertGreaterThan(b, 10 * a, "an energy budget 60 dB lower binds: less power, more noise")
    }

    /// A node that registers and then never reports is left out when the round's deadline passes.
    func testSilentNodeTimesOut() throws {
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("mute", pi5)], rounds: 1, roundTimeoutS: 2)
        try fleet.startFirmware("a", profile: pi4)
        let mute = ScriptedNode("mute", on: fleet.network)
        fleet.start {
            try mute.register()
            try mute.awaitShutdown()
        }
        _ = try fleet.run()
        let round1 = try fleet.metrics().filter { $0["round"] == "1" }
        XCTAssertEqual(round1.first { $0["node"] == "mute" }?["status"], "absent")
        XCTAssertEqual(round1.first { $0["node"] == "a" }?["status"], "ok")
        XCTAssertEqual(round1.first { $0["node"] == "global" }?["status"], "ok")
        XCTAssertFalse(fleet.server.nodes[1].active)
    }

    /// A run whose nodes all fall silent has not trained, however many rounds "ran": it fails,
    /// naming the rounds no node delivered to, and its results stay for the post-mortem.
    func testRunThatEndsWithNoNodeDeliveringFails() throws {
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("mute", pi5)], rounds: 2, roundTimeoutS: 1)
        try fleet.startFirmware("a", profile: pi4, vanishAtRound: 2)
        let mute = ScriptedNode("mute", on: fleet.network)
        fleet.start {
            try mute.register()
            try mute.awaitShutdown()
        }
        XCTAssertThrowsError(try fleet.run()) { error in
            XCTAssertTrue("\(error)".contains("no node delivered an update in round 2 of 2"), "\(error)")
        }
        let rows = try fleet.metrics()
        XCTAssertEqual(rows.first { $0["round"] == "1" && $0["node"] == "a" }?["status"], "ok")
        XCTAssertFalse(rows.contains { $0["round"] == "2" && $0["status"] == "ok" && $0["node"] != "global" })
    }

    /// A transmission that misses a frame is marked dropped; its symbols that arrived are in the
    /// sum (each OFDM symbol rescaled by the weight present on it), and the round commits.
    func testIncompleteTransmissionIsDropped() throws {
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("short", pi5)], rounds: 1, roundTimeoutS: 5)
        try fleet.startFirmware("a", profile: pi4)
        let short = ScriptedNode("short", on: fleet.network)
        fleet.start {
            try short.register()
            let start = try RoundStart(frame: try XCTUnwrap(short.next(.roundStart)))
            let update = start.adapter.map { _ in Float(1e-3) }
            try short.report(1, update: update)
            let order = try Transmit(frame: try XCTUnwrap(short.next(.transmit)))
            // The first symbols frame is lost; the round end still claims them all.
            try short.transmit(1, update: update, order: order) { Array($0.dropFirst()) }
            try short.awaitShutdown()
        }
        _ = try fleet.run()
        let round1 = try fleet.metrics().filter { $0["round"] == "1" }
        XCTAssertEqual(round1.first { $0["node"] == "short" }?["status"], "dropped")
        XCTAssertEqual(round1.first { $0["node"] == "global" }?["status"], "ok")
    }

    /// A deep fade (a device whose channel is zero) leaves no AirComp design: the round is
    /// rejected and the global adapter stays as it was.
    func testRejectedDesignLeavesTheAdapter() throws {
        let fleet = try InMemoryFleet(in: try temporaryDirectory(self), nodes: [("a", pi4), ("b", pi5)], rounds: 1)
        fleet.server.rounds.channelOverride = { _, drawn in
            var h = drawn
            for n in 0..<h.subcarriers {
                for i in 0..<h.matrixSize { h.elements[h.offset(subcarrier: n, device: 1) + i] = .zero }
            }
            return h
        }
        let before = fleet.server.global.flattened()
        try fleet.startFirmware("a", profile: pi4)
        try fleet.startFirmware("b", profile: pi5)
        _ = try fleet.run()
        XCTAssertEqual(
            try fleet.metrics().first { $0["round"] == "1" && $0["node"] == "global" }?["status"], "rejected")
        XCTAssertEqual(fleet.server.global.flattened(), before)
    }

    /// Symbols that would overflow the aggregate (finite on the wire, ~1e38) are refused frame by
    /// frame before anything is summed: the loud node is dropped, the honest node's update is
    /// committed, and the adapter stays finite.
    func testSymbolsTooLargeToSumAreRefused() throws {
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("loud", pi5)], aggregation: "ideal", rounds: 1)
        try fleet.startFirmware("a", profile: pi4)
        let loud = ScriptedNode("loud", on: fleet.network)
        fleet.start {
            try loud.register()
            let start = try RoundStart(frame: try XCTUnwrap(loud.next(.roundStart)))
            try loud.report(1, update: start.adapter.map { _ in Float(1e-3) }) // an honest report ...
            let order = try Transmit(frame: try XCTUnwrap(loud.next(.transmit)))
            // ... and then symbols of 1e38 (the scale it was told ignored).
            try loud.transmit(
                1, update: start.adapter.map { _ in Float(1e38) },
                order: Transmit(
                    mode: order.mode, scale: 1, subcarriers: order.subcarriers, streams: order.streams,
                    antennas: order.antennas,
                    precoders: order.precoders, digitalBudgetBits: order.digitalBudgetBits,
                    digitalSeed: order.digitalSeed, sampleFormat: order.sampleFormat))
            try loud.awaitShutdown()
        }
        let before = fleet.server.global.flattened()
        _ = try fleet.run()
        let round1 = try fleet.metrics().filter { $0["round"] == "1" }
        XCTAssertEqual(round1.first { $0["node"] == "global" }?["status"], "ok")
        XCTAssertEqual(round1.first { $0["node"] == "loud" }?["status"], "dropped")
        XCTAssertGreaterThan(fleet.server.droppedFrames, 0)
        let after = fleet.server.global.flattened()
        XCTAssertTrue(after != before, "the honest update moved the adapter")
        XCTAssertTrue(after.allSatisfy { $0.isFinite && abs($0) < 10 }, "and nothing else did")
    }

    /// A node that reports ‖Δ‖² = 1e60 and then transmits at the scale it is given (the attack:
    /// before, its report set the common scale to ~1e28, the honest update quantised to nothing and
    /// the liar's symbols drove the adapter to 1e27 with every status `ok`). With `optimizer`'s
    /// bound the liar is left out; with a training that has no bound (SGD without clipping) the
    /// poisoned adapter's held-out loss is not finite and the round is undone.
    func liarRound(federationExtra: String) throws -> (rows: [[String: String]], before: [Float], after: [Float]) {
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("liar", pi5)], rounds: 1, roundTimeoutS: 5,
            federationExtra: federationExtra)
        try fleet.startFirmware("a", profile: pi4)
        let liar = ScriptedNode("liar", on: fleet.network)
        fleet.start {
            try liar.register()
            let start = try RoundStart(frame: try XCTUnwrap(liar.next(.roundStart)))
            try liar.report(1, update: start.adapter.map { _ in 1e-3 }, energy: 1e60)
            // Left out, it hears the run's shutdown instead (next returns nil on it).
            guard let frame = try liar.next(.transmit) else { return }
            let order = try Transmit(frame: frame)
            try liar.transmit(1, update: start.adapter.map { _ in order.scale }, order: order)
            try liar.awaitShutdown()
        }
        let before = fleet.server.global.flattened()
        _ = try fleet.run()
        return (try fleet.metrics().filter { $0["round"] == "1" }, before, fleet.server.global.flattened())
    }

    func testALyingReportIsLeftOutAndAPoisonedAdapterIsNeverKept() throws {
        let bounded = try liarRound(federationExtra: "")
        XCTAssertEqual(bounded.rows.first { $0["node"] == "liar" }?["status"], "excluded")
        XCTAssertEqual(bounded.rows.first { $0["node"] == "a" }?["status"], "ok")
        XCTAssertEqual(bounded.rows.first { $0["node"] == "global" }?["status"], "ok")
        XCTAssertTrue(bounded.after != bounded.before, "the honest update moved the adapter")
        XCTAssertTrue(bounded.after.allSatisfy { $0.isFinite && abs($0) < 10 }, "and nothing else did")
        XCTAssertTrue(Double(bounded.rows.first { $0["node"] == "global" }?["heldout_loss"] ?? "")?.isFinite ?? false)

        let unbounded = try liarRound(federationExtra: "optimizer = \"sgd\"\nclip = 0.0\n")
        XCTAssertEqual(unbounded.rows.first { $0["node"] == "global" }?["status"], "rejected", "\(unbounded.rows)")
        XCTAssertEqual(unbounded.after, unbounded.before, "the poisoned adapter was not kept")
        XCTAssertTrue(Double(unbounded.rows.first { $0["node"] == "global" }?["heldout_loss"] ?? "")?.isFinite ?? false)
    }

    /// A node that restarts during round 1 (it says hello again and never sees that round's start)
    /// is not blamed for the round's silence: it stays registered and delivers in round 2.
    func testNodeThatReRegistersRejoins() throws {
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("late", pi5)], aggregation: "ideal",
            rounds: 3, roundTimeoutS: 2)
        try fleet.startFirmware("a", profile: pi4)
        let late = ScriptedNode("late", on: fleet.network)
        fleet.start {
            try late.register()
            _ = try XCTUnwrap(late.next(.roundStart)) // round 1: a restart instead of an answer
            try late.register()
            try late.serveHonestly()
        }
        _ = try fleet.run()
        let statuses = try fleet.metrics().filter { $0["node"] == "late" }.map { $0["status"]! }
        XCTAssertEqual(statuses, ["absent", "ok", "ok"])
        XCTAssertTrue(fleet.server.nodes[1].active)
    }

    /// A node that reports, then restarts before the round goes on, is a new process without that
    /// update: its report is dropped, the round goes on without waiting for its transmission, and
    /// it serves the next round.
    func testStaleReportOfARestartedNodeIsDropped() throws {
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("flaky", pi5)], aggregation: "ideal",
            rounds: 2, roundTimeoutS: 30)
        try fleet.startFirmware("a", profile: pi4)
        let flaky = ScriptedNode("flaky", on: fleet.network)
        fleet.start {
            try flaky.register()
            let start = try RoundStart(frame: try XCTUnwrap(flaky.next(.roundStart)))
            try flaky.report(1, update: start.adapter.map { _ in Float(1e-3) })
            try flaky.register() // the restart
            try flaky.serveHonestly()
        }
        let summary = try fleet.run()
        XCTAssertEqual(try fleet.metrics().filter { $0["node"] == "flaky" }.map { $0["status"]! }, ["absent", "ok"])
        XCTAssertLessThan(try measured(summary.wallTimeS), 25, "no stage waited out its 30 s deadline")
    }
}
