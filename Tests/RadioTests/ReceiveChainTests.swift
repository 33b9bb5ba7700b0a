import LinearAlgebra
import Numerics
import XCTest

@testable import Radio

/// The receive chain that `serve` runs, checked against the closed form and by cause.
final class ReceiveChainTests: XCTestCase {
    struct Setup {
        var h: ChannelTensor
        var power: [Double]
        var beamformers: [ComplexMatrix<Double>]
        var noise: Double
        var updates: [[Float]]
    }

    /// 6 devices, 8 × 2 antennas, L = 2, 16 subcarriers, 400 OFDM symbols, 10 dB SNR.
    func setup() throws -> Setup {
        let subcarriers = 16
        let devices = 6
        let h = rayleighChannels(subcarriers: subcarriers, devices: devices, rx: 8, tx: 2, seed: 21)
        let power = Array(repeating: 1.0, count: devices)
        let a = try randomBeamformers(subcarriers: subcarriers, rx: 8, streams: 2, seed: 22)
        let updates = randomUpdates(devices: devices, reals: 2 * 2 * subcarriers * 400, seed: 23)
        return Setup(h: h, power: power, beamformers: a, noise: 1 / (Double(subcarriers) * 10), updates: updates)
    }

    /// With noise at the antennas (as served), perfect CSI and ideal front ends, all the error is
    /// thermal and matches σ²L/η within 5 %; the other parts are float rounding.
    func testServedThermalNoiseMatchesClosedForm() throws {
        let s = try setup()
        let r = try AirCompRound(
            updates: s.updates, channels: s.h, beamformers: s.beamformers, powerW: s.power, noisePowerW: s.noise,
            seed: 3, round: 1, noiseDomain: .receiveAntennas)
        let m = r.error.means
        let predicted = r.predictedMSE.reduce(0, +) / Double(r.predictedMSE.count)
        XCTAssertEqual(m.thermal / predicted, 1, accuracy: 0.05, "thermal \(m.thermal) vs σ²L/η \(predicted)")
        XCTAssertEqual(m.total / m.thermal, 1, accuracy: 1e-6)
        XCTAssertLessThan(m.csi, 1e-9 * predicted)
        // No DAC: the "quantisation" part is float rounding (x = B s on the device against H·B s).
        XCTAssertLessThan(m.quantization, 1e-9 * predicted)
    }

    /// Imperfect CSI adds a misalignment part, a coarse DAC a quantisation part; the thermal part
    /// still matches the closed form and the parts add up to the measured total (cross terms are
    /// zero-mean).
    func testErrorSplitsIntoThermalCSIAndQuantization() throws {
        let s = try setup()
        let hHat = s.h.estimated(nmse: 1e-3, seed: 5, round: 1)
        let r = try AirCompRound(
            updates: s.updates, channels: s.h, estimate: hHat, beamformers: s.beamformers, powerW: s.power,
            noisePowerW: s.noise, seed: 3, round: 1, noiseDomain: .receiveAntennas, dac: try DAC(bits: 5))
        let m = r.error.means
        let predicted = r.predictedMSE.reduce(0, +) / Double(r.predictedMSE.count)
        XCTAssertEqual(m.thermal / predicted, 1, accuracy: 0.05)
        XCTAssertGreaterThan(m.csi, 0.01 * m.thermal, "CSI misalignment \(m.csi)")
        XCTAssertGreaterThan(m.quantization, 0.01 * m.thermal, "DAC quantisation \(m.quantization)")
        XCTAssertEqual((m.thermal + m.csi + m.quantization) / m.total, 1, accuracy: 0.05)
        // Without noise the thermal part vanishes and the rest remains.
        let quiet = try AirCompRound(
            updates: s.updates, channels: s.h, estimate: hHat, beamformers: s.beamformers, powerW: s.power,
            noisePowerW: 0, seed: 3, round: 1, noiseDomain: .receiveAntennas, dac: try DAC(bits: 5))
        XCTAssertEqual(quiet.error.means.thermal, 0)
        XCTAssertEqual(quiet.error.means.csi / m.csi, 1, accuracy: 1e-6)
    }

    /// The chain reconstructs over the devices that delivered: with two of three, the aggregate is
    /// their weighted average (rescaled by 1/Σ w_k of the two).
    func testReconstructionRescalesOverTheDevicesThatDelivered() throws {
        let h = rayleighChannels(subcarriers: 4, devices: 3, rx: 6, tx: 2, seed: 31)
        let power = [1.0, 1.0, 1.0]
        let weights = [0.5, 0.3, 0.2]
        let a = try ReceiveBeamformer.eigen(channels: h, streams: 2, powerW: power)
        let design = try AirCompDesign(channels: h, beamformers: a, powerW: power, weights: weights)
        let updates = randomUpdates(devices: 3, reals: 64, seed: 32)
        let grid = try ResourceGrid(subcarriers: 4, streams: 2)
        let c = try ResourceGrid.commonScale(updates: updates)
        let delivered = [0, 2]
        let s = try delivered.map { try grid.map(update: updates[$0], scale: c) }
        let x = try zip(delivered, s).map { try OverTheAir.precode($1, with: design.precoders[$0]) }
        let chain = try ReceiveChain(
            channels: h.selecting(devices: delivered), design: design, devices: delivered, noisePowerW: 0)
        let r = try chain.receive(x, intended: s, scale: c, reals: 64, seed: 1, round: 0)
        for i in 0..<64 {
            let expected = (0.5 * updates[0][i] + 0.2 * updates[2][i]) / 0.7
            XCTAssertEqual(r.aggregate[i], expected, accuracy: 1e-4)
        }
        XCTAssertLessThan(try XCTUnwrap(r.error).means.total, 1e-9)
        XCTAssertThrowsError(try ReceiveChain(channels: h, design: design, devices: [0, 5], noisePowerW: 0))
    }

    func testUniformQuantizerIsTheDAC() throws {
        var v: [Float] = [0.5, -1, 0.26, 0]
        let step = try UniformQuantizer(bits: 3).quantize(&v)
        XCTAssertEqual(step, 1 / 3)
        XCTAssertEqual(v, [2 / 3, -1, 1 / 3, 0])
        var zeros: [Float] = [0, 0]
        XCTAssertEqual(try DAC(bits: 8).quantize(&zeros), 1)
        XCTAssertThrowsError(try UniformQuantizer(bits: 1))
        XCTAssertEqual(ResourceGrid.commonScale(energies: [8, 2, .nan], reals: 4), 2)
        XCTAssertEqual(ResourceGrid.commonScale(energies: [], reals: 4), 1)
    }
}
