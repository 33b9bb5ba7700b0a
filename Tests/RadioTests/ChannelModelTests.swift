import Foundation
import LinearAlgebra
import Numerics
import XCTest
@testable import Radio

/// Statistical and structural checks of the TDL MIMO channel model.
///
/// Statistical tolerances are about 5 standard deviations of the estimator for the sample count
/// used (stated at each check), so a correct model passes with a fixed seed and, more to the point,
/// would pass for almost any seed, while a wrong power, correlation or scaling is far outside.
final class ChannelModelTests: XCTestCase {
    // MARK: - Helpers

    /// Unit mean gain (no path loss), i.i.d. antennas, block fading.
    private func unitGain(profile: TDLProfile = .a, devices: Int, rx: Int, tx: Int, subcarriers: Int = 8,
                          delaySpread: Double = 100e-9) -> ChannelConfiguration {
        var c = ChannelConfiguration()
        c.pathLoss = nil
        c.profile = profile
        c.devices = devices
        c.receiveAntennas = rx
        c.transmitAntennas = tx
        c.subcarriers = subcarriers
        c.delaySpreadS = delaySpread
        return c
    }

    /// The profile's tap powers normalised to unit sum, computed here from the table rows.
    private func expectedPowers(_ profile: TDLProfile) -> [Double] {
        let linear = profile.taps.map { pow(10.0, $0.powerDB / 10.0) }
        let total = linear.reduce(0, +)
        return linear.map { $0 / total }
    }

    /// Tap matrices of device k with each tap divided by √p_l: entries of unit variance.
    private func normalisedTaps(_ model: ChannelModel, device k: Int) -> [ComplexMatrix<Double>] {
        model.tapMatrices(device: k).enumerated().map { l, m in (1 / model.tapPowers[l].squareRoot()) * m }
    }

    /// J0 by its power series Σ (−x²/4)^k / (k!)², independent of libm's j0.
    private func besselJ0(_ x: Double) -> Double {
        var term = 1.0, sum = 1.0
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
        var value: Complex<Double> { Complex(cross.real / (a * b).squareRoot(), cross.imaginary / (a * b).squareRoot()) }
    }

    // MARK: - (a) Mean tap powers

    /// Averages |tap|² per tap over 64 devices × 16 antenna pairs × 8 independent rounds (block
    /// fading) = 8192 samples per tap. |h|² of a CN(0, p) entry is exponential (std = mean), so the
    /// average has relative std 1/√8192 ≈ 1.1 %; the tolerance is 5σ ≈ 5.5 % for every tap, weak
    /// taps included (the relative spread does not depend on the tap's power).
    private func checkTapPowers(_ profile: TDLProfile, file: StaticString = #filePath, line: UInt = #line) throws {
        let (devices, rounds) = (64, 8)
        // A different seed per profile, so the three profile tests use different draws.
        let seed = 2024 + UInt64(TDLProfile.allCases.firstIndex(of: profile)!)
        var model = try ChannelModel(configuration: unitGain(profile: profile, devices: devices, rx: 4, tx: 4), seed: seed)
        let expected = expectedPowers(profile)
        XCTAssertEqual(model.tapPowers.count, expected.count, file: file, line: line)
        XCTAssertEqual(model.tapPowers.reduce(0, +), 1, accuracy: 1e-12, file: file, line: line)
        for l in expected.indices { XCTAssertEqual(model.tapPowers[l], expected[l], accuracy: 1e-12, file: file, line: line) }
        XCTAssertEqual(model.largeScaleGains, Array(repeating: 1, count: devices), file: file, line: line)

        let taps = profile.taps
        var sums = [Double](repeating: 0, count: taps.count)
        var samples = 0
        var firstLOS: [ComplexMatrix<Double>] = []
        for round in 0..<rounds {
            for k in 0..<devices {
                let m = model.tapMatrices(device: k)
                for l in taps.indices { sums[l] += m[l].elements.reduce(0) { $0 + $1.lengthSquared } }
                if taps[0].isLineOfSight {
                    // The specular row: unit-modulus entries times √p_0, and static over rounds.
                    for z in m[0].elements { XCTAssertEqual(z.lengthSquared, expected[0], accuracy: 1e-12, file: file, line: line) }
                    if round == 0 { firstLOS.append(m[0]) } else {
                        XCTAssertEqual(m[0], firstLOS[k], "LOS component must not change between rounds", file: file, line: line)
                    }
                }
            }
            samples += devices * 16
            model.advance()
        }
        let tolerance = 5 / Double(samples).squareRoot()
        for l in taps.indices where !taps[l].isLineOfSight {
            let ratio = sums[l] / Double(samples) / expected[l]
            XCTAssertEqual(ratio, 1, accuracy: tolerance, "\(profile.rawValue) tap \(l): measured/expected power", file: file, line: line)
        }
    }

    func testMeanTapPowersTDLA() throws { try checkTapPowers(.a) }

    func testMeanTapPowersTDLC() throws { try checkTapPowers(.c) }

    func testMeanTapPowersTDLDWithDeterministicLOS() throws { try checkTapPowers(.d) }

    // MARK: - Frequency response

    /// H_k[n] = Σ_l H_{k,l} exp(−j2π n Δf τ_l) with τ_l = normalised delay × delay spread, checked
    /// by a plain loop (with path loss on, so √β_k is in the taps).
    func testFrequencyResponseIsTheDFTOfTheTaps() throws {
        var cfg = ChannelConfiguration()
        cfg.devices = 2
        cfg.receiveAntennas = 3
        cfg.transmitAntennas = 2
        cfg.subcarriers = 12
        cfg.delaySpreadS = 300e-9
        cfg.distancesM = [40, 120]
        let model = try ChannelModel(configuration: cfg, seed: 3)
        let tensor = model.frequencyResponse()
        XCTAssertEqual(tensor.subcarriers, 12)
        XCTAssertEqual(tensor.devices, 2)
        XCTAssertEqual(tensor.receiveAntennas, 3)
        XCTAssertEqual(tensor.transmitAntennas, 2)
        let delays = cfg.profile.taps.map { $0.normalizedDelay * 300e-9 }
        for (l, d) in delays.enumerated() { XCTAssertEqual(model.tapDelaysS[l], d, accuracy: 1e-20) }
        for k in 0..<2 {
            let taps = model.tapMatrices(device: k)
            let scale = model.largeScaleGains[k].squareRoot()
            for n in 0..<12 {
                for r in 0..<3 {
                    for t in 0..<2 {
                        var h = Complex<Double>.zero
                        for l in taps.indices {
                            h += taps[l][r, t] * Complex(length: 1, phase: -2 * Double.pi * Double(n) * 30e3 * delays[l])
                        }
                        let got = tensor[n, k, r, t]
                        let diff = (Complex(Double(got.real), Double(got.imaginary)) - h).length
                        XCTAssertLessThan(diff, 1e-5 * scale, "H_\(k)[\(n)](\(r), \(t))")
                    }
                }
            }
        }
    }

    // MARK: - (b) Reproducibility

    func testSameSeedSameChannelsDifferentSeedDifferent() throws {
        var cfg = ChannelConfiguration()  // path loss, shadowing, random distances and LOS all on
        cfg.devices = 3
        cfg.receiveAntennas = 4
        cfg.transmitAntennas = 2
        cfg.subcarriers = 16
        cfg.dopplerHz = 5
        var a = try ChannelModel(configuration: cfg, seed: 99)
        var b = try ChannelModel(configuration: cfg, seed: 99)
        let c = try ChannelModel(configuration: cfg, seed: 100)
        let ha = a.frequencyResponse()
        XCTAssertEqual(ha, b.frequencyResponse())
        XCTAssertEqual(a.lossDB, b.lossDB)
        XCTAssertEqual(a.distancesM, b.distancesM)
        let hc = c.frequencyResponse()
        XCTAssertNotEqual(a.distancesM, c.distancesM)
        XCTAssertEqual(zip(ha.elements, hc.elements).filter { $0 == $1 }.count, 0, "different seeds must give different channels")

        // Time evolution is reproducible too, and advance(to:) equals repeated advance().
        a.advance()
        a.advance()
        a.advance()
        b.advance(to: 3)
        XCTAssertEqual(a.round, 3)
        XCTAssertEqual(a.frequencyResponse(), b.frequencyResponse())
        XCTAssertNotEqual(a.frequencyResponse(), ha)
    }

    /// Each device draws from its own substreams, so adding devices leaves the others' channels alone.
    func testAddingDevicesDoesNotChangeExistingOnes() throws {
        var cfg = ChannelConfiguration()
        cfg.receiveAntennas = 2
        cfg.transmitAntennas = 2
        cfg.subcarriers = 8
        cfg.devices = 3
        let small = try ChannelModel(configuration: cfg, seed: 5).frequencyResponse()
        cfg.devices = 5
        let large = try ChannelModel(configuration: cfg, seed: 5).frequencyResponse()
        for n in 0..<8 { for k in 0..<3 { for r in 0..<2 { for t in 0..<2 { XCTAssertEqual(small[n, k, r, t], large[n, k, r, t]) } } } }
    }

    // MARK: - (c) Delay spread and coherence bandwidth

    /// The 50 % crossing of the theoretical frequency correlation |Σ_l p_l exp(j2π m Δf τ_l)|,
    /// located the same way the statistic does (linear interpolation between subcarriers).
    private func theoreticalCoherenceBandwidth(_ model: ChannelModel) -> (bandwidth: Double?, minimum: Double) {
        let cfg = model.configuration
        var previous = 1.0, minimum = 1.0
        var result: Double? = nil
        for m in 1..<cfg.subcarriers {
            var acc = Complex<Double>.zero
            for l in model.tapPowers.indices {
                let phase: Double = 2 * Double.pi * Double(m) * cfg.subcarrierSpacingHz * model.tapDelaysS[l]
                acc += Complex(model.tapPowers[l] * cos(phase), model.tapPowers[l] * sin(phase))
            }
            let rho = acc.length
            minimum = min(minimum, rho)
            if result == nil && rho < 0.5 { result = (Double(m - 1) + (previous - 0.5) / (previous - rho)) * cfg.subcarrierSpacingHz }
            previous = rho
        }
        return (result, minimum)
    }

    /// 256 subcarriers at 30 kHz (7.68 MHz), TDL-A, 4×4 antennas.
    ///
    /// - delay_spread_s: the statistic uses the realised tap powers (16 entries per tap and device).
    ///   Over 40 seeds its ratio to the configured spread had mean 1.000–1.003 (the table's own
    ///   normalised spread is 1.0001) and std 1.7 %, 1.2 %, 0.8 % for 8, 16, 32 devices, so the
    ///   tolerance of 8 % is ≥ 5σ in every case.
    /// - coherence bandwidth: for 30 ns the theoretical correlation never drops below 0.73 in the
    ///   band, so the statistic must be nil (the empirical minimum stayed above 0.64 in 100
    ///   simulated draws); for 1 µs it must be within 15 % of the theoretical crossing (simulated
    ///   spread ≈1 % for 32 devices); 300 ns must lie between the two (theory: 5.0 vs 1.5 MHz).
    func testDelaySpreadAndCoherenceBandwidth() throws {
        var bandwidths: [Double: Double?] = [:]
        for (spread, devices) in [(30e-9, 8), (300e-9, 16), (1000e-9, 32)] {
            let model = try ChannelModel(
                configuration: unitGain(devices: devices, rx: 4, tx: 4, subcarriers: 256, delaySpread: spread), seed: 77)
            let stats = ChannelStatistics(model: model, tensor: model.frequencyResponse())
            XCTAssertEqual(stats.meanGain.count, devices)
            XCTAssertEqual(stats.delaySpreadS / spread, 1.0001, accuracy: 0.08, "delay spread at \(spread) s")
            let theory = theoreticalCoherenceBandwidth(model)
            bandwidths[spread] = stats.coherenceBandwidthHz
            switch spread {
            case 30e-9:
                XCTAssertNil(theory.bandwidth)
                XCTAssertGreaterThan(theory.minimum, 0.7)
                XCTAssertNil(stats.coherenceBandwidthHz, "30 ns: correlation stays above 0.5 over 7.68 MHz")
            case 1000e-9:
                let expected = try XCTUnwrap(theory.bandwidth)
                let got = try XCTUnwrap(stats.coherenceBandwidthHz)
                XCTAssertEqual(got / expected, 1, accuracy: 0.15, "1 µs: \(got) Hz vs theory \(expected) Hz")
            default:
                break
            }
        }
        let b300 = try XCTUnwrap(bandwidths[300e-9] ?? nil, "300 ns must have a coherence bandwidth inside 7.68 MHz")
        let b1000 = try XCTUnwrap(bandwidths[1000e-9] ?? nil)
        XCTAssertGreaterThan(b300, 2 * b1000, "coherence bandwidth must shrink as the delay spread grows (theory ratio 3.3)")
        XCTAssertLessThan(b300, 256 * 30e3)
    }

    /// The tensor-only statistics resolve delays on the 1/(N Δf) grid: two equal taps exactly 4
    /// bins apart have an RMS delay spread of 2 bins, and a single tap has none.
    func testDelaySpreadFromFrequencyResponseAlone() {
        let (N, spacing) = (32, 30e3)
        let bin = 1 / (Double(N) * spacing)
        var two = ChannelTensor(subcarriers: N, devices: 1, receiveAntennas: 1, transmitAntennas: 1)
        var one = two
        for n in 0..<N {
            let d = Complex<Double>(length: 1, phase: -2 * Double.pi * Double(n) * 4 / Double(N))
            let h = Complex<Double>(1, 0) + d
            two[n, 0, 0, 0] = Complex(Float(h.real), Float(h.imaginary))
            one[n, 0, 0, 0] = Complex(Float(d.real), Float(d.imaginary))
        }
        XCTAssertEqual(ChannelStatistics(tensor: two, subcarrierSpacingHz: spacing).delaySpreadS, 2 * bin, accuracy: 1e-3 * bin)
        let single = ChannelStatistics(tensor: one, subcarrierSpacingHz: spacing)
        XCTAssertEqual(single.delaySpreadS, 0, accuracy: 1e-3 * bin)
        XCTAssertNil(single.coherenceBandwidthHz, "a flat channel stays fully correlated")
        XCTAssertEqual(single.meanGain[0], 1, accuracy: 1e-6)
    }

    // MARK: - (d) Path loss

    /// With shadowing off, loss is exactly 38.901's path loss at the configured distance. The
    /// measured mean gain averages 16 rounds × 64 subcarriers × 16×4 antenna pairs; per round the
    /// relative spread of E|h|² is about √(Σp_l²/64) ≈ 5 % (TDL-A, Σp_l² = 0.144) plus the
    /// unresolved-tap cross terms, so over 16 rounds ≈ 2 %; the tolerance is 10 %.
    func testMeanGainFollowsPathLoss() throws {
        var cfg = ChannelConfiguration()
        cfg.pathLoss = .umi
        cfg.shadowing = false
        cfg.devices = 4
        cfg.distancesM = [20, 80, 250, 1000]
        cfg.receiveAntennas = 16
        cfg.transmitAntennas = 4
        cfg.subcarriers = 64
        cfg.delaySpreadS = 300e-9
        var model = try ChannelModel(configuration: cfg, seed: 11)
        let reference = PathLossModel(scenario: .umi, carrierHz: cfg.carrierHz)
        XCTAssertEqual(model.distancesM, [20, 80, 250, 1000])
        for k in 0..<4 {
            XCTAssertEqual(model.lossDB[k], reference.pathLossDB(distance2D: cfg.distancesM![k], lineOfSight: model.lineOfSight[k]), accuracy: 1e-9)
            XCTAssertEqual(model.largeScaleGains[k], pow(10, -model.lossDB[k] / 10), accuracy: 1e-12 * model.largeScaleGains[k])
        }
        var sums = [Double](repeating: 0, count: 4)
        let rounds = 16
        for round in 0..<rounds {
            let tensor = model.frequencyResponse()
            if round == 0 {
                // mean_gain of the statistics is E|h|² per device (by loop here).
                let stats = ChannelStatistics(model: model, tensor: tensor)
                for k in 0..<4 {
                    var p = 0.0
                    for n in 0..<64 { for r in 0..<16 { for t in 0..<4 { p += Double(tensor[n, k, r, t].lengthSquared) } } }
                    XCTAssertEqual(stats.meanGain[k], p / (64 * 64), accuracy: 1e-9 * stats.meanGain[k])
                }
            }
            for k in 0..<4 { sums[k] += tensor.meanGain(device: k) }
            model.advance()
        }
        for k in 0..<4 {
            let ratio = sums[k] / Double(rounds) / pow(10, -model.lossDB[k] / 10)
            XCTAssertEqual(ratio, 1, accuracy: 0.10, "device \(k) at \(cfg.distancesM![k]) m, loss \(model.lossDB[k]) dB")
        }
    }

    /// 1000 devices (UMi, LOS drawn), 500 at 30 m and 500 at 150 m, where 38.901 gives
    /// P(LOS) = 18/d + e^(−d/36)(1 − 18/d) = 0.7738 and 0.1336: binomial std ≤ 0.019, tolerance 5σ.
    /// Shadowing: lossDB − PL is N(0, σ²) with σ = 4 dB (LOS) and 7.82 dB (NLOS); with n ≈ 450/550
    /// draws the sample std has std σ/√(2n), the mean σ/√n, tolerances 5× those.
    func testLineOfSightProbabilityAndShadowing() throws {
        var cfg = ChannelConfiguration()
        cfg.devices = 1000
        cfg.distancesM = (0..<1000).map { $0 < 500 ? 30 : 150 }
        cfg.receiveAntennas = 1
        cfg.transmitAntennas = 1
        cfg.subcarriers = 1
        let model = try ChannelModel(configuration: cfg, seed: 8)
        let reference = PathLossModel(scenario: .umi, carrierHz: cfg.carrierHz)
        for (range, d) in [(0..<500, 30.0), (500..<1000, 150.0)] {
            let pLOS = 18 / d + exp(-d / 36) * (1 - 18 / d)
            let fraction = Double(range.filter { model.lineOfSight[$0] }.count) / 500
            XCTAssertEqual(fraction, pLOS, accuracy: 5 * (pLOS * (1 - pLOS) / 500).squareRoot(), "P(LOS) at \(d) m")
        }
        for (isLOS, sigma) in [(true, 4.0), (false, 7.82)] {
            let shadows = (0..<1000).filter { model.lineOfSight[$0] == isLOS }.map {
                model.lossDB[$0] - reference.pathLossDB(distance2D: cfg.distancesM![$0], lineOfSight: isLOS)
            }
            let n = Double(shadows.count)
            let mean = shadows.reduce(0, +) / n
            let std = (shadows.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / (n - 1)).squareRoot()
            XCTAssertEqual(mean, 0, accuracy: 5 * sigma / n.squareRoot(), "LOS \(isLOS)")
            XCTAssertEqual(std, sigma, accuracy: 5 * sigma / (2 * n).squareRoot(), "LOS \(isLOS)")
        }
    }

    /// Without fixed distances, devices are uniform over the annulus: P(d² ≤ (a² + b²)/2) = ½.
    func testDrawnDistancesAreUniformOverTheAnnulus() throws {
        var cfg = ChannelConfiguration()
        cfg.devices = 1000
        cfg.receiveAntennas = 1
        cfg.transmitAntennas = 1
        cfg.subcarriers = 1
        cfg.minDistanceM = 30
        cfg.maxDistanceM = 300
        let model = try ChannelModel(configuration: cfg, seed: 12)
        XCTAssertTrue(model.distancesM.allSatisfy { $0 >= 30 && $0 <= 300 })
        let median = ((30.0 * 30 + 300 * 300) / 2).squareRoot()  // 213.4 m, not the radial midpoint 165 m
        let inner = Double(model.distancesM.filter { $0 <= median }.count) / 1000
        XCTAssertEqual(inner, 0.5, accuracy: 5 * 0.5 / 1000.0.squareRoot())
    }

    // MARK: - (e) AR(1) time evolution

    /// Normalised correlation between consecutive rounds' (unit-variance) taps over 16 devices ×
    /// 23 taps × 16 entries × 5 round pairs = 29 440 samples. At ρ = 0.9 the estimator's std is
    /// ≈ (1 − ρ²)/√N ≈ 0.001 (tolerance 0.01); at ρ = 0 it is √(½/N) ≈ 0.004 (tolerance 0.02).
    private func measuredTimeCorrelation(doppler: Double, interval: Double, lag: Int = 1) throws -> (ChannelModel, Complex<Double>, Double) {
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
        var lo = 0.0, hi = 2.0
        for _ in 0..<80 {
            let mid = (lo + hi) / 2
            if besselJ0(mid) > 0.9 { lo = mid } else { hi = mid }
        }
        let doppler = lo / (2 * Double.pi * interval)  // ≈ 102 Hz
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
        var rx1 = Correlation(), rx2 = Correlation(), tx1 = Correlation()
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
            var error = 0.0, power = 0.0
            for n in 0..<64 { for r in 0..<8 { for t in 0..<4 {
                let a = h[n, k, r, t], b = estimate[n, k, r, t]
                error += Double((b - a).lengthSquared)
                power += Double(a.lengthSquared)
            } } }
            XCTAssertEqual(error / power, 0.1, accuracy: 0.011, "device \(k)")
        }
        XCTAssertEqual(h.estimated(nmse: 0.1, seed: 1, round: 0), estimate, "same seed and round, same estimate")
        XCTAssertNotEqual(h.estimated(nmse: 0.1, seed: 1, round: 1), estimate)
        XCTAssertNotEqual(h.estimated(nmse: 0.1, seed: 2, round: 0), estimate)
    }

    // MARK: - (h) Configuration

    private func assertKey(_ key: String, file: StaticString = #filePath, line: UInt = #line, _ edit: (inout ChannelConfiguration) -> Void) {
        var cfg = ChannelConfiguration()
        edit(&cfg)
        XCTAssertThrowsError(try cfg.validate(), file: file, line: line) {
            XCTAssertEqual(($0 as? ConfigurationError)?.key, key, "\($0)", file: file, line: line)
        }
        XCTAssertThrowsError(try ChannelModel(configuration: cfg, seed: 1), file: file, line: line) {
            XCTAssertEqual(($0 as? ConfigurationError)?.key, key, file: file, line: line)
        }
    }

    func testValidationErrorsNameTheKey() throws {
        XCTAssertNoThrow(try ChannelConfiguration().validate())
        assertKey("devices") { $0.devices = 0 }
        assertKey("subcarriers") { $0.subcarriers = 0 }
        assertKey("rx_antennas") { $0.receiveAntennas = 0 }
        assertKey("rx_correlation") { $0.receiveCorrelation = 1.2 }
        assertKey("rx_correlation") { $0.receiveCorrelation = 1.0 }
        assertKey("tx_correlation") { $0.transmitCorrelation = -0.1 }
        assertKey("distances_m") { $0.distancesM = [50, 60] }  // 4 devices by default
        assertKey("distances_m") { $0.distancesM = [50, 60, 5, 70] }
        assertKey("carrier_hz") { $0.carrierHz = 200e9 }
        assertKey("delay_spread_s") { $0.delaySpreadS = -1e-9 }
        assertKey("subcarrier_spacing_hz") { $0.subcarrierSpacingHz = .nan }
        assertKey("max_distance_m") { $0.maxDistanceM = 15 }
        assertKey("doppler_hz") { $0.dopplerHz = -1 }
        assertKey("round_interval_s") { $0.roundIntervalS = 0 }
        assertKey("csi_nmse") { $0.csiNMSE = .infinity }
        assertKey("noise_figure_db") { $0.noiseFigureDB = 50 }
    }

    private struct Wrapper: Decodable { var channel: ChannelConfiguration }

    private func decode(_ json: String) throws -> ChannelConfiguration {
        try JSONDecoder().decode(ChannelConfiguration.self, from: Data(json.utf8))
    }

    func testJSONDecoding() throws {
        let cfg = try decode(#"{"devices": 8, "profile": "TDL-C", "rx_correlation": 0.5, "path_loss": "UMa", "distances_m": [10, 20, 30, 40, 50, 60, 70, 80]}"#)
        XCTAssertEqual(cfg.devices, 8)
        XCTAssertEqual(cfg.profile, .c)
        XCTAssertEqual(cfg.receiveCorrelation, 0.5)
        XCTAssertEqual(cfg.pathLoss, .uma)
        XCTAssertEqual(cfg.distancesM?.count, 8)
        XCTAssertEqual(cfg.subcarriers, ChannelConfiguration().subcarriers, "missing keys keep their defaults")
        XCTAssertNil(try decode(#"{"path_loss": "none"}"#).pathLoss)

        // Encode → decode is the identity.
        var custom = ChannelConfiguration()
        custom.pathLoss = nil
        custom.dopplerHz = 12.5
        custom.lineOfSight = .never
        custom.distancesM = [30, 40, 50, 60]
        XCTAssertEqual(try JSONDecoder().decode(ChannelConfiguration.self, from: JSONEncoder().encode(custom)), custom)
    }

    func testJSONErrorsNameTheKey() {
        func expectKey(_ json: String, _ key: String, line: UInt = #line) {
            XCTAssertThrowsError(try decode(json), line: line) {
                XCTAssertEqual(($0 as? ConfigurationError)?.key, key, "\($0)", line: line)
            }
        }
        expectKey(#"{"devices": 0}"#, "devices")
        expectKey(#"{"rx_correlation": 1.2}"#, "rx_correlation")
        expectKey(#"{"distances_m": [50]}"#, "distances_m")
        expectKey(#"{"path_loss": "UMx"}"#, "path_loss")
        expectKey(#"{"devices": 4, "bogus_key": 1}"#, "bogus_key")
        // Nested: the unknown key carries its path.
        XCTAssertThrowsError(try JSONDecoder().decode(Wrapper.self, from: Data(#"{"channel": {"delay_spread": 1e-7}}"#.utf8))) {
            XCTAssertEqual(($0 as? ConfigurationError)?.key, "channel.delay_spread", "\($0)")
        }
    }

    // MARK: - (i) Thermal noise and units

    func testThermalNoise() {
        XCTAssertEqual(ThermalNoise.power(bandwidthHz: 30e3, noiseFigureDB: 0), 1.380649e-23 * 290 * 30e3, accuracy: 1e-30)
        XCTAssertEqual(ThermalNoise.power(bandwidthHz: 30e3, noiseFigureDB: 0), 1.2011646e-16, accuracy: 1e-23)
        // 10 dB noise figure multiplies by exactly 10; the temperature enters linearly.
        XCTAssertEqual(ThermalNoise.power(bandwidthHz: 1e6, noiseFigureDB: 10, temperatureK: 100), 1.380649e-23 * 100 * 1e6 * 10, accuracy: 1e-25)
        var cfg = ChannelConfiguration()
        cfg.noiseFigureDB = 7
        XCTAssertEqual(cfg.noisePowerW, 1.380649e-23 * 290 * 30e3 * pow(10, 0.7), accuracy: 1e-28)
        XCTAssertEqual(PowerUnits.watts(dBm: 30), 1, accuracy: 1e-15)
        XCTAssertEqual(PowerUnits.watts(dBm: -174 + 10 * log10(30e3)), 1.2e-16, accuracy: 0.01e-16)
        XCTAssertEqual(PowerUnits.dBm(watts: 1e-3), 0, accuracy: 1e-12)
    }

    // MARK: - PRNG (SeededGenerator)
    //
    // The project PRNG. Reference outputs come from the independent Python implementation of
    // SplitMix64 + xoshiro256** in Fixtures/make_fixtures.py (which also reproduces the published
    // xoshiro256** vector 11520, 0, 1509978240, … for state (1, 2, 3, 4)).

    func testPRNGFirstOutputsAreStable() {
        var g = SeededGenerator(seed: 42)
        XCTAssertEqual((0..<4).map { _ in g.next() }, [0x1578_0B2E_0C2E_C716, 0x6104_D986_6D11_3A7E, 0xAE17_5332_39E4_99A1, 0xECB8_AD47_03B3_60A1])
        var s = SeededGenerator(seed: 42, stream: [1, 3])
        XCTAssertEqual((0..<4).map { _ in s.next() }, [0x8A20_9420_C8BF_729B, 0x3E58_0365_B1F0_68BD, 0x07F0_31C1_3A3E_60D7, 0xD32D_1950_9294_198B])
        var u = SeededGenerator(seed: 42)
        XCTAssertEqual(u.uniform(), Double(UInt64(0x1578_0B2E_0C2E_C716) >> 11) * 0x1.0p-53)
        XCTAssertEqual(u.uniformPositive(), (Double(UInt64(0x6104_D986_6D11_3A7E) >> 11) + 1) * 0x1.0p-53)
    }

    func testPRNGStreamsAreDistinct() {
        var a = SeededGenerator(seed: 42), b = SeededGenerator(seed: 43)
        var c = SeededGenerator(seed: 42, stream: [1]), d = SeededGenerator(seed: 42, stream: [2]), e = SeededGenerator(seed: 42, stream: [1, 0])
        let outputs = [a.next(), b.next(), c.next(), d.next(), e.next()]
        XCTAssertEqual(Set(outputs).count, 5)
    }

    /// 10⁶ draws: mean std 0.001, variance std √(2/n) = 0.0014, kurtosis std √(24/n) = 0.005;
    /// tolerances ≈ 5σ. Tail masses P(|z| > 3) = 0.0026998 and P(|z| > r = 3.6542) = 2.5803e-4
    /// (beyond the ziggurat's base layer, i.e. from the tail sampler) have binomial std 5.2e-5 and
    /// 1.6e-5. The tail sampler's shape: E[|z| − r | |z| > r] = φ(r)/Q(r) − r = 0.24289 with
    /// per-sample std 0.2312, so over ≈258 tail draws the tolerance 0.072 is 5σ.
    func testPRNGNormalMomentsAndTails() {
        var g = SeededGenerator(seed: 2718)
        let n = 1_000_000
        var s1 = 0.0, s2 = 0.0, s3 = 0.0, s4 = 0.0
        var beyond3 = 0, beyondR = 0, within1 = 0, positive = 0
        var excess = 0.0
        let r = 3.6541528853610088
        for _ in 0..<n {
            let z = g.normal()
            let z2 = z * z
            s1 += z
            s2 += z2
            s3 += z2 * z
            s4 += z2 * z2
            if abs(z) > 3 { beyond3 += 1 }
            if abs(z) > r {
                beyondR += 1
                excess += abs(z) - r
            }
            if abs(z) < 1 { within1 += 1 }
            if z > 0 { positive += 1 }
        }
        let N = Double(n)
        let mean = s1 / N
        let variance = s2 / N - mean * mean
        let kurtosis = (s4 / N) / (variance * variance)
        XCTAssertEqual(mean, 0, accuracy: 0.005)
        XCTAssertEqual(variance, 1, accuracy: 0.007)
        XCTAssertEqual(s3 / N, 0, accuracy: 0.02)  // skewness: std √(15/n) ≈ 0.004
        XCTAssertEqual(kurtosis, 3, accuracy: 0.025)
        XCTAssertEqual(Double(beyond3) / N, 0.0026998, accuracy: 2.6e-4)
        XCTAssertEqual(Double(beyondR) / N, 2.5803e-4, accuracy: 8e-5)
        XCTAssertEqual(excess / Double(beyondR), 0.24289, accuracy: 0.072, "mean overshoot of tail draws")
        XCTAssertEqual(Double(within1) / N, 0.6826895, accuracy: 0.0025)
        XCTAssertEqual(Double(positive) / N, 0.5, accuracy: 0.0025)
    }

    func testPRNGUniformRanges() {
        var g = SeededGenerator(seed: 1)
        var sum = 0.0
        for _ in 0..<100_000 {
            let u = g.uniform(), v = g.uniformPositive()
            XCTAssertTrue(u >= 0 && u < 1)
            XCTAssertTrue(v > 0 && v <= 1)
            sum += u
        }
        // Mean of 10⁵ uniforms: std 0.29/316 ≈ 0.0009.
        XCTAssertEqual(sum / 100_000, 0.5, accuracy: 0.005)
    }
}
