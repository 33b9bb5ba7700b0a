import Numerics
import XCTest

@testable import LinearAlgebra

final class DecompositionTests: XCTestCase {
    // MARK: - Fixtures

    /// A random Hermitian matrix B + Bᴴ.
    private func hermitian<T: LinearAlgebraScalar>(_ n: Int, seed: UInt64, _: T.Type = T.self) -> ComplexMatrix<T> {
        var g = TestLCG(seed: seed)
        let b = g.matrix(n, n, T.self)
        return ComplexMatrix(rows: n, cols: n) { i, j in b[i, j] + b[j, i].conjugate }
    }

    /// A random Hermitian positive-definite matrix B·Bᴴ + n·I (eigenvalues ≥ n), built by loops.
    private func positiveDefinite<T: LinearAlgebraScalar>(_ n: Int, seed: UInt64, _: T.Type = T.self) -> ComplexMatrix<
        T
    > {
        var g = TestLCG(seed: seed)
        let b = g.matrix(n, n, T.self)
        return ComplexMatrix(rows: n, cols: n) { i, j in
            var acc = Complex<T>.zero
            for p in 0..<n { acc += b[i, p] * b[j, p].conjugate }
            return i == j ? acc + Complex(T(n)) : acc
        }
    }

    private func toDouble<T: LinearAlgebraScalar>(_ a: ComplexMatrix<T>) -> [[Complex<Double>]] {
        (0..<a.rows).map { i in (0..<a.cols).map { j in Reference.toDouble(a[i, j]) } }
    }

    // MARK: - Hermitian eigendecomposition

    private func checkEigen<T: LinearAlgebraScalar>(
        _: T.Type, n: Int, tolerance: Double, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let a = hermitian(n, seed: 21, T.self)
        let (values, v) = try a.hermitianEigen()
        XCTAssertEqual(values.count, n, file: file, line: line)
        XCTAssertEqual(v.rows, n, file: file, line: line)
        XCTAssertEqual(v.cols, n, file: file, line: line)
        for i in 1..<n {
            XCTAssertLessThanOrEqual(values[i - 1], values[i], "eigenvalues must ascend", file: file, line: line)
        }
        XCTAssertLessThan(Reference.orthonormalityError(v), tolerance, "VᴴV = I", file: file, line: line)
        // V·diag(λ)·Vᴴ = A, by loops.
        var worst = 0.0
        for i in 0..<n {
            for j in 0..<n {
                var acc = Complex<Double>.zero
                for p in 0..<n {
                    acc +=
                        Reference.toDouble(v[i, p]) * Complex(Double(values[p])) * Reference.toDouble(v[j, p]).conjugate
                }
                worst = max(worst, (acc - Reference.toDouble(a[i, j])).length)
            }
        }
        XCTAssertLessThan(worst, tolerance, "V diag(λ) Vᴴ = A", file: file, line: line)
        // Trace = Σλ (independent of V).
        XCTAssertEqual(
            values.reduce(0) { $0 + Double($1) }, Double(a.trace.real), accuracy: tolerance, file: file, line: line)
    }

    func testHermitianEigenDouble() throws { try checkEigen(Double.self, n: 7, tolerance: 1e-12) }

    func testHermitianEigenFloat() throws { try checkEigen(Float.self, n: 5, tolerance: 2e-5) }

    /// 2×2 closed form: λ = (a+d)/2 ∓ √(((a−d)/2)² + |b|²).
    func testHermitianEigenAnalytic2x2() throws {
        let (a, d) = (3.0, -1.0)
        let b = Complex<Double>(1, 2)
        let m = ComplexMatrix<Double>(rows: 2, cols: 2, elements: [Complex(a), b.conjugate, b, Complex(d)])
        let r = (((a - d) / 2) * ((a - d) / 2) + b.lengthSquared).squareRoot()
        let (values, _) = try m.hermitianEigen()
        XCTAssertEqual(values[0], (a + d) / 2 - r, accuracy: 1e-14)
        XCTAssertEqual(values[1], (a + d) / 2 + r, accuracy: 1e-14)
    }

    /// Only the lower triangle is read (documented): garbage above the diagonal changes nothing.
    func testHermitianEigenReadsLowerTriangleOnly() throws {
        let a = hermitian(4, seed: 5, Double.self)
        var garbled = a
        for j in 0..<4 { for i in 0..<j { garbled[i, j] = Complex(99, -42) } }
        let (clean, _) = try a.hermitianEigen()
        let (fromLower, _) = try garbled.hermitianEigen()
        for i in 0..<4 { XCTAssertEqual(clean[i], fromLower[i], accuracy: 1e-12) }
    }

    // MARK: - QR

    private func checkQR<T: LinearAlgebraScalar>(
        _: T.Type, rows: Int, cols: Int, tolerance: Double, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        var g = TestLCG(seed: UInt64(rows * 100 + cols))
        let a = g.matrix(rows, cols, T.self)
        let (q, r) = try a.qr()
        XCTAssertEqual(q.rows, rows, file: file, line: line)
        XCTAssertEqual(q.cols, cols, file: file, line: line)
        XCTAssertEqual(r.rows, cols, file: file, line: line)
        XCTAssertEqual(r.cols, cols, file: file, line: line)
        XCTAssertLessThan(Reference.orthonormalityError(q), tolerance, "QᴴQ = I", file: file, line: line)
        for j in 0..<cols {
            for i in (j + 1)..<cols {
                XCTAssertEqual(r[i, j], .zero, "R must be upper triangular", file: file, line: line)
            }
            XCTAssertGreaterThan(Double(r[j, j].real), 0, "R's diagonal must be positive", file: file, line: line)
            XCTAssertEqual(
                Double(r[j, j].imaginary), 0, accuracy: tolerance, "R's diagonal must be real", file: file, line: line)
        }
        XCTAssertLessThan(
            Reference.maxDifference(a, Reference.product(q, r).values), tolerance, "QR = A", file: file, line: line)
    }

    func testQRDoubleTall() throws { try checkQR(Double.self, rows: 7, cols: 4, tolerance: 1e-13) }

    func testQRDoubleSquare() throws { try checkQR(Double.self, rows: 5, cols: 5, tolerance: 1e-13) }

    func testQRFloatTall() throws { try checkQR(Float.self, rows: 6, cols: 3, tolerance: 1e-5) }

    /// A column of zeros: R has a zero on the diagonal, the factorisation still reproduces A.
    func testQRRankDeficient() throws {
        var g = TestLCG(seed: 9)
        var a = g.matrix(5, 3, Double.self)
        for i in 0..<5 { a[i, 1] = .zero }
        let (q, r) = try a.qr()
        XCTAssertEqual(r[1, 1].length, 0, accuracy: 1e-14)
        XCTAssertLessThan(Reference.maxDifference(a, Reference.product(q, r).values), 1e-13)
    }

    func testQRRejectsNonFinite() {
        var a = ComplexMatrix<Double>.identity(3)
        a[2, 0] = Complex(.infinity, 0)
        XCTAssertThrowsError(try a.qr()) { XCTAssertEqual($0 as? LinearAlgebraError, .nonFinite("matrix")) }
    }

    // MARK: - Cholesky, solve, inverse

    private func checkCholesky<T: LinearAlgebraScalar>(
        _: T.Type, n: Int, tolerance: Double, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let a = positiveDefinite(n, seed: 31, T.self)
        let l = try a.cholesky()
        for j in 0..<n {
            for i in 0..<j { XCTAssertEqual(l[i, j], .zero, "L must be lower triangular", file: file, line: line) }
            XCTAssertGreaterThan(Double(l[j, j].real), 0, file: file, line: line)
            XCTAssertEqual(Double(l[j, j].imaginary), 0, accuracy: tolerance, file: file, line: line)
        }
        let llh = Reference.product(l, l, .none, .adjoint)
        XCTAssertLessThan(
            Reference.maxDifference(a, llh.values), tolerance * Double(n), "L·Lᴴ = A", file: file, line: line)
    }

    func testCholeskyDouble() throws { try checkCholesky(Double.self, n: 6, tolerance: 1e-13) }

    func testCholeskyFloat() throws { try checkCholesky(Float.self, n: 5, tolerance: 4e-6) }

    func testCholeskyOfDiagonalIsSquareRoot() throws {
        let a = ComplexMatrix<Double>(rows: 3, cols: 3) { i, j in
            i == j ? Complex(Double((i + 1) * (i + 1)) * 4) : .zero
        }
        let l = try a.cholesky()
        XCTAssertEqual(l, ComplexMatrix(rows: 3, cols: 3) { i, j in i == j ? Complex(Double(2 * (i + 1))) : .zero })
    }

    func testSolvePositiveDefiniteRecoversKnownSolution() throws {
        let n = 6
        let a = positiveDefinite(n, seed: 41, Double.self)
        var g = TestLCG(seed: 42)
        let xTrue = g.matrix(n, 3, Double.self)
        let b = a * xTrue
        let x = try a.solvePositiveDefinite(b)
        XCTAssertEqual(x.rows, n)
        XCTAssertEqual(x.cols, 3)
        XCTAssertLessThan(x.maxAbsDifference(xTrue), 1e-12)
        // Residual A·X − B by loops.
        XCTAssertLessThan(Reference.maxDifference(b, Reference.product(a, x).values), 1e-12)
    }

    func testSolvePositiveDefiniteFloat() throws {
        let a = positiveDefinite(4, seed: 43, Float.self)
        var g = TestLCG(seed: 44)
        let xTrue = g.matrix(4, 2, Float.self)
        let x = try a.solvePositiveDefinite(a * xTrue)
        XCTAssertLessThan(x.maxAbsDifference(xTrue), 1e-5)
    }

    func testInversePositiveDefinite() throws {
        let n = 5
        let a = positiveDefinite(n, seed: 51, Double.self)
        let inv = try a.inversePositiveDefinite()
        // Hermitian, upper triangle filled.
        for i in 0..<n { for j in 0..<n { XCTAssertEqual(inv[i, j], inv[j, i].conjugate) } }
        // A·A⁻¹ = I and A⁻¹·A = I, by loops.
        let identity = toDouble(ComplexMatrix<Double>.identity(n))
        XCTAssertLessThan(
            Reference.maxDifference(ComplexMatrix<Double>.identity(n), Reference.product(a, inv).values), 1e-13)
        let left = Reference.product(inv, a).values
        var worst = 0.0
        for i in 0..<n { for j in 0..<n { worst = max(worst, (left[i][j] - identity[i][j]).length) } }
        XCTAssertLessThan(worst, 1e-13)
    }

    func testInversePositiveDefiniteFloat() throws {
        let a = positiveDefinite(4, seed: 52, Float.self)
        let inv = try a.inversePositiveDefinite()
        XCTAssertLessThan(
            Reference.maxDifference(ComplexMatrix<Float>.identity(4), Reference.product(a, inv).values), 1e-5)
    }

    func testEmptyMatrices() throws {
        let e = ComplexMatrix<Double>(rows: 0, cols: 0)
        XCTAssertEqual(try e.hermitianEigen().values, [])
        XCTAssertEqual(try e.cholesky(), e)
        XCTAssertEqual(try e.inversePositiveDefinite(), e)
    }

    // MARK: - Typed errors

    func testNotSquare() {
        let a = ComplexMatrix<Double>(rows: 2, cols: 3)
        let expected = LinearAlgebraError.notSquare(rows: 2, cols: 3)
        XCTAssertThrowsError(try a.hermitianEigen()) { XCTAssertEqual($0 as? LinearAlgebraError, expected) }
        XCTAssertThrowsError(try a.cholesky()) { XCTAssertEqual($0 as? LinearAlgebraError, expected) }
        XCTAssertThrowsError(try a.inversePositiveDefinite()) { XCTAssertEqual($0 as? LinearAlgebraError, expected) }
        XCTAssertThrowsError(try a.solvePositiveDefinite(ComplexMatrix(rows: 2, cols: 1))) {
            XCTAssertEqual($0 as? LinearAlgebraError, expected)
        }
    }

    func testSingularAndIndefinite() {
        // Singular PSD: [[1, 1], [1, 1]] fails at the second leading minor.
        let singular = ComplexMatrix<Double>(rows: 2, cols: 2, elements: [.one, .one, .one, .one])
        XCTAssertThrowsError(try singular.cholesky()) {
            XCTAssertEqual($0 as? LinearAlgebraError, .notPositiveDefinite(order: 2))
        }
        XCTAssertThrowsError(try singular.solvePositiveDefinite(ComplexMatrix(rows: 2, cols: 1))) {
            XCTAssertEqual($0 as? LinearAlgebraError, .notPositiveDefinite(order: 2))
        }
        XCTAssertThrowsError(try singular.inversePositiveDefinite()) {
            XCTAssertEqual($0 as? LinearAlgebraError, .notPositiveDefinite(order: 2))
        }
        // Indefinite diag(1, 2, −1, 4): third leading minor.
        let indefinite = ComplexMatrix<Float>(rows: 4, cols: 4) { i, j in
            i == j ? Complex<Float>([Float(1), 2, -1, 4][i], 0) : .zero
        }
        XCTAssertThrowsError(try indefinite.cholesky()) {
            XCTAssertEqual($0 as? LinearAlgebraError, .notPositiveDefinite(order: 3))
        }
        // Negative definite fails at once; so does the zero matrix.
        XCTAssertThrowsError(try (-1.0 * ComplexMatrix<Double>.identity(3)).cholesky()) {
            XCTAssertEqual($0 as? LinearAlgebraError, .notPositiveDefinite(order: 1))
        }
        XCTAssertThrowsError(try ComplexMatrix<Double>(rows: 3, cols: 3).inversePositiveDefinite()) {
            XCTAssertEqual($0 as? LinearAlgebraError, .notPositiveDefinite(order: 1))
        }
    }

    func testNonFinite() {
        var a = positiveDefinite(3, seed: 61, Double.self)
        a[1, 1] = Complex(.nan, 0)
        let expected = LinearAlgebraError.nonFinite("matrix")
        XCTAssertThrowsError(try a.cholesky()) { XCTAssertEqual($0 as? LinearAlgebraError, expected) }
        XCTAssertThrowsError(try a.hermitianEigen()) { XCTAssertEqual($0 as? LinearAlgebraError, expected) }
        XCTAssertThrowsError(try a.solvePositiveDefinite(ComplexMatrix(rows: 3, cols: 1))) {
            XCTAssertEqual($0 as? LinearAlgebraError, expected)
        }
        XCTAssertThrowsError(try a.inversePositiveDefinite()) { XCTAssertEqual($0 as? LinearAlgebraError, expected) }
        var b = ComplexMatrix<Float>.identity(2)
        b[0, 1] = Complex(0, -.infinity) // upper triangle: not read by LAPACK, still rejected
        XCTAssertThrowsError(try b.hermitianEigen()) { XCTAssertEqual($0 as? LinearAlgebraError, expected) }
    }

    func testErrorDescriptionsNameTheProblem() {
        XCTAssertEqual(LinearAlgebraError.notSquare(rows: 2, cols: 3).description, "matrix is 2×3, not square")
        XCTAssertTrue(LinearAlgebraError.notPositiveDefinite(order: 4).description.contains("order 4"))
        XCTAssertTrue(LinearAlgebraError.lapack(routine: "potrf", info: -3).description.contains("potrf"))
    }
}
