import Radio
import Randomness
import XCTest

/// The digital baseline's compressor is what its name says: unbiased at every budget (full
/// resolution, mixed bits, sparse), within its bit budget, and held to AirComp's airtime.
final class UnbiasedCompressorTests: XCTestCase {
    /// A heavy-tailed update (a few large values, most small), like a LoRA update's.
    private func update(_ d: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<d).map { i in Float(g.normal() * (i % 16 == 0 ? 0.05 : 0.005)) }
    }

    /// The mean of many compressions equals the input coordinate by coordinate within 5 standard
    /// errors, and so does the projection ⟨C(Δ), Δ⟩/‖Δ‖² (1 for an unbiased compressor). Round to
    /// nearest at 2 bits, the old payload quantiser, fails the same projection test.
    func testMeanOfManyCompressionsIsTheInput() throws {
        let d = 64
        let draws = 4000
        let delta = update(d, seed: 3)
        let energy = delta.reduce(0.0) { $0 + Double($1) * Double($1) }
        for budget in [8 * d, 3 * d / 2, d / 3] {
            var sum = [Double](repeating: 0, count: d)
            var squares = sum
            var projections = [Double]()
            for s in 0..<draws {
                let c = UnbiasedCompressor.compress(delta, budgetBits: budget, seed: UInt64(1000 + s)).decoded
                for i in 0..<d {
                    sum[i] += Double(c[i])
                    squares[i] += Double(c[i]) * Double(c[i])
                }
                projections.append(zip(c, delta).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / energy)
            }
            for i in 0..<d {
                let mean = sum[i] / Double(draws)
                let se = ((squares[i] / Double(draws) - mean * mean) / Double(draws - 1)).squareRoot()
                XCTAssertLessThanOrEqual(
                    abs(mean - Double(delta[i])), 5 * se + 1e-7, "budget \(budget), coordinate \(i)")
            }
            let (m, se) = meanAndError(projections)
            XCTAssertLessThanOrEqual(abs(m - 1), 5 * se + 1e-6, "budget \(budget): ⟨C(Δ),Δ⟩/‖Δ‖² = \(m) ± \(se)")
        }
        var nearest = delta
        try UniformQuantizer(bits: 2).quantize(&nearest)
        let biased = zip(nearest, delta).reduce(0.0) { $0 + Double($1.0) * Double($1.1) } / energy
        XCTAssertGreaterThan(abs(biased - 1), 0.05, "round to nearest at 2 bits is biased on this update: \(biased)")
    }

    private func meanAndError(_ x: [Double]) -> (Double, Double) {
        let n = Double(x.count)
        let m = x.reduce(0, +) / n
        let v = x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)
        return (m, (v / n).squareRoot())
    }

    /// The payload takes the budget to within b − 1 ≤ 15 bits, never more, and never more than
    /// 16 bits a real; `DigitalUplink.transmittedBits` (what the airtime is computed from) agrees.
    func testPayloadFillsItsBudget() {
        let d = 1000
        let delta = update(d, seed: 9)
        var g = SeededGenerator(seed: 11)
        for _ in 0..<200 {
            let budget = 1 + Int(g.next() % UInt64(20 * d))
            let plan = UnbiasedCompressor.compress(delta, budgetBits: budget, seed: g.next()).plan
            let cap = min(budget, 16 * d)
            XCTAssertLessThanOrEqual(plan.payloadBits, cap, "budget \(budget): \(plan)")
            XCTAssertGreaterThan(plan.payloadBits, cap - plan.bits, "budget \(budget): \(plan)")
            XCTAssertLessThanOrEqual(
                abs(DigitalUplink.transmittedBits(budgetBits: budget, reals: d) - 32 - plan.payloadBits), 15)
        }
        // A budget of 8 bits a real sends every real at 8 bits; under a bit a real it sparsifies.
        XCTAssertEqual(
            UnbiasedCompressor.compress(delta, budgetBits: 8 * d, seed: 1).plan, .init(bits: 8, kept: d, extraBit: 0))
        let sparse = UnbiasedCompressor.compress(delta, budgetBits: d / 4, seed: 1)
        XCTAssertLessThan(sparse.plan.kept, d / 4)
        XCTAssertEqual(sparse.decoded.filter { $0 != 0 }.count, sparse.plan.kept, "the reals not sent decode to zero")
    }

    /// The measured total variance of the estimate is within the bound the rule minimises, and the
    /// same seed gives the same payload.
    func testVarianceWithinTheBoundAndDeterministic() {
        let d = 256
        let draws = 600
        let delta = update(d, seed: 5)
        let energy = delta.reduce(0.0) { $0 + Double($1) * Double($1) }
        let fullScale = Double(delta.map(abs).max()!)
        for budget in [d / 5, 2 * d, 6 * d] {
            let plan = UnbiasedCompressor.plan(budgetBits: budget, reals: d, energy: energy, fullScale: fullScale)
            let levels = Double((1 << plan.bits) - 1)
            let bound =
                plan.kept < d
                ? (Double(d) / Double(plan.kept) - 1) * energy + Double(d) / Double(plan.kept) * Double(d) * fullScale
                    * fullScale / (levels * levels)
                : Double(d) * fullScale * fullScale / (levels * levels)
            var total = 0.0
            for s in 0..<draws {
                let c = UnbiasedCompressor.compress(delta, budgetBits: budget, seed: UInt64(s)).decoded
                total += zip(c, delta).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            }
            XCTAssertLessThanOrEqual(total / Double(draws), bound * 1.1, "budget \(budget): \(plan)")
        }
        XCTAssertEqual(
            UnbiasedCompressor.compress(delta, budgetBits: d, seed: 42).decoded,
            UnbiasedCompressor.compress(delta, budgetBits: d, seed: 42).decoded)
    }

    /// Digital in AirComp's airtime takes AirComp's airtime within 5 % at every transmit power and
    /// number of devices (rates from 3GPP UMi channels; D = 100,000 reals over 64 subcarriers, L = 4).
    func testSameAirtimeBudgetsTakeAirCompsAirtime() throws {
        let reals = 100_000
        let grid = try ResourceGrid(subcarriers: 64, streams: 4)
        // a symbol with its cyclic prefix
        let airtime = Double(grid.ofdmSymbols(forReals: reals)) * (1 / 30e3) * (1 + 0.07)
        var scheduledOut = 0
        for devices in [2, 4, 10, 16] {
            var cfg = ChannelConfiguration()
            cfg.devices = devices
            let h = try ChannelModel(configuration: cfg, seed: UInt64(devices)).frequencyResponse()
            for offsetDB in [0.0, -20, -40, -60] {
                let power = [Double](repeating: 0.2 * Double.pow(10, offsetDB / 10), count: devices)
                let rates = try DigitalUplink.rates(
                    channels: h, powerW: power, noisePowerW: cfg.noisePowerW, subcarrierSpacingHz: 30e3)
                let budgets = DigitalUplink.budgets(airtimeS: airtime, rates: rates)
                // A device whose rate carries nothing in that time (budget 0) is left out by the scheduler.
                let times = zip(budgets, rates).filter { $0.0 >= 1 }.map {
                    DigitalUplink.airtime(budgetBits: $0, reals: reals, rate: $1)
                }
                let label =
                    "K = \(devices), \(offsetDB) dB: bits per real \(budgets.map { Double($0) / Double(reals) })"
                XCTAssertFalse(times.isEmpty, label)
                scheduledOut += budgets.filter { $0 < 1 }.count
                XCTAssertLessThanOrEqual(times.max()!, airtime * 1.0001, label)
                // A node whose rate fits 16 bits a real in less time takes less; here none is that fast.
                XCTAssertTrue(budgets.allSatisfy { $0 < 16 * reals }, label)
                XCTAssertEqual(times.max()! / airtime, 1, accuracy: 0.05, label)
            }
        }
        XCTAssertGreaterThan(scheduledOut, 0, "at −60 dB some devices fit nothing (the scheduling path is exercised)")
    }
}
