import Foundation
import LinearAlgebra
import Numerics
import XCTest

@testable import Radio

/// The channel model over time, across antennas and as estimated: AR(1) evolution against Jakes'
/// J0, exponential antenna correlation, imperfect CSI. Tolerances as in ChannelModelTests.
final class ChannelDynamicsTests: XCTestCase {
    // MARK: - Helpers

    /// J0 by its power series Σ (−x²/4)^k / (k!)², independent of libm's j0.
    private func besselJ0(_ x: Double) -> Double {
        var term = 1.0
        var sum = 1.0
        let q = x * x / 4
        for k in 1..<40 {
            term *= -q / Double(k * k)
            sum += term
        }
        return sum
    }

    /// Accumulates Σ a·b*, Σ|a|², Σ|b|² for a normalised correlation estimate.
    private struct Correlation {
        var cross = Complex<Double>.zero, a = 0.0, b = 0.0, count = 0
        mutating func add(_ x: Complex<Double>, _ y: Complex<Double>) {
            cross += x * y.conjugate
            a += x.lengthSquared
            b += y.lengthSquared
            count += 1
        }
        var value: Complex<Double> {
            Complex(cross.real / (a * b).squareRoot(), cross.imaginary / (a * b).squareRoot())
        }
    }

    // MARK: - (e) AR(1) time evolution

    /// Normalised correlation between consecutive rounds' (unit-variance) taps over 16 devices ×
    /// 23 taps × 16 entries × 5 round pairs = 29 440 samples. At ρ = 0.9 the estimator's std is
    /// ≈ (1 − ρ²)/√N ≈ 0.001 (tolerance 0.01); at ρ = 0 it is √(½/N) ≈ 0.004 (tolerance 0.02).
    private func measuredTimeCorrelation(doppler: Double, interval: Double, lag: Int = 1) throws -> (
        ChannelModel, Complex<Double>, Double
    ) {
        var cfg = unitGain(devices: 16, rx: 4, tx: 4)
        cfg.dopplerHz = doppler
        cfg.roundIntervalS = interval
        var model = try ChannelModel(configuration: cfg, seed: 31)
        var history: [[[ComplexMatrix<Double>]]] = []
        for _ in 0..<(5 + lag) {
            history.append((0..<16).map { normalisedTaps(model, device: $0) })
            model.advance()
        }
        var corr = Correlation()
        for r in 0..<5 {
            for k in 0..<16 {
                for l in history[r][k].indices {
                    for e in 0..<16 { corr.add(history[r + lag][k][l].elements[e], history[r][k][l].elements[e]) }
                }
            }
        }
        return (model, corr.value, corr.a / Double(corr.count))
    }

    func testAR1CorrelationMatchesJakes() throws {
        let interval = 1e-3
        // Solve J0(2π f_D T) = 0.9 by bisection on [0, 2] (J0 decreases there).
        var lo = 0.0
        var hi = 2.0
        for _ in 0..<80 {
            let mid = (lo + hi) / 2
            if besselJ0(mid) > 0.9 { lo = mid } else { hi = mid }
        }
        let doppler = lo / (2 * Double.pi * interval) // ≈ 102 Hz
        let (model, rho, power) = try measuredTimeCorrelation(doppler: doppler, interval: interval)
        XCTAssertEqual(model.timeCorrelation, 0.9, accuracy: 1e-9)
        XCTAssertEqual(rho.real, 0.9, accuracy: 0.01)
        XCTAssertEqual(rho.imaginary, 0, accuracy: 0.01)
        // The AR(1) keeps the power stationary (unit after normalisation): 29 440 exponential
        // samples, relative std 0.6 %, tolerance 3 %.
        XCTAssertEqual(power, 1, accuracy: 0.03)
        // Two steps apart the correlation is ρ².
        let (_, rho2, _) = try measuredTimeCorrelation(doppler: doppler, interval: interval, lag: 2)
        XCTAssertEqual(rho2.real, 0.81, accuracy: 0.015)
    }

    func testZeroDopplerIsBlockFading() throws {
        let (model, rho, power) = try measuredTimeCorrelation(doppler: 0, interval: 1e-3)
        XCTAssertEqual(model.timeCorrelation, 0)
        XCTAssertEqual(rho.real, 0, accuracy: 0.02)
        XCTAssertEqual(rho.imaginary, 0, accuracy: 0.02)
        XCTAssertEqual(power, 1, accuracy: 0.03)
    }

    // MARK: - (f) Antenna correlation

    /// Correlation between receive antennas r and r + lag (and transmit t, t + 1) over 16 devices ×
    /// 23 taps × 4 rounds; tens of thousands of pairs, estimator std ≲ 0.005, tolerance 0.03.
    func testExponentialAntennaCorrelation() throws {
        var cfg = unitGain(devices: 16, rx: 8, tx: 4)
        cfg.receiveCorrelation = 0.7
        cfg.transmitCorrelation = 0.4
        var model = try ChannelModel(configuration: cfg, seed: 41)
        var rx1 = Correlation()
        var rx2 = Correlation()
        var tx1 = Correlation()
        for _ in 0..<4 {
            for k in 0..<16 {
                for m in normalisedTaps(model, device: k) {
                    for t in 0..<4 {
                        for r in 0..<7 { rx1.add(m[r, t], m[r + 1, t]) }
                        for r in 0..<6 { rx2.add(m[r, t], m[r + 2, t]) }
                    }
                    for r in 0..<8 { for t in 0..<3 { tx1.add(m[r, t], m[r, t + 1]) } }
                }
            }
            model.advance()
        }
        XCTAssertEqual(rx1.value.real, 0.7, accuracy: 0.03)
        XCTAssertEqual(rx2.value.real, 0.49, accuracy: 0.03)
        XCTAssertEqual(tx1.value.real, 0.4, accuracy: 0.03)
        XCTAssertEqual(rx1.value.imaginary, 0, accuracy: 0.03)
        // Correlation does not change the per-entry power.
        XCTAssertEqual(rx1.a / Double(rx1.count), 1, accuracy: 0.05)
    }

    // MARK: - (g) Imperfect CSI

    /// ‖Ĥ_k − H_k‖² / ‖H_k‖² over 64 subcarriers × 32 antenna pairs = 2048 complex errors per
    /// device: relative std 1/√2048 ≈ 2.2 %, tolerance 5σ = 11 % of 0.1. Devices 40 dB apart in
    /// gain must both see NMSE 0.1.
    func testImperfectCSI() throws {
        var cfg = ChannelConfiguration()
        cfg.devices = 2
        cfg.distancesM = [25, 600]
        cfg.shadowing = false
        cfg.receiveAntennas = 8
        cfg.transmitAntennas = 4
        cfg.subcarriers = 64
        let h = try ChannelModel(configuration: cfg, seed: 13).frequencyResponse()
        XCTAssertEqual(h.estimated(nmse: 0, seed: 1, round: 0), h)
        let estimate = h.estimated(nmse: 0.1, seed: 1, round: 0)
        XCTAssertGreaterThan(h.meanGain(device: 0) / h.meanGain(device: 1), 1e3, "devices must differ strongly in gain")
        for k in 0..<2 {
            var error = 0.0
            var power = 0.0
            for n in 0..<64 {
                for r in 0..<8 {
                    for t in 0..<4 {
                        let a = h[n, k, r, t]
                        let b = estimate[n, k, r, t]
                        error += Double((b - a).lengthSquared)
                        power += Double(a.lengthSquared)
                    }
                }
            }
            XCTAssertEqual(error / power, 0.1, accuracy: 0.011, "device \(k)")
        }
        XCTAssertEqual(h.estimated(nmse: 0.1, seed: 1, round: 0), estimate, "same seed and round, same estimate")
        XCTAssertNotEqual(h.estimated(nmse: 0.1, seed: 1, round: 1), estimate)
        XCTAssertNotEqual(h.estimated(nmse: 0.1, seed: 2, round: 0), estimate)
    }
}
