import COpenBLAS
import Numerics

/// A real scalar type whose complex counterpart BLAS and LAPACK serve: `Float` maps to the
/// `c` routines (complex64), `Double` to the `z` routines (complex128).
///
/// Every pointer argument points to column-major storage of `Complex<Self>`, which has the
/// memory layout of C's `float _Complex` / `double _Complex` (two reals, real part first).
public protocol LinearAlgebraScalar: Real & BinaryFloatingPoint & Sendable {
    /// C ← α·op(A)·op(B) + β·C, column-major; (m×k)·(k×n).
    static func gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Complex<Self>, a: UnsafePointer<Complex<Self>>, lda: Int,
        b: UnsafePointer<Complex<Self>>, ldb: Int,
        beta: Complex<Self>, c: UnsafeMutablePointer<Complex<Self>>, ldc: Int)
    /// Hermitian eigendecomposition in place (LAPACK ?heevd, lower triangle read). Eigenvalues ascending.
    static func heevd(n: Int, a: UnsafeMutablePointer<Complex<Self>>, lda: Int, w: UnsafeMutablePointer<Self>) -> Int32
    /// Householder QR in place (?geqrf).
    static func geqrf(
        m: Int, n: Int, a: UnsafeMutablePointer<Complex<Self>>, lda: Int, tau: UnsafeMutablePointer<Complex<Self>>
    ) -> Int32
    /// Forms the first n columns of Q from ?geqrf's reflectors (?ungqr).
    static func ungqr(
        m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Complex<Self>>, lda: Int, tau: UnsafePointer<Complex<Self>>
    ) -> Int32
    /// Cholesky factor A = L·L^H in place, lower triangle (?potrf).
    static func potrf(n: Int, a: UnsafeMutablePointer<Complex<Self>>, lda: Int) -> Int32
    /// Solves A·X = B from ?potrf's factor (?potrs).
    static func potrs(
        n: Int, nrhs: Int, a: UnsafePointer<Complex<Self>>, lda: Int, b: UnsafeMutablePointer<Complex<Self>>, ldb: Int
    ) -> Int32
    /// Inverse from ?potrf's factor, lower triangle written (?potri).
    static func potri(n: Int, a: UnsafeMutablePointer<Complex<Self>>, lda: Int) -> Int32
}

/// Whether a gemm operand is used as is, transposed, or conjugate-transposed.
public enum Transpose: Sendable {
    case none, transpose, adjoint
    var cblas: CBLAS_TRANSPOSE {
        switch self {
        case .none: return CblasNoTrans
        case .transpose: return CblasTrans
        case .adjoint: return CblasConjTrans
        }
    }
}

private let lower = CChar(UInt8(ascii: "L"))
private let vectors = CChar(UInt8(ascii: "V"))
private let colMajor = LAPACK_COL_MAJOR

@inline(__always) private func cf(_ p: UnsafeMutablePointer<Complex<Float>>) -> UnsafeMutablePointer<
    airfl_complex_float
> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: airfl_complex_float.self)
}
@inline(__always) private func cf(_ p: UnsafePointer<Complex<Float>>) -> UnsafeMutablePointer<airfl_complex_float> {
    UnsafeMutableRawPointer(mutating: p).assumingMemoryBound(to: airfl_complex_float.self)
}
@inline(__always) private func zf(_ p: UnsafeMutablePointer<Complex<Double>>) -> UnsafeMutablePointer<
    airfl_complex_double
> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: airfl_complex_double.self)
}
@inline(__always) private func zf(_ p: UnsafePointer<Complex<Double>>) -> UnsafeMutablePointer<airfl_complex_double> {
    UnsafeMutableRawPointer(mutating: p).assumingMemoryBound(to: airfl_complex_double.self)
}

extension Float: LinearAlgebraScalar {
    public static func gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Complex<Float>, a: UnsafePointer<Complex<Float>>, lda: Int,
        b: UnsafePointer<Complex<Float>>, ldb: Int,
        beta: Complex<Float>, c: UnsafeMutablePointer<Complex<Float>>, ldc: Int
    ) {
        var alpha = alpha
        var beta = beta
        cblas_cgemm(
            CblasColMajor, transA.cblas, transB.cblas, blasint(m), blasint(n), blasint(k),
            &alpha, a, blasint(lda), b, blasint(ldb), &beta, c, blasint(ldc))
    }
    public static func heevd(n: Int, a: UnsafeMutablePointer<Complex<Float>>, lda: Int, w: UnsafeMutablePointer<Float>)
        -> Int32
    {
        LAPACKE_cheevd(colMajor, vectors, lower, Int32(n), cf(a), Int32(lda), w)
    }
    public static func geqrf(
        m: Int, n: Int, a: UnsafeMutablePointer<Complex<Float>>, lda: Int, tau: UnsafeMutablePointer<Complex<Float>>
    ) -> Int32 {
        LAPACKE_cgeqrf(colMajor, Int32(m), Int32(n), cf(a), Int32(lda), cf(tau))
    }
    public static func ungqr(
        m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Complex<Float>>, lda: Int, tau: UnsafePointer<Complex<Float>>
    ) -> Int32 {
        LAPACKE_cungqr(colMajor, Int32(m), Int32(n), Int32(k), cf(a), Int32(lda), cf(tau))
    }
    public static func potrf(n: Int, a: UnsafeMutablePointer<Complex<Float>>, lda: Int) -> Int32 {
        LAPACKE_cpotrf(colMajor, lower, Int32(n), cf(a), Int32(lda))
    }
    public static func potrs(
        n: Int, nrhs: Int, a: UnsafePointer<Complex<Float>>, lda: Int, b: UnsafeMutablePointer<Complex<Float>>, ldb: Int
    ) -> Int32 {
        LAPACKE_cpotrs(colMajor, lower, Int32(n), Int32(nrhs), cf(a), Int32(lda), cf(b), Int32(ldb))
    }
    public static func potri(n: Int, a: UnsafeMutablePointer<Complex<Float>>, lda: Int) -> Int32 {
        LAPACKE_cpotri(colMajor, lower, Int32(n), cf(a), Int32(lda))
    }
}

extension Double: LinearAlgebraScalar {
    public static func gemm(
        _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
        alpha: Complex<Double>, a: UnsafePointer<Complex<Double>>, lda: Int,
        b: UnsafePointer<Complex<Double>>, ldb: Int,
        beta: Complex<Double>, c: UnsafeMutablePointer<Complex<Double>>, ldc: Int
    ) {
        var alpha = alpha
        var beta = beta
        cblas_zgemm(
            CblasColMajor, transA.cblas, transB.cblas, blasint(m), blasint(n), blasint(k),
            &alpha, a, blasint(lda), b, blasint(ldb), &beta, c, blasint(ldc))
    }
    public static func heevd(
        n: Int, a: UnsafeMutablePointer<Complex<Double>>, lda: Int, w: UnsafeMutablePointer<Double>
    ) -> Int32 {
        LAPACKE_zheevd(colMajor, vectors, lower, Int32(n), zf(a), Int32(lda), w)
    }
    public static func geqrf(
        m: Int, n: Int, a: UnsafeMutablePointer<Complex<Double>>, lda: Int, tau: UnsafeMutablePointer<Complex<Double>>
    ) -> Int32 {
        LAPACKE_zgeqrf(colMajor, Int32(m), Int32(n), zf(a), Int32(lda), zf(tau))
    }
    public static func ungqr(
        m: Int, n: Int, k: Int, a: UnsafeMutablePointer<Complex<Double>>, lda: Int, tau: UnsafePointer<Complex<Double>>
    ) -> Int32 {
        LAPACKE_zungqr(colMajor, Int32(m), Int32(n), Int32(k), zf(a), Int32(lda), zf(tau))
    }
    public static func potrf(n: Int, a: UnsafeMutablePointer<Complex<Double>>, lda: Int) -> Int32 {
        LAPACKE_zpotrf(colMajor, lower, Int32(n), zf(a), Int32(lda))
    }
    public static func potrs(
        n: Int, nrhs: Int, a: UnsafePointer<Complex<Double>>, lda: Int, b: UnsafeMutablePointer<Complex<Double>>,
        ldb: Int
    ) -> Int32 {
        LAPACKE_zpotrs(colMajor, lower, Int32(n), Int32(nrhs), zf(a), Int32(lda), zf(b), Int32(ldb))
    }
    public static func potri(n: Int, a: UnsafeMutablePointer<Complex<Double>>, lda: Int) -> Int32 {
        LAPACKE_zpotri(colMajor, lower, Int32(n), zf(a), Int32(lda))
    }
}

/// Controls and reports OpenBLAS's own thread pool.
public enum BLASRuntime {
    /// Number of threads OpenBLAS uses for one call.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
    /// The kernel family OpenBLAS selected for this CPU (e.g. "Cooperlake").
    public static var coreName: String { String(cString: openblas_get_corename()) }
}
