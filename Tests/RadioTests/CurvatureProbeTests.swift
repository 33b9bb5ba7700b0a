import XCTest

@testable import Radio

final class CurvatureProbeTests: XCTestCase {
    /// On F(θ) = ½ θᵀHθ + ⟨b, θ⟩ the second difference is exactly uᵀHu/‖u‖², whose mean over
    /// isotropic u is tr(H)/D: one draw in D = 20,000 dimensions lands within 3 % of it (its relative
    /// spread is √(2 var(h)/D)/mean(h) ≈ 0.6 % for these eigenvalues), while L_s = max h is twice as large.
    func testRandomDirectionCurvatureEstimatesTheMeanEigenvalue() throws {
        let d = 20_000
        let h = (0..<d).map { 2 * Double($0 % 100) / 99 } // eigenvalues 0 … 2, mean 1
        let b = (0..<d).map { sin(Double($0)) }
        let theta = (0..<d).map { cos(Double($0) / 7) }
        func f(_ x: [Double]) -> Double {
            var s = 0.0
            for i in 0..<d { s += 0.5 * h[i] * x[i] * x[i] + b[i] * x[i] }
            return s
        }
        let trace = h.reduce(0, +) / Double(d)
        for seed in [UInt64(1), 2, 3] {
            let m = CurvatureProbe.randomDirectionCurvature(
                at: theta, lossAtTheta: f(theta), radius: 0.5, seed: seed, loss: f)
            let c = try XCTUnwrap(CurvatureProbe.clearlyPositive(m))
            XCTAssertEqual(c, trace, accuracy: 0.03 * trace, "seed \(seed)")
            XCTAssertLessThan(m.standardError, 0.02 * trace, "four probes agree on a positive-definite quadratic")
        }
        // The radius does not matter on a quadratic; the directions are the seed's.
        let a = CurvatureProbe.randomDirectionCurvature(at: theta, lossAtTheta: f(theta), radius: 3, seed: 1, loss: f)
            .mean
        let c = CurvatureProbe.randomDirectionCurvature(at: theta, lossAtTheta: f(theta), radius: 0.5, seed: 1, loss: f)
            .mean
        XCTAssertEqual(a, c, accuracy: 1e-9 * c)
        let u = CurvatureProbe.randomDirection(count: d, radius: 3, seed: 1)
        XCTAssertEqual(u.reduce(0) { $0 + $1 * $1 }.squareRoot(), 3, accuracy: 1e-12)
        XCTAssertEqual(u, CurvatureProbe.randomDirection(count: d, radius: 3, seed: 1))
        XCTAssertNotEqual(u, CurvatureProbe.randomDirection(count: d, radius: 3, seed: 2))
    }

    /// A concave function, a flat one, or an indefinite one whose trace is zero gives no curvature
    /// rather than a negative, zero or noise-sized one.
    func testCurvatureThatIsNotClearlyPositiveIsNoMeasurement() {
        func estimate(_ f: ([Double]) -> Double) -> Double? {
            CurvatureProbe.clearlyPositive(
                CurvatureProbe.randomDirectionCurvature(at: [0, 0, 0, 0], lossAtTheta: 0, radius: 1, seed: 1, loss: f))
        }
        XCTAssertNil(estimate { x in -x.reduce(0) { $0 + $1 * $1 } })
        XCTAssertNil(estimate { x in x.reduce(0, +) })
        // An A–B-like block: F = a·b, Hessian [[0, 1], [1, 0]], tr = 0.
        XCTAssertNil(estimate { x in x[0] * x[1] + x[2] * x[3] })
        XCTAssertNotNil(estimate { x in x.reduce(0) { $0 + $1 * $1 } })
    }

    /// F(θ + t d) = F + t⟨g, d⟩ + t² κ‖d‖²/2 is smallest at t* = −⟨g, d⟩/(κ‖d‖²): checked against the
    /// minimum of that parabola found by scanning t, and nil uphill or without curvature.
    func testLineMinimumOfTheQuadraticModel() throws {
        let slope = -0.0688
        let kappa = 0.049
        let energy = 0.358
        let t = try XCTUnwrap(CurvatureProbe.lineMinimum(slope: slope, curvature: kappa, stepEnergy: energy))
        let scan = stride(from: 0.0, through: 10, by: 1e-4).min { a, b in
            a * slope + a * a * kappa * energy / 2 < b * slope + b * b * kappa * energy / 2
        }!
        XCTAssertEqual(t, scan, accuracy: 1e-3)
        XCTAssertNil(CurvatureProbe.lineMinimum(slope: 0.1, curvature: kappa, stepEnergy: energy))
        XCTAssertNil(CurvatureProbe.lineMinimum(slope: slope, curvature: 0, stepEnergy: energy))
    }
}
