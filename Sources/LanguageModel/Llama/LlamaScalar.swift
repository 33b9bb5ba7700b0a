import COpenBLAS
import Numerics

/// The real type a Llama pass computes in: `Float` for everything that runs, `Double` for the
/// finite-difference gradient check (the same code, so the check sees the production kernels).
///
/// `gemm` is row-major: C[m][n] ← α·op(A)·op(B) + β·C, op(A) m×k, op(B) k×n.
public protocol LlamaScalar: Real & BinaryFloatingPoint & Sendable {
    static func gemm(
        _ transA: Bool, _ transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
        _ a: UnsafePointer<Self>, lda: Int, _ b: UnsafePointer<Self>, ldb: Int,
        beta: Self, _ c: UnsafeMutablePointer<Self>, ldc: Int)
    /// Converts dequantised Float32 weights (the identity for Float).
    static func array(_ floats: [Float]) -> [Self]
}

extension Float: LlamaScalar {
    @inlinable public static func gemm(
        _ transA: Bool, _ transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        beta: Float, _ c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    public static func array(_ floats: [Float]) -> [Float] { floats }
}

extension Double: LlamaScalar {
    @inlinable public static func gemm(
        _ transA: Bool, _ transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
        _ a: UnsafePointer<Double>, lda: Int, _ b: UnsafePointer<Double>, ldb: Int,
        beta: Double, _ c: UnsafeMutablePointer<Double>, ldc: Int
    ) {
        cblas_dgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
    public static func array(_ floats: [Float]) -> [Double] { floats.map(Double.init) }
}

/// Counts floating-point operations: every matrix product of a pass (2·m·n·k), every elementwise
/// kernel (its per-element operation count, written beside each call; exp counts as one) and, in
/// training, `LoRAFineTuner.step`'s gradient accumulation, clipping norm and optimiser update (per
/// parameter: 2 per window, 2, and 12 for AdamW or 4 for SGD). Callers report achieved GFLOP/s
/// with it and the edge firmware meters its per-round FLOP budget.
public final class FlopMeter: @unchecked Sendable {
    /// FLOPs counted since creation or the last `reset()`.
    public private(set) var flops: Double = 0
    /// A meter at zero.
    public init() {}
    /// Counts `n` more FLOPs.
    @inline(__always) public func add(_ n: Double) { flops += n }
    /// Back to zero.
    public func reset() { flops = 0 }
}

/// Row-major matrix products over Swift arrays, metered.
struct Matmul<S: LlamaScalar> {
    let meter: FlopMeter?

    /// The threads a pass may use: OpenBLAS's count (one inside perplexity's parallel windows).
    var threads: Int { Int(openblas_get_num_threads()) }

    /// out[m][n] ← α·op(a)·op(b) + β·out, with leading dimensions and element offsets.
    @inline(__always)
    func callAsFunction(
        _ transA: Bool, _ transB: Bool, m: Int, n: Int, k: Int, alpha: S = 1,
        _ a: [S], _ aOffset: Int = 0, lda: Int, _ b: [S], _ bOffset: Int = 0, ldb: Int,
        beta: S = 0, _ out: inout [S], _ outOffset: Int = 0, ldc: Int
    ) {
        meter?.add(2 * Double(m) * Double(n) * Double(k))
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { po in
                    S.gemm(
                        transA, transB, m: m, n: n, k: k, alpha: alpha, pa.baseAddress! + aOffset, lda: lda,
                        pb.baseAddress! + bOffset, ldb: ldb, beta: beta, po.baseAddress! + outOffset, ldc: ldc)
                }
            }
        }
    }

    /// x [rows][inner] quantized for the block kernels (nil for Double, or rows of partial blocks).
    func quantize(_ x: [S], rows: Int, inner: Int) -> QuantizedActivations? {
        guard S.self == Float.self, inner % 32 == 0 else { return nil }
        return x.withUnsafeBufferPointer { p in
            QuantizedActivations(
                UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: Float.self), rows: rows, inner: inner)
        }
    }

    /// out[rows][w.rows] ← x·Wᵀ (+ out when β = 1) on W's blocks, split over OpenBLAS's thread
    /// count (one when a caller runs windows side by side). Metered as the model's product.
    func linear(_ x: QuantizedActivations, _ w: QuantizedMatrix, beta: S = 0, into out: inout [S]) {
        precondition(S.self == Float.self && (beta == 0 || beta == 1), "the block kernels are Float, β 0 or 1")
        meter?.add(2 * Double(x.rows) * Double(w.rows) * Double(x.inner))
        out.withUnsafeMutableBufferPointer { p in
            x.linear(
                w, isa: .best, threads: threads, accumulate: beta == 1,
                into: UnsafeMutableRawPointer(p.baseAddress!).assumingMemoryBound(to: Float.self))
        }
    }

    /// Meters an elementwise kernel of `elements` elements at `perElement` FLOPs each.
    @inline(__always)
    func elementwise(_ elements: Int, _ perElement: Int) { meter?.add(Double(elements) * Double(perElement)) }

    /// out[rows][outputs] ← x[rows][inner] · Wᵀ (+ β·out), W row-major [outputs][inner]: a linear layer.
    @inline(__always)
    func linear(_ x: [S], _ w: [S], rows: Int, inner: Int, outputs: Int, beta: S = 0, into out: inout [S]) {
        self(false, true, m: rows, n: outputs, k: inner, x, lda: inner, w, ldb: inner, beta: beta, &out, ldc: outputs)
    }

    /// dx[rows][inner] ← dy[rows][outputs] · W (+ β·dx): the activation gradient of `linear`.
    @inline(__always)
    func linearBackward(_ dy: [S], _ w: [S], rows: Int, inner: Int, outputs: Int, beta: S = 0, into dx: inout [S]) {
        self(false, false, m: rows, n: inner, k: outputs, dy, lda: outputs, w, ldb: inner, beta: beta, &dx, ldc: inner)
    }
}
