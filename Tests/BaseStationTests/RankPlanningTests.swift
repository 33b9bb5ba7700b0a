import Foundation
import LanguageModel
import LinearAlgebra
import Numerics
import XCTest

@testable import BaseStation

/// `rank_planning`: a pilot round at r_max over the air, its aggregate's spectrum, the constants it
/// supports, the planned rank; in memory with the real firmware.
final class RankPlanningTests: XCTestCase {
    func testPilotRoundFeedsThePlanner() throws {
        let pi4 = InMemoryFleet.profile("raspberry-pi-4")
        let pi5 = InMemoryFleet.profile("raspberry-pi-5")
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("b", pi5)], rounds: 2,
            federationExtra: "rank_planning = true")
        try fleet.startFirmware("a", profile: pi4)
        try fleet.startFirmware("b", profile: pi5)
        let summary = try fleet.run()
        let record = try XCTUnwrap(summary.rankPlanning)
        let rMax = record.rMax
        let rank = record.rank
        XCTAssertTrue((1...rMax).contains(rank), "rank \(rank) of r_max \(rMax)")
        XCTAssertEqual(summary.rank, rank, "the run trains at the planned rank")
        XCTAssertEqual(record.pilotStatus, "pilot")
        XCTAssertTrue(record.spectrumSource.hasPrefix("pilot round at rank \(rMax)"))
        // Pooled by rank index: as many values as the widest matrix's update has, min(r_max, 64) in the tiny
        // model, or beyond r_max the sketch's p (32: the tiny model's k/v project 64 → 32).
        let p = try XCTUnwrap(record.sketchRank)
        XCTAssertEqual(p, 32)
        XCTAssertEqual(record.spectrumCount, p > rMax ? p : min(rMax, 64))
        let top = record.spectrumTop
        XCTAssertTrue(top.first! > 0 && zip(top, top.dropFirst()).allSatisfy { $0 >= $1 })
        let constants = record.constants
        XCTAssertEqual(
            Set(constants.keys),
            [
                "smoothness", "rank_smoothness", "distortion_smoothness", "distortion_reference_rank", "pl_constant",
                "step_size", "horizon_weight", "gradient_variance", "rounds", "initial_gap",
            ])
        XCTAssertEqual(
            constants["distortion_reference_rank"]?.value, Double(rMax), "the curvatures are measured at r_max")
        XCTAssertTrue((constants["gradient_variance"]?.source ?? "").hasPrefix("pilot round"))
        // The step, smoothness and PL constant measured on calibration tokens, within the derivation's conditions.
        for key in ["step_size", "smoothness", "pl_constant"] {
            XCTAssertTrue(
                (constants[key]?.source ?? "").hasPrefix("pilot:"), "\(key): \(String(describing: constants[key]))")
        }
        let value = { (key: String) in constants[key]?.value ?? .nan }
        XCTAssertLessThanOrEqual(value("step_size"), 1 / value("smoothness") * (1 + 1e-12))
        // The curvature along a random direction is the mean one, below the largest; the rank term's
        // spectrum is the pilot's scaled to the quadratic model's line minimum, recorded beside it.
        guard case .measured(let measured) = try XCTUnwrap(record.calibration) else {
            return XCTFail("no calibration: \(String(describing: record.calibration))")
        }
        // Measured (clearly positive, then below the worst case L_s) or L_s itself, and says which.
        let le = value("distortion_smoothness")
        let source = constants["distortion_smoothness"]?.source ?? ""
        if let measuredLe = measured.distortionSmoothness {
            XCTAssertTrue(source.hasPrefix("pilot:"), source)
            XCTAssertEqual(measuredLe, le)
        } else {
            XCTAssertTrue(source.hasPrefix("smoothness L_s"), source)
            XCTAssertEqual(le, value("smoothness"))
        }
        XCTAssertGreaterThan(measured.probeRadius, 0)
        let t = try XCTUnwrap(record.displacementScale)
        XCTAssertEqual(min(try XCTUnwrap(measured.lineMinimum), 2), t, "t*, at most T = 2 rounds")
        XCTAssertTrue(t > 0 && t.isFinite)
        XCTAssertEqual(record.spectrum.count, record.spectrumCount)
        let lm = value("step_size") * value("pl_constant")
        XCTAssertTrue(lm > 0 && lm < 1)
        XCTAssertEqual(value("horizon_weight"), (1 - pow(1 - lm, 2)) / lm, accuracy: 1e-9 * value("horizon_weight"))
        XCTAssertEqual(
            measured.lossBefore, value("initial_gap"), accuracy: 0.5,
            "the calibration tokens are of the held-out distribution")
        XCTAssertGreaterThan(try XCTUnwrap(record.symbolPower), 0)
        XCTAssertEqual(value("initial_gap"), log(summary.initialPerplexity), accuracy: 1e-9)
        XCTAssertEqual(value("rounds"), 2)
        // The pilot's rows are in metrics.csv, its aggregate never reached the model: rounds 1 and 2 train from the
        // base.
        let rows = try fleet.metrics()
        XCTAssertEqual(
            rows.filter { $0["round"] == "0" && $0["node"] != "global" }.map { $0["status"]! }, ["ok", "ok"])
        XCTAssertEqual(rows.filter { $0["node"] == "global" }.map { $0["status"]! }, ["initial", "pilot", "ok", "ok"])
        XCTAssertEqual(rows.first { $0["round"] == "1" && $0["node"] == "global" }?["rank"], "\(rank)")
    }

    /// A calibration that cannot be measured (one calibration token: no window to score) leaves the
    /// scenario's constants, says why, and the run goes on at a planned rank.
    func testUnmeasurableCalibrationLeavesTheScenarioConstants() throws {
        let pi4 = InMemoryFleet.profile("raspberry-pi-4")
        let pi5 = InMemoryFleet.profile("raspberry-pi-5")
        let fleet = try InMemoryFleet(
            in: try temporaryDirectory(self), nodes: [("a", pi4), ("b", pi5)], rounds: 1,
            federationExtra: "rank_planning = true", calibrationTokens: 1)
        try fleet.startFirmware("a", profile: pi4)
        try fleet.startFirmware("b", profile: pi5)
        let summary = try fleet.run()
        let record = try XCTUnwrap(summary.rankPlanning)
        guard case .failed = try XCTUnwrap(record.calibration) else {
            return XCTFail("calibrated: \(String(describing: record.calibration))")
        }
        XCTAssertEqual(record.constants["step_size"]?.value, 0.5, "the scenario's [plan] step size")
        XCTAssertTrue((record.constants["step_size"]?.source ?? "").hasPrefix("scenario [plan]"))
        XCTAssertTrue((1...record.rMax).contains(record.rank))
    }

    /// The randomised sketch of the full-weight gradient's spectrum against the exact gradient: with
    /// A = I and B = 0 at scale 1 the B-gradient is G itself. Matrices whose smaller side is at most p
    /// come out exact; the pooled top values within 1 %.
    func testGradientSketchMatchesTheExactSpectrum() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("tiny.gguf").path
        try TinyModelSpec().write(to: path)
        let model = try LlamaModel(gguf: try GGUFFile(path: path))
        let tokens = (0..<200).map { ($0 * 37 + 11) % 250 + 2 }
        let probe = CalibrationProbe(model: model, tokens: tokens, context: 64)
        let targets: [LoRATarget] = [.q, .k, .v, .o]
        let d = model.config.embedding
        var identity = LoRAAdapter(config: model.config, rank: d, alpha: Float(d), targets: targets, seed: 1)
        var values = identity.flattened()
        for s in identity.layout.slots {
            for i in 0..<(s.rank * s.dIn) { values[s.a + i] = i / s.dIn == i % s.dIn ? 1 : 0 }
            for i in s.bRange { values[i] = 0 }
        }
        try identity.assign(flattened: values)
        let g = try probe.lossAndGradient(identity).gradient
        var exact = [Double]()
        for s in identity.layout.slots {
            let m = ComplexMatrix<Double>(rows: s.dOut, cols: s.dIn) { i, j in Complex(g[s.b + i * s.rank + j], 0) }
            let gram = m.product(m, .none, .adjoint)
            for (i, v) in try gram.hermitianEigen().values.map({ max(0, $0) }).sorted(by: >).enumerated() {
                if i == exact.count { exact.append(0) }
                exact[i] += v
            }
        }
        let sketch = try probe.gradientSpectrum(config: model.config, targets: targets, rank: 32, seed: 9)
        XCTAssertEqual(sketch.squaredSingularValues.count, 32)
        for i in 0..<4 { XCTAssertEqual(sketch.squaredSingularValues[i] / exact[i], 1, accuracy: 0.01, "value \(i)") }
        XCTAssertLessThanOrEqual(
            sketch.tail(0), exact.reduce(0, +) * (1 + 1e-9), "a sketch captures no more than the whole")
    }

    /// Each estimate is its formula of the measurements, and an unusable one is nil.
    func testPilotMeasurementsEstimates() {
        var m = PilotMeasurements(
            lossBefore: 4, lossAfter: 3.5, gradientEnergyBefore: 2, gradientEnergyAfter: 1, alignment: -0.4,
            gradientChange: 0.3, updateNorm: 0.6, weightUpdateNorm: 2, weightAlignment: -0.9,
            randomDirection: (0.01, 0.002), probeRadius: 0.1)
        XCTAssertEqual(m.stepSize!, 0.2, accuracy: 1e-12)
        XCTAssertEqual(m.distortionSmoothness!, 0.01)
        // t* = 0.9 / (L_W · 4) with L_W = 0.2: 1.125 pilot updates to the quadratic model's minimum.
        XCTAssertEqual(m.lineMinimum!, 0.9 / (0.2 * 4), accuracy: 1e-12)
        XCTAssertEqual(m.smoothness!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(m.plConstant!, min(2 / 8, 1 / 7.0), accuracy: 1e-12)
        XCTAssertEqual(m.weightSmoothness!, 2 * (3.5 - 4 + 0.9) / 4, accuracy: 1e-12)
        m.alignment = 0.1
        XCTAssertNil(m.stepSize, "a step that did not go down the gradient gives no step size")
        m.randomDirection = (0.01, 0.006)
        XCTAssertNil(m.distortionSmoothness, "a curvature within twice its standard error of 0 is not a measurement")
        m.weightAlignment = 0
        XCTAssertNil(m.weightSmoothness, "a negative curvature along the step gives none")
        XCTAssertNil(m.lineMinimum)
    }

    /// The distortion's rank exponent p (γ(r) ∝ r^(−p)) is read off each scale itself.
    func testScaleExponentMatchesEachScaling() {
        XCTAssertEqual(LoRAScaling.rslora.exponent(alpha: nil), 0.5, accuracy: 1e-12)
        XCTAssertEqual(LoRAScaling.standard.exponent(alpha: 16), 1, accuracy: 1e-12)
        XCTAssertEqual(LoRAScaling.constant.exponent(alpha: nil), 0, accuracy: 1e-12)
        XCTAssertEqual(LoRAScaling.constant.exponent(alpha: 8), 1, accuracy: 1e-12)
        for scaling in LoRAScaling.allCases {
            let p = scaling.exponent(alpha: nil)
            XCTAssertEqual(
                scaling.scale(rank: 16, alpha: nil) / scaling.scale(rank: 4, alpha: nil), pow(4, -p), accuracy: 1e-12,
                "\(scaling)")
        }
    }
}
