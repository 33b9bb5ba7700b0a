import Numerics
import XCTest

@testable import LinearAlgebra

/// A tiny deterministic generator for test matrices (Knuth's MMIX LCG, top 53 bits), so this
/// target needs nothing from Radio.
struct TestLCG {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }
    /// Uniform in [−1, 1).
    mutating func symmetric() -> Double { Double(next() >> 11) * 0x1.0p-52 - 1 }
    mutating func complex<T: LinearAlgebraScalar>(_: T.Type = T.self) -> Complex<T> {
        Complex(T(symmetric()), T(symmetric()))
    }
    mutating func matrix<T: LinearAlgebraScalar>(_ rows: Int, _ cols: Int, _: T.Type = T.self) -> ComplexMatrix<T> {
        var elements = [Complex<T>]()
        for _ in 0..<(rows * cols) { elements.append(complex(T.self)) }
        return ComplexMatrix(rows: rows, cols: cols, elements: elements)
    }
}

/// Reference helpers: plain loops in Double on the (i, j) subscript, independent of BLAS.
enum Reference {
    static func toDouble<T: LinearAlgebraScalar>(_ z: Complex<T>) -> Complex<Double> {
        Complex(Double(z.real), Double(z.imaginary))
    }

    /// op(A)[i, p] read straight from A's subscript.
    static func op<T: LinearAlgebraScalar>(_ a: ComplexMatrix<T>, _ t: Transpose, _ i: Int, _ p: Int) -> Complex<Double>
    {
        switch t {
        case .none: return toDouble(a[i, p])
        case .transpose: return toDouble(a[p, i])
        case .adjoint: return toDouble(a[p, i]).conjugate
        }
    }

    /// op(A)·op(B) by the triple loop, in Double.
    static func product<T: LinearAlgebraScalar>(
        _ a: ComplexMatrix<T>, _ b: ComplexMatrix<T>, _ ta: Transpose = .none, _ tb: Transpose = .none
    ) -> (rows: Int, cols: Int, values: [[Complex<Double>]]) {
        let m = ta == .none ? a.rows : a.cols
        let k = ta == .none ? a.cols : a.rows
        let n = tb == .none ? b.cols : b.rows
        var c = [[Complex<Double>]](repeating: [Complex<Double>](repeating: .zero, count: n), count: m)
        for i in 0..<m {
            for j in 0..<n {
                var acc = Complex<Double>.zero
                for p in 0..<k { acc += op(a, ta, i, p) * op(b, tb, p, j) }
                c[i][j] = acc
            }
        }
        return (m, n, c)
    }

    /// Largest |x[i, j] − y[i][j]|.
    static func maxDifference<T: LinearAlgebraScalar>(_ x: ComplexMatrix<T>, _ y: [[Complex<Double>]]) -> Double {
        var worst = 0.0
        for i in 0..<x.rows { for j in 0..<x.cols { worst = max(worst, (toDouble(x[i, j]) - y[i][j]).length) } }
        return worst
    }

    /// Largest |(XᴴX − I)[i, j]|, by loops.
    static func orthonormalityError<T: LinearAlgebraScalar>(_ x: ComplexMatrix<T>) -> Double {
        var worst = 0.0
        for i in 0..<x.cols {
            for j in 0..<x.cols {
                var acc = Complex<Double>.zero
                for r in 0..<x.rows { acc += toDouble(x[r, i]).conjugate * toDouble(x[r, j]) }
                worst = max(worst, (acc - (i == j ? .one : .zero)).length)
            }
        }
        return worst
    }
}

final class ComplexMatrixTests: XCTestCase {
    private let ops: [Transpose] = [.none, .transpose, .adjoint]

    /// Stored shape of an operand whose op() must be rows×cols.
    private func stored(_ t: Transpose, _ rows: Int, _ cols: Int) -> (Int, Int) {
        t == .none ? (rows, cols) : (cols, rows)
    }

    private func checkProducts<T: LinearAlgebraScalar>(
        _: T.Type, tolerance: Double, file: StaticString = #filePath, line: UInt = #line
    ) {
        var g = TestLCG(seed: 7)
        // Non-square everywhere: op(A) is 5×3, op(B) is 3×4, so C is 5×4.
        let (m, k, n) = (5, 3, 4)
        for ta in ops {
            for tb in ops {
                let (ar, ac) = stored(ta, m, k)
                let (br, bc) = stored(tb, k, n)
                let a = g.matrix(ar, ac, T.self)
                let b = g.matrix(br, bc, T.self)
                let c = a.product(b, ta, tb)
                let expected = Reference.product(a, b, ta, tb)
                XCTAssertEqual(c.rows, m, "\(ta), \(tb)", file: file, line: line)
                XCTAssertEqual(c.cols, n, "\(ta), \(tb)", file: file, line: line)
                let err = Reference.maxDifference(c, expected.values)
                XCTAssertLessThan(err, tolerance, "op(A) = \(ta), op(B) = \(tb)", file: file, line: line)
            }
        }
    }

    func testProductMatchesTripleLoopDouble() { checkProducts(Double.self, tolerance: 1e-13) }

    func testProductMatchesTripleLoopFloat() { checkProducts(Float.self, tolerance: 1e-5) }

    /// A larger, skinny product (17×9 · 9×2) through the `*` operator, and the transpose/adjoint
    /// flags differ from each other on complex data (they would agree on real data).
    func testStarOperatorAndConjugation() {
        var g = TestLCG(seed: 11)
        let a = g.matrix(17, 9, Double.self)
        let b = g.matrix(9, 2, Double.self)
        XCTAssertLessThan(Reference.maxDifference(a * b, Reference.product(a, b).values), 1e-13)

        let x = g.matrix(4, 3, Double.self)
        let viaTranspose = x.product(x, .transpose, .none)
        let viaAdjoint = x.product(x, .adjoint, .none)
        XCTAssertGreaterThan(viaTranspose.maxAbsDifference(viaAdjoint), 0.1, "ᵀ and ᴴ must differ for complex data")
        // xᴴx is Hermitian with a real, positive diagonal.
        for i in 0..<3 {
            XCTAssertEqual(viaAdjoint[i, i].imaginary, 0, accuracy: 1e-14)
            XCTAssertGreaterThan(viaAdjoint[i, i].real, 0)
            for j in 0..<3 { XCTAssertLessThan((viaAdjoint[i, j] - viaAdjoint[j, i].conjugate).length, 1e-14) }
        }
    }

    /// The `.adjoint` gemm flag agrees with multiplying the explicit `adjoint` matrix.
    func testAdjointFlagEqualsExplicitAdjoint() {
        var g = TestLCG(seed: 12)
        let a = g.matrix(6, 4, Double.self)
        let b = g.matrix(6, 3, Double.self)
        XCTAssertLessThan(a.product(b, .adjoint).maxAbsDifference(a.adjoint * b), 1e-14)
        XCTAssertLessThan(b.product(a, .adjoint, .none).maxAbsDifference(b.adjoint * a), 1e-14)
    }

    func testEmptyInnerDimensionGivesZeros() {
        let a = ComplexMatrix<Double>(rows: 3, cols: 0)
        let b = ComplexMatrix<Double>(rows: 0, cols: 2)
        let c = a * b
        XCTAssertEqual(c.rows, 3)
        XCTAssertEqual(c.cols, 2)
        XCTAssertTrue(c.elements.allSatisfy { $0 == .zero })
    }

    func testColumnMajorLayoutAndAccessors() {
        let a = ComplexMatrix<Double>(rows: 2, cols: 3) { i, j in Complex(Double(10 * i + j), Double(-j)) }
        // elements[i + j·rows]
        XCTAssertEqual(a.elements.map(\.real), [0, 10, 1, 11, 2, 12])
        XCTAssertEqual(a[1, 2], Complex(12, -2))
        XCTAssertEqual(a.column(1), [Complex(1, -1), Complex(11, -1)])
        XCTAssertEqual(a.leadingColumns(2).elements, Array(a.elements[0..<4]))
        let h = a.adjoint
        XCTAssertEqual(h.rows, 3)
        XCTAssertEqual(h.cols, 2)
        for i in 0..<2 { for j in 0..<3 { XCTAssertEqual(h[j, i], a[i, j].conjugate) } }
        XCTAssertEqual(a.trace, Complex(0 + 11, 0 - 1))
        // ‖A‖_F² by hand: Σ (10i + j)² + j² over i < 2, j < 3.
        var f = 0.0
        for i in 0..<2 { for j in 0..<3 { f += Double((10 * i + j) * (10 * i + j) + j * j) } }
        XCTAssertEqual(a.frobeniusNormSquared, f)
        XCTAssertTrue(a.isFinite)
        var b = a
        b[0, 1] = Complex(.nan, 0)
        XCTAssertFalse(b.isFinite)
        XCTAssertEqual(ComplexMatrix<Double>.identity(3).trace, Complex(3, 0))
    }

    func testElementwiseArithmeticAndConversion() {
        var g = TestLCG(seed: 3)
        let a = g.matrix(3, 2, Double.self)
        let b = g.matrix(3, 2, Double.self)
        let s = Complex<Double>(0.5, -2)
        let sum = a + b
        let diff = a - b
        let scaled = s * a
        let real = 3.0 * a
        for i in 0..<3 {
            for j in 0..<2 {
                XCTAssertEqual(sum[i, j], a[i, j] + b[i, j])
                XCTAssertEqual(diff[i, j], a[i, j] - b[i, j])
                XCTAssertLessThan((scaled[i, j] - s * a[i, j]).length, 1e-15)
                XCTAssertEqual(real[i, j], Complex(3 * a[i, j].real, 3 * a[i, j].imaginary))
            }
        }
        let f: ComplexMatrix<Float> = a.converted()
        XCTAssertEqual(f.rows, 3)
        XCTAssertEqual(f[2, 1], Complex(Float(a[2, 1].real), Float(a[2, 1].imaginary)))
        XCTAssertLessThan(f.converted(to: Double.self).maxAbsDifference(a), 1e-7)
    }
}
