import LinearAlgebra
import Numerics
import Randomness
import XCTest

@testable import Radio

/// The air summed in the combiner's space against the same air summed per antenna: the same
/// law. Over many rounds (fresh noise each), every measured error part of the two paths agrees
/// within 5 %, and the thermal part of both with the closed form σ²L/η; the noise factor is the
/// covariance's Cholesky factor, a singular covariance included.
final class StreamingReceiverCombinerSpaceTests: XCTestCase {
    /// 6 devices, 16 × 4 antennas, L = 2, 16 subcarriers, a 6-bit DAC, imperfect CSI.
    func testBothPathsMeasureTheSameErrorPartsOverManyRounds() throws {
        let nsc = 16
        let devices = 6
        let h = rayleighChannels(subcarriers: nsc, devices: devices, rx: 16, tx: 4, seed: 51)
        let a = try randomBeamformers(subcarriers: nsc, rx: 16, streams: 2, seed: 52)
        let design = try AirCompDesign(
            channels: h.estimated(nmse: 1e-2, seed: 53, round: 1), beamformers: a,
            powerW: [Double](repeating: 1, count: devices),
            weights: [Double](repeating: 1 / Double(devices), count: devices))
        let grid = try ResourceGrid(subcarriers: nsc, streams: 2)
        let noise = 0.05
        let predicted = design.mse(noisePowerW: noise).reduce(0, +) / Double(nsc)
        var sums: [ReceiverSpace: (thermal: Double, csi: Double, quantization: Double, total: Double)] = [:]
        let rounds = 12
        for round in 0..<rounds {
            let updates = randomUpdates(devices: devices, reals: 2 * 2 * nsc * 24, seed: 60 + UInt64(round))
            let c = try ResourceGrid.commonScale(updates: updates)
            let s = try updates.map { try grid.map(update: $0, scale: c) }
            let x = try (0..<devices).map { k -> SubcarrierBlocks in
                var x = try OverTheAir.precode(s[k], with: design.precoders[k])
                _ = try DAC(bits: 6).quantize(&x)
                return x
            }
            for space in ReceiverSpace.allCases {
                let chain = try ReceiveChain(channels: h, design: design, noisePowerW: noise, space: space, threads: 2)
                let got = try chain.receive(x, intended: s, scale: c, reals: updates[0].count, seed: 9, round: round)
                let m = try XCTUnwrap(got.error).means
                let old = sums[space] ?? (0, 0, 0, 0)
                sums[space] = (
                    old.thermal + m.thermal, old.csi + m.csi, old.quantization + m.quantization, old.total + m.total
                )
            }
        }
        let combiner = try XCTUnwrap(sums[.combiner])
        let antennas = try XCTUnwrap(sums[.antennas])
        XCTAssertEqual(combiner.thermal / antennas.thermal, 1, accuracy: 0.05, "thermal")
        XCTAssertEqual(combiner.csi / antennas.csi, 1, accuracy: 0.05, "CSI")
        XCTAssertEqual(combiner.quantization / antennas.quantization, 1, accuracy: 0.05, "quantisation")
        XCTAssertEqual(combiner.total / antennas.total, 1, accuracy: 0.05, "total")
        for (name, parts) in [("combiner", combiner), ("antennas", antennas)] {
            XCTAssertEqual(
                parts.thermal / Double(rounds) / predicted, 1, accuracy: 0.05, "\(name): thermal against σ²L/η")
            XCTAssertGreaterThan(parts.csi, 0.01 * parts.thermal, name)
            XCTAssertGreaterThan(parts.quantization, 0.01 * parts.thermal, name)
        }
        // The noise is each path's own draw: not the same samples, the same law.
        XCTAssertNotEqual(combiner.thermal, antennas.thermal)
    }

    /// The combined noise's sample covariance over many draws is σ²AᴴA/η (= σ²/η·I for the
    /// orthonormal combiners a design takes), within sampling error: the right power per stream
    /// and no correlation between streams.
    func testCombinedNoiseHasTheCombinersCovariance() throws {
        let nr = 8
        let l = 3
        let columns = 20_000
        let a = try randomBeamformers(subcarriers: 1, rx: nr, streams: l, seed: 71)[0]
        let h = rayleighChannels(subcarriers: 1, devices: 1, rx: nr, tx: l, seed: 72)
        let design = try AirCompDesign(channels: h, beamformers: [a], powerW: [1], weights: [1])
        let sigma2 = 0.3
        let noise = CombinerNoise(design: design, noisePowerW: sigma2)
        let perStream = sigma2 / design.eta[0]
        var out = [Float](repeating: 0, count: 2 * l * columns)
        var draws = [Float]()
        out.withUnsafeMutableBufferPointer {
            noise.add(subcarrier: 0, seed: 5, round: 2, columns: columns, draws: &draws, into: $0.baseAddress!)
        }
        for i in 0..<l {
            for j in 0..<l {
                var sample = Complex<Double>.zero
                var expected = Complex<Double>.zero
                for t in 0..<columns {
                    let u = Complex(Double(out[2 * (t * l + i)]), Double(out[2 * (t * l + i) + 1]))
                    let v = Complex(Double(out[2 * (t * l + j)]), Double(out[2 * (t * l + j) + 1]))
                    sample += u * v.conjugate
                }
                sample = sample / Complex(Double(columns))
                for r in 0..<nr { expected += a[r, i].conjugate * a[r, j] }
                expected = expected * Complex(perStream)
                // Sampling error of a covariance entry over 20,000 draws: ~1/√20000 ≈ 0.7 % of σ²/η.
                XCTAssertLessThan(
                    (sample - expected).length, 0.03 * perStream, "entry (\(i), \(j)): \(sample) against \(expected)")
            }
        }
    }

    /// F Fᴴ = M for a positive-definite M, and for a singular one (a zero column where M has no
    /// variance left), lower triangular either way.
    func testCholeskyFactorsPositiveSemidefiniteMatrices() {
        let l = 3
        var g = SeededGenerator(seed: 81)
        for rank in [3, 2] {
            let v = (0..<(l * rank)).map { _ in Complex(g.normal(), g.normal()) } // L × rank, row-major
            var m = [Complex<Double>](repeating: .zero, count: l * l)
            for i in 0..<l {
                for j in 0..<l { for k in 0..<rank { m[i * l + j] += v[i * rank + k] * v[j * rank + k].conjugate } }
            }
            let f = CombinerNoise.cholesky(m, size: l)
            for i in 0..<l {
                for j in 0..<l {
                    if j > i { XCTAssertEqual(f[i * l + j], .zero) }
                    var p = Complex<Double>.zero
                    for k in 0..<l { p += f[i * l + k] * f[j * l + k].conjugate }
                    XCTAssertLessThan(
                        (p - m[i * l + j]).length, 1e-9 * (1 + m[i * l + j].length), "rank \(rank), (\(i), \(j))")
                }
            }
        }
    }
}
