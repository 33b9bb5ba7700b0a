import LinearAlgebra
import Numerics
import Randomness
import XCTest

@testable import Radio

/// The pilot spectrum of a factored update equals the singular values of the product formed whole.
final class PilotSpectrumTests: XCTestCase {
    func real(_ rows: Int, _ cols: Int, _ g: inout SeededGenerator) -> ComplexMatrix<Double> {
        ComplexMatrix(rows: rows, cols: cols) { _, _ in Complex(g.normal(), 0) }
    }

    /// Singular values of M from the eigenvalues of M Mᴴ (LAPACK's Hermitian solver on the whole product).
    func direct(_ m: ComplexMatrix<Double>) throws -> [Double] {
        try m.product(m, .none, .adjoint).hermitianEigen().values.map { max(0, $0).squareRoot() }.sorted(by: >)
    }

    func testFactoredSingularValuesEqualTheProducts() throws {
        var g = SeededGenerator(seed: 4, stream: [1])
        for (dOut, q, dIn) in [(12, 3, 9), (5, 4, 30), (3, 6, 4)] { // thin, wide, q beyond both sides
            let l = real(dOut, q, &g)
            let r = real(q, dIn, &g)
            let factored = try FactoredUpdate(left: l, right: r).singularValues()
            let whole = try direct(l.product(r))
            XCTAssertEqual(factored.count, min(q, dOut, dIn))
            for (i, s) in factored.prefix(min(q, dOut, dIn)).enumerated() {
                XCTAssertEqual(s, whole[i], accuracy: 1e-9 * whole[0], "(\(dOut), \(q), \(dIn)) value \(i)")
            }
        }
    }

    /// Two matrices with singular values (3, 1) and (2): s² pooled by index = (9 + 4, 1).
    func testPoolingByRankIndexIsPerMatrixEckartYoung() throws {
        let diag1 = try FactoredUpdate(
            left: ComplexMatrix<Double>(rows: 2, cols: 2) { i, j in Complex(i == j ? (i == 0 ? 3 : 1) : 0, 0) },
            right: .identity(2))
        let diag2 = try FactoredUpdate(
            left: ComplexMatrix<Double>(rows: 1, cols: 1) { _, _ in Complex(2, 0) }, right: .identity(1))
        let spectrum = try PilotSpectrum(updates: [diag1, diag2])
        XCTAssertEqual(spectrum.squaredSingularValues.count, 2)
        XCTAssertEqual(spectrum.squaredSingularValues[0], 13, accuracy: 1e-9)
        XCTAssertEqual(spectrum.squaredSingularValues[1], 1, accuracy: 1e-9)
        XCTAssertEqual(spectrum.tail(1), 1, accuracy: 1e-9, "rank 1 misses only matrix 1's second value")
    }

    func testRankOneUpdateAndPooling() throws {
        let u = ComplexMatrix<Double>(rows: 3, cols: 1) { i, _ in Complex(Double(i + 1), 0) } // |u| = √14
        let v = ComplexMatrix<Double>(rows: 1, cols: 4) { _, j in Complex(j % 2 == 0 ? 2 : 0, 0) } // |v| = √8
        let spectrum = try PilotSpectrum(updates: [
            try FactoredUpdate(left: u, right: v), try FactoredUpdate(left: v.adjoint, right: u.adjoint),
        ])
        // Pooled by rank index: both rank-1 updates' values are index 1, so a rank-1 adapter captures both.
        XCTAssertEqual(spectrum.squaredSingularValues.count, 1)
        XCTAssertEqual(spectrum.head(1), 2 * 14 * 8, accuracy: 1e-9)
        XCTAssertEqual(spectrum.tail(1), 0, accuracy: 1e-9)
        XCTAssertThrowsError(try FactoredUpdate(left: u, right: u))
    }
}
