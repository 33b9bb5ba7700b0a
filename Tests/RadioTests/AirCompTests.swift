import LinearAlgebra
import Numerics
import Randomness
import XCTest

@testable import Radio

final class AirCompTests: XCTestCase {
    /// Without noise the BS recovers Σ w_k Δ_k to float precision, for every L and K asked for.
    func testNoiselessAirReconstructsWeightedSum() throws {
        for streams in 1...4 {
            for devices in [1, 2, 5, 16] {
                let tx = streams + (devices % 2) // N_t ≥ L, sometimes with a spare antenna
                let rx = max(streams, 6)
                let h = rayleighChannels(
                    subcarriers: 8, devices: devices, rx: rx, tx: tx, seed: UInt64(streams * 100 + devices))
                let updates = randomUpdates(devices: devices, reals: 1001, seed: UInt64(devices)) // odd D: padding
                var weights = (0..<devices).map { Double($0 + 1) }
                let total = weights.reduce(0, +)
                weights = weights.map { $0 / total }
                let power = (0..<devices).map { 0.1 * Double($0 + 1) }
                let a = try ReceiveBeamformer.eigen(channels: h, streams: streams, powerW: power)
                let round = try AirCompRound(
                    updates: updates, channels: h, beamformers: a, powerW: power, weights: weights, noisePowerW: 0,
                    seed: 1, round: 0)
                let scale = round.target.map { abs($0) }.max()!
                let worst = zip(round.estimate, round.target).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(
                    worst / scale, 2e-4, "L=\(streams) K=\(devices): max error \(worst) vs scale \(scale)")
                XCTAssertLessThan(round.normalisedError, 1e-8, "L=\(streams) K=\(devices)")
            }
        }
    }

    /// Monte Carlo: the measured aggregation MSE matches σ²·L/η within 5 % in several regimes.
    func testMonteCarloMSEMatchesClosedForm() throws {
        struct Case {
            var rx, tx, streams, devices: Int
            var snrDB: Double
        }
        let cases = [
            Case(rx: 8, tx: 2, streams: 1, devices: 4, snrDB: 10),
            Case(rx: 16, tx: 4, streams: 4, devices: 8, snrDB: 0),
            Case(rx: 6, tx: 3, streams: 2, devices: 12, snrDB: 25),
            Case(rx: 4, tx: 4, streams: 3, devices: 2, snrDB: -5),
        ]
        for (i, c) in cases.enumerated() {
            let subcarriers = 16
            let h = rayleighChannels(
                subcarriers: subcarriers, devices: c.devices, rx: c.rx, tx: c.tx, seed: UInt64(10 + i))
            let power = Array(repeating: 1.0, count: c.devices)
            let noise = 1 / (Double(subcarriers) * pow(10, c.snrDB / 10)) // P_{k,n} = 1/N_sc over σ² is the SNR
            let a = try randomBeamformers(subcarriers: subcarriers, rx: c.rx, streams: c.streams, seed: UInt64(i))
            // 2·L·N_sc·S reals with S = 600 OFDM symbols: enough samples for a ~2 % estimate.
            let reals = 2 * c.streams * subcarriers * 600
            let updates = randomUpdates(devices: c.devices, reals: reals, seed: UInt64(i))
            for domain in NoiseDomain.allCases {
                let r = try AirCompRound(
                    updates: updates, channels: h, beamformers: a, powerW: power, noisePowerW: noise, seed: 5, round: i,
                    noiseDomain: domain)
                XCTAssertEqual(
                    r.mseRatio, 1, accuracy: 0.05, "case \(i), noise at \(domain): measured/predicted = \(r.mseRatio)")
                // Per subcarrier too, with a looser bound for the smaller sample (L·S complex errors each).
                for n in 0..<subcarriers {
                    XCTAssertEqual(
                        r.measuredMSE[n] / r.predictedMSE[n], 1, accuracy: 0.2, "case \(i), \(domain), subcarrier \(n)")
                }
            }
        }
    }

    /// ‖B_k[n]‖_F² ≤ P_{k,n} for every device and subcarrier, with equality for the binding device;
    /// and the power really radiated with unit-power symbols is ‖B‖_F² on average.
    func testNoDeviceExceedsItsPowerBudget() throws {
        let devices = 6
        let subcarriers = 12
        let h = rayleighChannels(
            subcarriers: subcarriers, devices: devices, rx: 8, tx: 3, seed: 3, gains: [1, 0.1, 3, 0.5, 2, 0.01])
        let power = [0.2, 0.1, 0.05, 0.3, 0.2, 0.4]
        let a = try ReceiveBeamformer.eigen(channels: h, streams: 2, powerW: power)
        let design = try AirCompDesign(
            channels: h, beamformers: a, powerW: power, weights: [0.1, 0.2, 0.3, 0.1, 0.2, 0.1])
        for n in 0..<subcarriers {
            var binding = false
            for k in 0..<devices {
                let p = design.transmitPower(device: k, subcarrier: n)
                let budget = power[k] / Double(subcarriers)
                XCTAssertLessThanOrEqual(p, budget * (1 + 1e-5), "device \(k) subcarrier \(n)")
                if p > budget * (1 - 1e-4) { binding = true }
            }
            XCTAssertTrue(binding, "η[\(n)] should make one device use its whole budget")
        }
        // Radiated power of a unit-power update, averaged over OFDM symbols.
        let grid = try ResourceGrid(subcarriers: subcarriers, streams: 2)
        let update = randomUpdates(devices: 1, reals: 2 * 2 * subcarriers * 4000, seed: 9)[0]
        let c = try ResourceGrid.commonScale(updates: [update])
        let x = try OverTheAir.precode(try grid.map(update: update, scale: c), with: design.precoders[1])
        for n in 0..<subcarriers {
            let radiated = x.meanColumnEnergy(subcarrier: n)
            XCTAssertEqual(
                radiated / design.transmitPower(device: 1, subcarrier: n), 1, accuracy: 0.06, "subcarrier \(n)")
        }
    }

    func testResourceGridMappingIsExactlyInvertible() throws {
        let grid = try ResourceGrid(subcarriers: 5, streams: 3)
        XCTAssertEqual(grid.ofdmSymbols(forReals: 30), 1)
        XCTAssertEqual(grid.ofdmSymbols(forReals: 31), 2)
        XCTAssertEqual(grid.ofdmSymbols(forReals: 0), 0)
        let update = (0..<77).map { Float($0) - 30.5 }
        let s = try grid.map(update: update, scale: 2)
        XCTAssertEqual(s.columns, 3)
        // Symbol j = 0 holds (Δ0 + iΔ1)/c at t=0, n=0, l=0; j = 4 → l=1, n=1.
        XCTAssertEqual(s[0, 0, 0], Complex(-15.25, -14.75))
        XCTAssertEqual(s[1, 1, 0], Complex(Float(8 - 30.5) / 2, Float(9 - 30.5) / 2))
        // The padding (beyond 77 reals) is zero.
        XCTAssertEqual(s[4, 2, 2], .zero)
        XCTAssertEqual(try grid.demap(s, scale: 2, reals: 77), update)
    }

    /// The tiled demap is `map`'s inverse element by element (the definition, computed here with
    /// the grid's own coordinates), and rescaling by the weight that arrived is (Δ·c)/W_t, with 0
    /// where nothing arrived: odd shapes, a padded last OFDM symbol, weights 0, 1 and fractional.
    func testDemapWalksTheGridAsMapsInverseAndRescalesPerOFDMSymbol() throws {
        var g = SeededGenerator(seed: 11)
        for (nsc, l, reals) in [(5, 3, 77), (64, 4, 2 * 4 * 64 * 19 - 6), (1, 1, 9), (13, 2, 2 * 2 * 13 * 9)] {
            let grid = try ResourceGrid(subcarriers: nsc, streams: l)
            let s = grid.ofdmSymbols(forReals: reals)
            var block = SubcarrierBlocks(subcarriers: nsc, rows: l, columns: s)
            for i in block.elements.indices { block.elements[i] = Complex(Float(g.normal()), Float(g.normal())) }
            let c: Float = 1.75
            let w = (0..<s).map { t -> Double in [0, 1, 0.3, 2.5][t % 4] }
            let plain = try grid.demap(block, scale: c, reals: reals)
            let rescaled = try grid.demap(block, scale: c, reals: reals, dividingOFDMSymbolsBy: w)
            XCTAssertEqual(plain.count, reals)
            for i in 0..<reals {
                let v = block.elements[grid.position(ofSymbol: i / 2, ofdmSymbols: s)]
                let expected = (i % 2 == 0 ? v.real : v.imaginary) * c
                XCTAssertEqual(plain[i], expected, "\(nsc)×\(l), real \(i)")
                let weight = w[grid.coordinates(ofSymbol: i / 2).t]
                XCTAssertEqual(
                    rescaled[i], weight > 0 ? expected / Float(weight) : 0, "\(nsc)×\(l), real \(i) rescaled")
            }
        }
        let grid = try ResourceGrid(subcarriers: 2, streams: 1)
        XCTAssertThrowsError(
            try grid.demap(
                SubcarrierBlocks(subcarriers: 2, rows: 1, columns: 2), scale: 1, reals: 8, dividingOFDMSymbolsBy: [1]))
    }

    func testCommonScaleGivesUnitMeanPowerForTheLoudestDevice() throws {
        let updates = [[Float](repeating: 3, count: 10), [Float](repeating: 1, count: 10)]
        let c = try ResourceGrid.commonScale(updates: updates)
        XCTAssertEqual(c, (18 as Float).squareRoot(), accuracy: 1e-5) // |3+3i|² = 18 per symbol
        XCTAssertEqual(try ResourceGrid.commonScale(updates: [[0, 0]]), 1)
    }

    func testBadInputGivesTypedErrors() throws {
        let h = rayleighChannels(subcarriers: 2, devices: 2, rx: 4, tx: 2, seed: 1)
        // L > N_t.
        XCTAssertThrowsError(try ReceiveBeamformer.eigen(channels: h, streams: 3, powerW: [1, 1])) {
            XCTAssertEqual(
                $0 as? AirCompError, .streamsExceedAntennas(streams: 3, transmitAntennas: 2, receiveAntennas: 4))
        }
        let a3 = try randomBeamformers(subcarriers: 2, rx: 4, streams: 3, seed: 1)
        XCTAssertThrowsError(try AirCompDesign(channels: h, beamformers: a3, powerW: [1, 1])) {
            XCTAssertEqual(
                $0 as? AirCompError, .streamsExceedAntennas(streams: 3, transmitAntennas: 2, receiveAntennas: 4))
        }
        // Singular Aᴴ H_k: device 1's channel is orthogonal to A's span on subcarrier 1.
        var singular = h
        let a = try randomBeamformers(subcarriers: 2, rx: 4, streams: 1, seed: 2)
        for r in 0..<4 { for t in 0..<2 { singular[1, 1, r, t] = .zero } }
        XCTAssertThrowsError(try AirCompDesign(channels: singular, beamformers: a, powerW: [1, 1])) {
            XCTAssertEqual($0 as? AirCompError, .singularEffectiveChannel(device: 1, subcarrier: 1))
        }
        // Rank-deficient but non-zero: H_k with identical columns and L = 2.
        var rankOne = h
        for r in 0..<4 { rankOne[0, 0, r, 1] = rankOne[0, 0, r, 0] }
        let a2 = try randomBeamformers(subcarriers: 2, rx: 4, streams: 2, seed: 3)
        XCTAssertThrowsError(try AirCompDesign(channels: rankOne, beamformers: a2, powerW: [1, 1])) {
            XCTAssertEqual($0 as? AirCompError, .singularEffectiveChannel(device: 0, subcarrier: 0))
        }
        // NaN / Inf in an update.
        let a1 = try randomBeamformers(subcarriers: 2, rx: 4, streams: 1, seed: 4)
        var bad = randomUpdates(devices: 2, reals: 10, seed: 1)
        bad[1][7] = .nan
        XCTAssertThrowsError(
            try AirCompRound(
                updates: bad, channels: h, beamformers: a1, powerW: [1, 1], noisePowerW: 0, seed: 1, round: 0)
        ) {
            XCTAssertEqual($0 as? AirCompError, .nonFiniteUpdate(device: 1, index: 7))
        }
        bad[1][7] = .infinity
        XCTAssertThrowsError(try ResourceGrid(subcarriers: 2, streams: 1).map(update: bad[1], scale: 1, device: 1)) {
            XCTAssertEqual($0 as? AirCompError, .nonFiniteUpdate(device: 1, index: 7))
        }
        // Zero devices.
        let empty = ChannelTensor(subcarriers: 2, devices: 0, receiveAntennas: 4, transmitAntennas: 2)
        XCTAssertThrowsError(try AirCompDesign(channels: empty, beamformers: a1, powerW: [])) {
            XCTAssertEqual($0 as? AirCompError, .noDevices)
        }
        XCTAssertThrowsError(try ReceiveBeamformer.eigen(channels: empty, streams: 1, powerW: [])) {
            XCTAssertEqual($0 as? AirCompError, .noDevices)
        }
        XCTAssertThrowsError(
            try AirCompRound(
                updates: [], channels: empty, beamformers: a1, powerW: [], noisePowerW: 0, seed: 1, round: 0)
        ) {
            XCTAssertEqual($0 as? AirCompError, .noDevices)
        }
        // Bad power, weights, non-orthonormal A, streams = 0.
        XCTAssertThrowsError(try AirCompDesign(channels: h, beamformers: a1, powerW: [1, -1])) {
            XCTAssertEqual($0 as? AirCompError, .invalidPower(device: 1, watts: -1))
        }
        XCTAssertThrowsError(try AirCompDesign(channels: h, beamformers: a1, powerW: [1, 1], weights: [0.5, 0.6]))
        XCTAssertThrowsError(try AirCompDesign(channels: h, beamformers: a1.map { 2.0 * $0 }, powerW: [1, 1])) {
            guard case .beamformerNotOrthonormal(subcarrier: 0, _) = $0 as? AirCompError else {
                return XCTFail("\($0)")
            }
        }
        XCTAssertThrowsError(try ResourceGrid(subcarriers: 2, streams: 0)) {
            XCTAssertEqual($0 as? AirCompError, .invalidStreams(0))
        }
        // NaN in a channel.
        var nanChannel = h
        nanChannel[0, 1, 0, 0] = Complex(.nan, 0)
        XCTAssertThrowsError(try AirCompDesign(channels: nanChannel, beamformers: a1, powerW: [1, 1])) {
            XCTAssertEqual($0 as? AirCompError, .nonFiniteChannel(device: 1, subcarrier: 0))
        }
    }

    /// The noise does not depend on how many workers generate it.
    func testAirIsIndependentOfThreadCount() throws {
        let h = rayleighChannels(subcarriers: 7, devices: 3, rx: 4, tx: 2, seed: 4)
        var x = SubcarrierBlocks(subcarriers: 7, rows: 6, columns: 5)
        var g = SeededGenerator(seed: 1)
        for i in x.elements.indices { x.elements[i] = Complex(Float(g.normal()), Float(g.normal())) }
        let one = try OverTheAir.superpose(channels: h, stacked: x, noisePowerW: 0.5, seed: 9, round: 2, threads: 1)
        let two = try OverTheAir.superpose(channels: h, stacked: x, noisePowerW: 0.5, seed: 9, round: 2, threads: 2)
        XCTAssertEqual(one, two)
        let other = try OverTheAir.superpose(channels: h, stacked: x, noisePowerW: 0.5, seed: 9, round: 3, threads: 2)
        XCTAssertNotEqual(one, other)
    }

    /// The eigen beamformer's columns are orthonormal and span the dominant eigenspace.
    func testEigenBeamformerIsOrthonormal() throws {
        let h = rayleighChannels(subcarriers: 3, devices: 4, rx: 8, tx: 2, seed: 8)
        let a = try ReceiveBeamformer.eigen(channels: h, streams: 2, powerW: [1, 2, 3, 4])
        for m in a {
            XCTAssertLessThan(m.product(m, .adjoint, .none).maxAbsDifference(.identity(2)), 1e-10)
        }
    }

    /// Minimum-MSE power control (the non-zero-forcing baseline): its η is the minimiser of the
    /// closed-form error over a fine grid, its measured error (noise + misalignment) matches that
    /// closed form within 5 %, and it is below zero forcing's at low SNR with a near-far spread,
    /// equal to it without noise.
    func testMinimumMSEPowerControlMatchesItsClosedFormAndBeatsZeroForcingAtLowSNR() throws {
        let subcarriers = 8
        let devices = 6
        let h = rayleighChannels(subcarriers: subcarriers, devices: devices, rx: 8, tx: 2, seed: 77)
        let power = (0..<devices).map { pow(10, -Double($0) / 2) } // 0 … −25 dB: a near-far spread
        let a = try randomBeamformers(subcarriers: subcarriers, rx: 8, streams: 2, seed: 78)
        let noise = 1e-2
        let zf = try AirCompDesign(channels: h, beamformers: a, powerW: power)
        let mmse = try AirCompDesign(
            channels: h, beamformers: a, powerW: power, powerControl: .minimumMSE(noisePowerW: noise))
        for n in 0..<subcarriers {
            let own = mmse.deviceEta[n]
            let w = mmse.weights
            func error(_ eta: Double) -> Double {
                noise * 2 / eta + 2
                    * zip(own, w).reduce(0.0) { $0 + $1.1 * $1.1 * pow(1 - (min($1.0, eta) / eta).squareRoot(), 2) }
            }
            let grid = (0...4000).map { zf.eta[n] * pow(10, Double($0) / 1000) }
            let best = grid.min { error($0) < error($1) }!
            XCTAssertLessThanOrEqual(error(mmse.eta[n]), error(best) * (1 + 1e-9), "subcarrier \(n)")
            XCTAssertGreaterThanOrEqual(mmse.eta[n], zf.eta[n])
            for k in 0..<devices {
                XCTAssertLessThanOrEqual(
                    mmse.transmitPower(device: k, subcarrier: n), power[k] / Double(subcarriers) * (1 + 1e-5))
            }
        }
        let predicted = zip(mmse.mse(noisePowerW: noise), mmse.misalignmentMSE).map { $0 + $1 }.reduce(0, +)
        XCTAssertLessThan(
            predicted, zf.mse(noisePowerW: noise).reduce(0, +) * 0.9, "minimum MSE is lower than zero forcing here")
        let updates = randomUpdates(devices: devices, reals: 2 * 2 * subcarriers * 800, seed: 79)
        let round = try AirCompRound(
            updates: updates, channels: h, beamformers: a, powerW: power, noisePowerW: noise, seed: 3, round: 1,
            powerControl: .minimumMSE(noisePowerW: noise))
        let measured = round.error.total.reduce(0, +)
        // Unit-power symbols are what the closed form assumes; the common scale makes the largest update's
        // mean power 1, so each device's own power (its update's, relative) weighs its misalignment.
        let c2 = Double(round.scale * round.scale)
        let energies = updates.map { u in u.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(u.count / 2) / c2 }
        let l = Double(mmse.streams)
        let weighted = (0..<subcarriers).map { n in
            l * noise / mmse.eta[n] + l
                * (0..<devices).reduce(0.0) { acc, k in
                    let a = 1 - (min(mmse.deviceEta[n][k], mmse.eta[n]) / mmse.eta[n]).squareRoot()
                    return acc + energies[k] * mmse.weights[k] * mmse.weights[k] * a * a
                }
        }.reduce(0, +)
        XCTAssertEqual(measured / weighted, 1, accuracy: 0.05)
        let noiseless = try AirCompDesign(
            channels: h, beamformers: a, powerW: power, powerControl: .minimumMSE(noisePowerW: 0))
        XCTAssertEqual(noiseless.eta, zf.eta, "without noise the least error is zero forcing's")
    }

    /// Why the minimum-MSE baseline can end worse than eigen beamforming's far larger error (the
    /// paper-regime suite): its error is not noise but a bias. On noiseless air every device whose
    /// own η_k[n] is below the raised η[n] arrives scaled by g_k[n] = √(η_k[n]/η[n]) < 1, the same
    /// way every round, so the weak devices' data is under-weighted in every aggregate, where
    /// zero-mean noise averages out over rounds. Measured: each device's share of the estimate,
    /// ⟨ŝ, Δ_k⟩ / (w_k‖Δ_k‖²), equals its mean g_k over subcarriers.
    func testMinimumMSEPowerControlUnderWeightsTheWeakDevicesTheSameWayEveryRound() throws {
        let subcarriers = 8
        let devices = 6
        let rx = 8
        let h = rayleighChannels(subcarriers: subcarriers, devices: devices, rx: rx, tx: 2, seed: 77)
        let power = (0..<devices).map { pow(10, -Double($0) / 2) }
        let a = try randomBeamformers(subcarriers: subcarriers, rx: rx, streams: 2, seed: 78)
        let noise = 1e-2
        let updates = randomUpdates(devices: devices, reals: 2 * 2 * subcarriers * 2000, seed: 80)
        var gains = [[Double]]()
        for round in 1...2 {
            let air = try AirCompRound(
                updates: updates, channels: h, beamformers: a, powerW: power, noisePowerW: 0, seed: 4, round: round,
                powerControl: .minimumMSE(noisePowerW: noise))
            let design = air.design
            gains.append(
                (0..<devices).map { k in
                    let share = zip(air.estimate, updates[k]).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                    let energy = updates[k].reduce(0.0) { $0 + Double($1) * Double($1) }
                    let measured = share / (design.weights[k] * energy)
                    let predicted =
                        (0..<subcarriers).reduce(0.0) { acc, n in
                            acc + (min(design.deviceEta[n][k], design.eta[n]) / design.eta[n]).squareRoot()
                        } / Double(subcarriers)
                    XCTAssertEqual(measured, predicted, accuracy: 0.02, "device \(k), round \(round)")
                    return measured
                })
        }
        XCTAssertGreaterThan(gains[0][0], 0.9, "the strongest device (0 dB) is barely scaled")
        XCTAssertLessThan(gains[0][devices - 1], gains[0][0] - 0.2, "the weakest device (−25 dB) is under-weighted")
        for k in 0..<devices {
            XCTAssertEqual(gains[0][k], gains[1][k], accuracy: 0.02, "device \(k): the same bias every round")
        }
    }
}
