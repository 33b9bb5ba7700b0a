import Foundation
import XCTest

@testable import Randomness

/// The distributions drawn from the stream: `uniform()`, `uniformPositive()` and the ziggurat's
/// `normal()`. Every tolerance is ≈ 5 standard errors of the statistic (stated beside it), so the
/// tests are stable for these fixed seeds yet fail an implementation that is off by more than a
/// few per cent in mean, spread or shape.
final class DistributionTests: XCTestCase {
    /// 10⁵ draws. uniform(): every draw in [0, 1); mean 1/2 (std √(1/12/n) = 0.00091, bound 0.005),
    /// variance 1/12 (std 0.00024, bound 0.0012), each tenth of the interval holds 1/10 of the
    /// draws (std 0.00095, bound 0.005). uniformPositive(): every draw in (0, 1], mean 1/2.
    func testUniformIsInTheUnitIntervalWithMeanOneHalf() {
        var g = SeededGenerator(seed: 1)
        let n = 100_000
        var sum = 0.0
        var sumSquares = 0.0
        var positiveSum = 0.0
        var outside = 0
        var outsidePositive = 0
        var bins = [Int](repeating: 0, count: 10)
        for _ in 0..<n {
            let u = g.uniform()
            let v = g.uniformPositive()
            if !(u >= 0 && u < 1) { outside += 1 } else { bins[Int(u * 10)] += 1 }
            if !(v > 0 && v <= 1) { outsidePositive += 1 }
            sum += u
            sumSquares += u * u
            positiveSum += v
        }
        let N = Double(n)
        XCTAssertEqual(outside, 0, "uniform() outside [0, 1)")
        XCTAssertEqual(outsidePositive, 0, "uniformPositive() outside (0, 1]")
        let mean = sum / N
        XCTAssertEqual(mean, 0.5, accuracy: 0.005)
        XCTAssertEqual(sumSquares / N - mean * mean, 1.0 / 12, accuracy: 0.0012)
        for (i, count) in bins.enumerated() { XCTAssertEqual(Double(count) / N, 0.1, accuracy: 0.005, "bin \(i)") }
        XCTAssertEqual(positiveSum / N, 0.5, accuracy: 0.005)
    }

    /// The extremes: 0 is reachable by uniform() and 1 by uniformPositive(), never the other way.
    func testUniformEndpoints() {
        XCTAssertEqual(Double(UInt64.max >> 11) * 0x1.0p-53, 1 - 0x1.0p-53, "largest uniform() is below 1")
        XCTAssertEqual((Double(UInt64.max >> 11) + 1) * 0x1.0p-53, 1, "largest uniformPositive() is 1")
        XCTAssertEqual((Double(0) + 1) * 0x1.0p-53, 0x1.0p-53, "smallest uniformPositive() is above 0")
    }

    /// 10⁵ draws of normal(): mean 0 (std 1/√n = 0.0032, bound 0.016), variance 1 (std √(2/n) =
    /// 0.0045, bound 0.023), kurtosis 3 (std √(24/n) = 0.015, bound 0.08: a uniform or Laplace of
    /// unit variance, kurtosis 1.8 or 6, fails), P(|z| < 1) = 0.6827 (std 0.0015, bound 0.0074),
    /// symmetric (P(z > 0) = 1/2, std 0.0016, bound 0.008).
    func testNormalHasMeanZeroAndVarianceOne() {
        var g = SeededGenerator(seed: 31_415)
        let n = 100_000
        var s1 = 0.0
        var s2 = 0.0
        var s4 = 0.0
        var within1 = 0
        var positive = 0
        for _ in 0..<n {
            let z = g.normal()
            s1 += z
            s2 += z * z
            s4 += z * z * z * z
            if abs(z) < 1 { within1 += 1 }
            if z > 0 { positive += 1 }
        }
        let N = Double(n)
        let mean = s1 / N
        let variance = s2 / N - mean * mean
        XCTAssertEqual(mean, 0, accuracy: 0.016)
        XCTAssertEqual(variance, 1, accuracy: 0.023)
        XCTAssertEqual((s4 / N) / (variance * variance), 3, accuracy: 0.08)
        XCTAssertEqual(Double(within1) / N, 0.6826895, accuracy: 0.0074)
        XCTAssertEqual(Double(positive) / N, 0.5, accuracy: 0.008)
    }

    /// 10⁶ draws: mean std 0.001, variance std √(2/n) = 0.0014, kurtosis std √(24/n) = 0.005;
    /// tolerances ≈ 5σ. Tail masses P(|z| > 3) = 0.0026998 and P(|z| > r = 3.6542) = 2.5803e-4
    /// (beyond the ziggurat's base layer, i.e. from the tail sampler) have binomial std 5.2e-5 and
    /// 1.6e-5. The tail sampler's shape: E[|z| − r | |z| > r] = φ(r)/Q(r) − r = 0.24289 with
    /// per-sample std 0.2312, so over ≈258 tail draws the tolerance 0.072 is 5σ.
    func testNormalMomentsAndTailsOverAMillionDraws() {
        var g = SeededGenerator(seed: 2718)
        let n = 1_000_000
        var s1 = 0.0
        var s2 = 0.0
        var s3 = 0.0
        var s4 = 0.0
        var beyond3 = 0
        var beyondR = 0
        var within1 = 0
        var positive = 0
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
        XCTAssertEqual(s3 / N, 0, accuracy: 0.02) // skewness: std √(15/n) ≈ 0.004
        XCTAssertEqual(kurtosis, 3, accuracy: 0.025)
        XCTAssertEqual(Double(beyond3) / N, 0.0026998, accuracy: 2.6e-4)
        XCTAssertEqual(Double(beyondR) / N, 2.5803e-4, accuracy: 8e-5)
        XCTAssertEqual(excess / Double(beyondR), 0.24289, accuracy: 0.072, "mean overshoot of tail draws")
        XCTAssertEqual(Double(within1) / N, 0.6826895, accuracy: 0.0025)
        XCTAssertEqual(Double(positive) / N, 0.5, accuracy: 0.0025)
    }

    /// The ziggurat's tables: every layer above the base has the same area v = x[i]·(f[i+1] − f[i])
    /// (up to the top one, which closes at f = 1 only if r and v are consistent), the base strip
    /// x[0]·f(r) is v too, the edges decrease from r to 0, and f is the unnormalised density.
    func testZigguratLayersHaveEqualAreas() {
        let z = Ziggurat.shared
        let v = 0.00492867323399
        let r = 3.6541528853610088
        XCTAssertEqual(z.x.count, 257)
        XCTAssertEqual(z.x[1], r)
        XCTAssertEqual(z.x[256], 0)
        XCTAssertEqual(z.x[0] * exp(-0.5 * r * r), v, accuracy: v * 1e-12)
        for i in 1..<256 {
            XCTAssertEqual(z.x[i] * (z.f[i + 1] - z.f[i]), v, accuracy: v * 1e-6, "layer \(i)")
            XCTAssertGreaterThan(z.x[i], z.x[i + 1], "edge \(i)")
            XCTAssertEqual(z.f[i], exp(-0.5 * z.x[i] * z.x[i]), accuracy: 1e-15, "f[\(i)]")
        }
    }
}
