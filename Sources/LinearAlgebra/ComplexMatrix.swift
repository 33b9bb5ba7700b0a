import Numerics

/// A dense complex matrix, column-major: element (i, j) lives at `elements[i + j·rows]`.
///
/// Column-major is LAPACK's native order, so matrices go to BLAS/LAPACK without copies, and a
/// beamformer's columns (one per stream) are contiguous.
@frozen
public struct ComplexMatrix<T: LinearAlgebraScalar>: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    /// Column-major storage, `rows·cols` elements.
    public var elements: [Complex<T>]

    /// A rows×cols matrix of zeros.
    @inlinable
    public init(rows: Int, cols: Int) {
        precondition(rows >= 0 && cols >= 0, "matrix dimensions must be non-negative")
        self.rows = rows
        self.cols = cols
        self.elements = Array(repeating: .zero, count: rows * cols)
    }

    /// A matrix over existing column-major storage.
    @inlinable
    public init(rows: Int, cols: Int, elements: [Complex<T>]) {
        precondition(elements.count == rows * cols, "expected \(rows * cols) elements, got \(elements.count)")
        self.rows = rows
        self.cols = cols
        self.elements = elements
    }

    /// A matrix whose (i, j) element is `f(i, j)`.
    @inlinable
    public init(rows: Int, cols: Int, _ f: (Int, Int) -> Complex<T>) {
        self.init(rows: rows, cols: cols)
        for j in 0..<cols { for i in 0..<rows { elements[i + j * rows] = f(i, j) } }
    }

    /// The n×n identity.
    @inlinable
    public static func identity(_ n: Int) -> ComplexMatrix {
        ComplexMatrix(rows: n, cols: n) { i, j in i == j ? .one : .zero }
    }

    @inlinable
    public subscript(i: Int, j: Int) -> Complex<T> {
        get { elements[i + j * rows] }
        set { elements[i + j * rows] = newValue }
    }

    /// Column j as an array of `rows` elements.
    @inlinable
    public func column(_ j: Int) -> [Complex<T>] { Array(elements[(j * rows)..<((j + 1) * rows)]) }

    /// The first `count` columns.
    @inlinable
    public func leadingColumns(_ count: Int) -> ComplexMatrix {
        ComplexMatrix(rows: rows, cols: count, elements: Array(elements[0..<(rows * count)]))
    }

    /// The conjugate transpose Aᴴ.
    @inlinable
    public var adjoint: ComplexMatrix {
        ComplexMatrix(rows: cols, cols: rows) { i, j in self[j, i].conjugate }
    }

    /// Sum of the diagonal.
    @inlinable
    public var trace: Complex<T> {
        var t = Complex<T>.zero
        for i in 0..<min(rows, cols) { t += self[i, i] }
        return t
    }

    /// ‖A‖_F².
    @inlinable
    public var frobeniusNormSquared: T { elements.reduce(0) { $0 + $1.lengthSquared } }

    /// Whether every element is finite.
    @inlinable
    public var isFinite: Bool { elements.allSatisfy { $0.real.isFinite && $0.imaginary.isFinite } }

    /// The same matrix in another precision.
    @inlinable
    public func converted<U: LinearAlgebraScalar>(to: U.Type = U.self) -> ComplexMatrix<U> {
        ComplexMatrix<U>(rows: rows, cols: cols, elements: elements.map { Complex(U($0.real), U($0.imaginary)) })
    }

    @inlinable
    public static func + (a: ComplexMatrix, b: ComplexMatrix) -> ComplexMatrix {
        precondition(a.rows == b.rows && a.cols == b.cols, "shape mismatch in +")
        return ComplexMatrix(rows: a.rows, cols: a.cols, elements: zip(a.elements, b.elements).map { $0 + $1 })
    }

    @inlinable
    public static func - (a: ComplexMatrix, b: ComplexMatrix) -> ComplexMatrix {
        precondition(a.rows == b.rows && a.cols == b.cols, "shape mismatch in -")
        return ComplexMatrix(rows: a.rows, cols: a.cols, elements: zip(a.elements, b.elements).map { $0 - $1 })
    }

    @inlinable
    public static func * (s: Complex<T>, a: ComplexMatrix) -> ComplexMatrix {
        ComplexMatrix(rows: a.rows, cols: a.cols, elements: a.elements.map { s * $0 })
    }

    @inlinable
    public static func * (s: T, a: ComplexMatrix) -> ComplexMatrix {
        ComplexMatrix(rows: a.rows, cols: a.cols, elements: a.elements.map { Complex($0.real * s, $0.imaginary * s) })
    }

    /// The matrix product through ?gemm.
    @inlinable
    public static func * (a: ComplexMatrix, b: ComplexMatrix) -> ComplexMatrix {
        a.product(b)
    }

    /// op(self)·op(other) through ?gemm.
    @inlinable
    public func product(_ other: ComplexMatrix, _ opA: Transpose = .none, _ opB: Transpose = .none) -> ComplexMatrix {
        let (m, ka) = opA == .none ? (rows, cols) : (cols, rows)
        let (kb, n) = opB == .none ? (other.rows, other.cols) : (other.cols, other.rows)
        precondition(ka == kb, "inner dimensions differ: \(ka) vs \(kb)")
        var c = ComplexMatrix(rows: m, cols: n)
        if m == 0 || n == 0 { return c }
        if ka == 0 { return c }
        elements.withUnsafeBufferPointer { pa in
            other.elements.withUnsafeBufferPointer { pb in
                c.elements.withUnsafeMutableBufferPointer { pc in
                    T.gemm(
                        opA, opB, m: m, n: n, k: ka, alpha: .one, a: pa.baseAddress!, lda: max(rows, 1),
                        b: pb.baseAddress!, ldb: max(other.rows, 1), beta: .zero, c: pc.baseAddress!, ldc: max(m, 1))
                }
            }
        }
        return c
    }

    /// Largest elementwise |a − b|.
    @inlinable
    public func maxAbsDifference(_ other: ComplexMatrix) -> T {
        zip(elements, other.elements).reduce(0) { Swift.max($0, ($1.0 - $1.1).length) }
    }
}
