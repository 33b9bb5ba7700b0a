import Foundation
import LinearAlgebra
import Numerics
import XCTest

@testable import Radio

/// The specular path of TDL-D/E: a random phase per device that turns with Doppler, and present
/// only for devices whose LOS state is LOS.
///
/// Everything is read through `tapMatrices`: with no path loss its LOS row is √p_0·e^{jφ_k} a_r a_tᴴ,
/// and a_r a_tᴴ has entry (0, 0) = 1, so that entry's phase is φ_k.
final class LineOfSightTests: XCTestCase {
    /// Unit gain (no path loss, so every device is LOS), block fading unless `doppler` > 0.
    private func losProfile(
        _ profile: TDLProfile = .d, devices: Int, rx: Int = 2, tx: Int = 2,
        doppler: Double = 0, interval: Double = 1e-3
    ) -> ChannelConfiguration {
        var c = unitGain(profile: profile, devices: devices, rx: rx, tx: tx, subcarriers: 1)
        c.dopplerHz = doppler
        c.roundIntervalS = interval
        return c
    }

    /// The phase of complex z folded into [0, 2π).
    private func phase(_ z: Complex<Double>) -> Double {
        let p = z.phase
        return p < 0 ? p + 2 * Double.pi : p
    }

    /// 2000 devices: the phases φ_k must be U[0, 2π).
    ///
    /// - Kolmogorov–Smirnov: D_n < 1.95/√n rejects a true uniform with probability ≈ 0.001.
    /// - Mean resultant length R = |Σ e^{jφ_k}|/K: K·R² is Exp(1) for uniform phases, so
    ///   P(R ≥ 3/√K) = e^{−9} ≈ 1e-4. Equal phases give R = 1.
    /// - The LOS components summed over devices, ‖Σ_k S_k‖²_F / Σ_k ‖S_k‖²_F: 1 on average for
    ///   independent uniform phases (each entry's |Σ|²/K ≈ Exp(1), so > 6 has probability at most
    ///   4e^{−6} ≈ 1 % however the four entries depend on each other); coherent addition of entry
    ///   (0, 0) alone would give ≥ K/(N_r N_t) = 500.
    func testLineOfSightPhasesAreUniformAcrossDevices() throws {
        let K = 2000
        let model = try ChannelModel(configuration: losProfile(devices: K), seed: 2026)
        XCTAssertTrue(model.lineOfSight.allSatisfy { $0 })
        let p0 = model.tapPowers[0]
        let specular = (0..<K).map { (1 / p0.squareRoot()) * model.tapMatrices(device: $0)[0] }
        for s in specular { for z in s.elements { XCTAssertEqual(z.length, 1, accuracy: 1e-12) } }

        let phases = specular.map { phase($0[0, 0]) }.sorted()
        var ks = 0.0
        for (i, phi) in phases.enumerated() {
            let cdf = phi / (2 * Double.pi)
            ks = max(ks, abs(cdf - Double(i) / Double(K)), abs(Double(i + 1) / Double(K) - cdf))
        }
        XCTAssertLessThan(ks, 1.95 / Double(K).squareRoot(), "Kolmogorov–Smirnov distance to U[0, 2π)")

        let resultant = phases.reduce(Complex<Double>.zero) { $0 + Complex(length: 1, phase: $1) }
        XCTAssertLessThan(resultant.length / Double(K), 3 / Double(K).squareRoot(), "mean resultant length")

        var sum = ComplexMatrix<Double>(rows: 2, cols: 2)
        for s in specular { sum = sum + s }
        let ratio = sum.frobeniusNormSquared / Double(K * 4)
        XCTAssertLessThan(ratio, 6, "the devices' LOS paths must not add coherently at the BS")
    }

    /// One round turns every LOS path by 2π·f_S·T with f_S = 0.7 f_D (TR 38.901 §7.7.2), steering
    /// and modulus unchanged; 25 rounds by 25 times that (past 2π, so the wrap is exercised).
    /// f_D = 0 leaves it exactly as drawn.
    func testLineOfSightPhaseTurnsWithDoppler() throws {
        let (devices, interval) = (6, 1e-3)
        for doppler in [0.0, 100.0] {
            var model = try ChannelModel(
                configuration: losProfile(.e, devices: devices, rx: 3, doppler: doppler, interval: interval), seed: 9)
            let start = (0..<devices).map { model.tapMatrices(device: $0)[0] }
            model.advance()
            let one = (0..<devices).map { model.tapMatrices(device: $0)[0] }
            model.advance(to: 25)
            let many = (0..<devices).map { model.tapMatrices(device: $0)[0] }
            let step = 2 * Double.pi * 0.7 * doppler * interval
            for k in 0..<devices {
                if doppler == 0 {
                    XCTAssertEqual(one[k], start[k], "device \(k): f_D = 0 keeps the LOS phase")
                    XCTAssertEqual(many[k], start[k])
                }
                for (rounds, later) in [(1, one[k]), (25, many[k])] {
                    let turn = Complex<Double>(length: 1, phase: Double(rounds) * step)
                    for e in start[k].elements.indices {
                        let expected = turn * start[k].elements[e]
                        XCTAssertLessThan(
                            (later.elements[e] - expected).length, 1e-12,
                            "f_D \(doppler), device \(k), \(rounds) rounds")
                    }
                }
            }
        }
    }

    /// UMi with the LOS state drawn (P(LOS) 0.77 at 30 m, 0.13 at 150 m), TDL-D, 400 devices × 4
    /// entries × 8 block-fading rounds. Per device and entry, x = |h_0|²/(β_k (p_0 + p_1)) with h_0
    /// the first tap (LOS row + Rayleigh row, both at delay 0):
    /// - NLOS devices: the LOS row is never of constant modulus, and h_0 is Rayleigh, so x is Exp(1):
    ///   E x = 1 (≈ 7000 samples, std 0.012, tolerance 0.06) and E x²/(E x)² = 2 (delta-method std
    ///   2/√n ≈ 0.024, tolerance 0.15). A Ricean first tap with K = 13.3 dB would give 1.087.
    /// - LOS devices: the LOS row has modulus √(β_k p_0) in every entry and E x²/(E x)² is the
    ///   Ricean (2 + 4K + K²)/(1 + K)² ≈ 1.087 (std ≈ 0.002 at ≈ 6000 samples, tolerance 0.03).
    /// The LOS state moves nothing else: with LOS forced, the rows after the first are the same.
    func testNLOSDevicesHaveNoSpecularPath() throws {
        var cfg = ChannelConfiguration()
        cfg.pathLoss = .umi
        cfg.lineOfSight = .auto
        cfg.profile = .d
        cfg.devices = 400
        cfg.distancesM = (0..<400).map { $0 < 200 ? 30 : 150 }
        cfg.receiveAntennas = 2
        cfg.transmitAntennas = 2
        cfg.subcarriers = 1
        var model = try ChannelModel(configuration: cfg, seed: 17)
        let nlos = (0..<400).filter { !model.lineOfSight[$0] }
        XCTAssertGreaterThan(nlos.count, 100)
        XCTAssertGreaterThan(400 - nlos.count, 100)
        let (p0, p1) = (model.tapPowers[0], model.tapPowers[1])
        XCTAssertEqual(model.tapPowers.reduce(0, +), 1, accuracy: 1e-12)

        cfg.lineOfSight = .always
        let forced = try ChannelModel(configuration: cfg, seed: 17)
        for k in nlos {
            let a = model.tapMatrices(device: k)
            let b = forced.tapMatrices(device: k)
            let scale = (forced.largeScaleGains[k] / model.largeScaleGains[k]).squareRoot()
            for l in 1..<a.count {
                XCTAssertLessThan(
                    (scale * a[l] - b[l]).frobeniusNormSquared, 1e-20 * b[l].frobeniusNormSquared,
                    "device \(k) row \(l)")
            }
        }

        var moments = [Moments(), Moments()] // [NLOS, LOS]
        var constantModulusNLOS = 0
        for _ in 0..<8 {
            for k in 0..<400 {
                let m = model.tapMatrices(device: k)
                let beta = model.largeScaleGains[k]
                let isLOS = model.lineOfSight[k]
                for e in m[0].elements.indices {
                    let row0 = m[0].elements[e].lengthSquared / (beta * p0)
                    if isLOS { XCTAssertEqual(row0, 1, accuracy: 1e-9, "LOS device \(k) must keep its specular path") }
                    if !isLOS && abs(row0 - 1) < 1e-9 { constantModulusNLOS += 1 }
                    moments[isLOS ? 1 : 0].add((m[0].elements[e] + m[1].elements[e]).lengthSquared / (beta * (p0 + p1)))
                }
            }
            model.advance()
        }
        XCTAssertEqual(constantModulusNLOS, 0, "an NLOS device's LOS row must be Rayleigh, not specular")
        let riceK = p0 / p1
        let ricean = (2 + 4 * riceK + riceK * riceK) / ((1 + riceK) * (1 + riceK))
        for (isLOS, target, tolerance) in [(false, 2.0, 0.15), (true, ricean, 0.03)] {
            let m = moments[isLOS ? 1 : 0]
            XCTAssertEqual(m.mean, 1, accuracy: 0.06, "LOS \(isLOS): first-tap power")
            XCTAssertEqual(m.secondOverFirstSquared, target, accuracy: tolerance, "LOS \(isLOS): E x²/(E x)²")
        }
    }

    /// Running Σx, Σx², n of a sample.
    private struct Moments {
        var s1 = 0.0, s2 = 0.0, n = 0
        mutating func add(_ x: Double) {
            s1 += x
            s2 += x * x
            n += 1
        }
        var mean: Double { s1 / Double(n) }
        /// E x² / (E x)², 2 for an exponential x (Rayleigh |h|²).
        var secondOverFirstSquared: Double { s2 / Double(n) / (mean * mean) }
    }
}
