import Numerics

/// Why a decomposition or solve could not be done.
public enum LinearAlgebraError: Error, Equatable, CustomStringConvertible {
    /// The matrix is not square where it must be.
    case notSquare(rows: Int, cols: Int)
    /// Cholesky failed: the leading minor of this order is not positive definite.
    case notPositiveDefinite(order: Int)
    /// Operand shapes that do not fit together.
    case shapeMismatch(String)
    /// A LAPACK routine returned an error code.
    case lapack(routine: String, info: Int32)
    /// The input holds NaN or infinity.
    case nonFinite(String)

    @inlinable
    public var description: String {
        switch self {
        case .notSquare(let r, let c): return "matrix is \(r)×\(c), not square"
        case .notPositiveDefinite(let k):
            return "matrix is singular or not positive definite (leading minor of order \(k))"
        case .shapeMismatch(let why): return "shape mismatch: \(why)"
        case .lapack(let routine, let info): return "LAPACK \(routine) failed with info = \(info)"
        case .nonFinite(let what): return "\(what) holds NaN or infinity"
        }
    }
}

extension ComplexMatrix {
    /// Eigendecomposition of a Hermitian matrix (only the lower triangle is read).
    ///
    /// - Returns: eigenvalues in ascending order and the unitary matrix whose columns are the
    ///   matching eigenvectors.
    @inlinable
    public func hermitianEigen() throws -> (values: [T], vectors: ComplexMatrix) {
        guard rows == cols else { throw LinearAlgebraError.notSquare(rows: rows, cols: cols) }
        guard isFinite else { throw LinearAlgebraError.nonFinite("matrix") }
        var v = self
        var w = [T](repeating: 0, count: rows)
        if rows == 0 { return (w, v) }
        let info = v.elements.withUnsafeMutableBufferPointer { a in
            w.withUnsafeMutableBufferPointer { T.heevd(n: rows, a: a.baseAddress!, lda: rows, w: $0.baseAddress!) }
        }
        guard info == 0 else { throw LinearAlgebraError.lapack(routine: "heevd", info: info) }
        return (w, v)
    }

    /// Thin QR: Q (rows×cols) with orthonormal columns and upper-triangular R (cols×cols), rows ≥ cols.
    ///
    /// R's diagonal is made real and non-negative so the factorisation is unique for full rank.
    @inlinable
    public func qr() throws -> (q: ComplexMatrix, r: ComplexMatrix) {
        guard rows >= cols else {
            throw LinearAlgebraError.shapeMismatch("thin QR needs rows ≥ cols, got \(rows)×\(cols)")
        }
        guard isFinite else { throw LinearAlgebraError.nonFinite("matrix") }
        if cols == 0 { return (ComplexMatrix(rows: rows, cols: 0), ComplexMatrix(rows: 0, cols: 0)) }
        var a = self
        var tau = [Complex<T>](repeating: .zero, count: cols)
        var info = a.elements.withUnsafeMutableBufferPointer { pa in
            tau.withUnsafeMutableBufferPointer {
                T.geqrf(m: rows, n: cols, a: pa.baseAddress!, lda: rows, tau: $0.baseAddress!)
            }
        }
        guard info == 0 else { throw LinearAlgebraError.lapack(routine: "geqrf", info: info) }
        var r = ComplexMatrix(rows: cols, cols: cols) { i, j in i <= j ? a[i, j] : .zero }
        info = a.elements.withUnsafeMutableBufferPointer { pa in
            tau.withUnsafeBufferPointer {
                T.ungqr(m: rows, n: cols, k: cols, a: pa.baseAddress!, lda: rows, tau: $0.baseAddress!)
            }
        }
        guard info == 0 else { throw LinearAlgebraError.lapack(routine: "ungqr", info: info) }
        // Rotate each column of Q (and row of R) so R's diagonal is real and ≥ 0.
        for j in 0..<cols {
            let d = r[j, j]
            let len = d.length
            guard len > 0 else { continue }
            let phase = Complex(d.real / len, d.imaginary / len)
            for i in 0..<rows { a[i, j] = a[i, j] * phase }
            for k in j..<cols { r[j, k] = phase.conjugate * r[j, k] }
        }
        return (a, r)
    }

    /// Cholesky factor L (lower triangular, A = L·Lᴴ) of a Hermitian positive-definite matrix.
    @inlinable
    public func cholesky() throws -> ComplexMatrix {
        guard rows == cols else { throw LinearAlgebraError.notSquare(rows: rows, cols: cols) }
        guard isFinite else { throw LinearAlgebraError.nonFinite("matrix") }
        var l = self
        if rows == 0 { return l }
        let info = l.elements.withUnsafeMutableBufferPointer { T.potrf(n: rows, a: $0.baseAddress!, lda: rows) }
        if info > 0 { throw LinearAlgebraError.notPositiveDefinite(order: Int(info)) }
        guard info == 0 else { throw LinearAlgebraError.lapack(routine: "potrf", info: info) }
        for j in 0..<cols { for i in 0..<j { l[i, j] = .zero } }
        return l
    }

    /// Solves A·X = B for Hermitian positive-definite A (self) by Cholesky.
    @inlinable
    public func solvePositiveDefinite(_ b: ComplexMatrix) throws -> ComplexMatrix {
        guard b.rows == rows else {
            throw LinearAlgebraError.shapeMismatch("right-hand side has \(b.rows) rows, matrix has \(rows)")
        }
        guard b.isFinite else { throw LinearAlgebraError.nonFinite("right-hand side") }
        let l = try cholesky()
        var x = b
        if rows == 0 || b.cols == 0 { return x }
        let info = l.elements.withUnsafeBufferPointer { pl in
            x.elements.withUnsafeMutableBufferPointer {
                T.potrs(n: rows, nrhs: b.cols, a: pl.baseAddress!, lda: rows, b: $0.baseAddress!, ldb: rows)
            }
        }
        guard info == 0 else { throw LinearAlgebraError.lapack(routine: "potrs", info: info) }
        return x
    }

    /// Inverse of a Hermitian positive-definite matrix (self) by Cholesky; the result is Hermitian.
    @inlinable
    public func inversePositiveDefinite() throws -> ComplexMatrix {
        var inv = try cholesky()
        if rows == 0 { return inv }
        let info = inv.elements.withUnsafeMutableBufferPointer { T.potri(n: rows, a: $0.baseAddress!, lda: rows) }
        if info > 0 { throw LinearAlgebraError.notPositiveDefinite(order: Int(info)) }
        guard info == 0 else { throw LinearAlgebraError.lapack(routine: "potri", info: info) }
        for j in 0..<cols { for i in 0..<j { inv[i, j] = inv[j, i].conjugate } }
        return inv
    }
}
