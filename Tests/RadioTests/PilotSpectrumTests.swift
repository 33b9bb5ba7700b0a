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
        for (dOut, q, dIn) in [(12, 3, 9), (5, 4, 30), (3, 6, 4)] {  // thin, wide, q beyond both sides
            let l = real(dOut, q, &g), r = real(q, dIn, &g)
            let factored = try FactoredUpdate(left: l, right: r).singularValues()
            let whole = try direct(l.product(r))
            XCTAssertEqual(factored.count, min(q, dOut, dIn))
            for (i, s) in factored.prefix(min(q, dOut, dIn)).enumerated() {
                XCTAssertEqual(s, whole[i], accuracy: 1e-9 * whole[0], "(\(dOut), \(q), \(dIn)) value \(i)")
            }
        }
    }

    func testRankOneUpdateAndPooling() throws {
        let u = ComplexMatrix<Double>(rows: 3, cols: 1) { i, _ in Complex(Double(i + 1), 0) }  // |u| = √14
        let v = ComplexMatrix<Double>(rows: 1, cols: 4) { _, j in Complex(j % 2 == 0 ? 2 : 0, 0) }  // |v| = √8
        let spectrum = try PilotSpectrum(updates: [try FactoredUpdate(left: u, right: v), try FactoredUpdate(left: v.adjoint, right: u.adjoint)])
        XCTAssertEqual(spectrum.squaredSingularValues.count, 2)
        XCTAssertEqual(spectrum.head(1), 14 * 8, accuracy: 1e-9)
        XCTAssertEqual(spectrum.head(2), 2 * 14 * 8, accuracy: 1e-9)
        XCTAssertThrowsError(try FactoredUpdate(left: u, right: u))
    }
}
