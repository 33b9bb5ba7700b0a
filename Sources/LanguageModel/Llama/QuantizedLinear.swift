import CQuantizedKernels
import Dispatch

/// Which kernel runs a product with a frozen base matrix.
public enum FrozenKernel: String, Sendable, CaseIterable {
    /// The weights dequantised to Float and OpenBLAS's sgemm: the reference, and the only choice
    /// for F32/F16/BF16 weights and the Double check.
    case float
    /// Dot products on the file's quantized blocks (Q4_0, Q4_1, Q8_0) with the activations
    /// quantized per 32-element block to 8 bits (`QuantizedActivations`), on the best instruction
    /// set this CPU has; matrices of other types fall back to `float`.
    case quantized
}

/// The instruction sets of the quantized kernels. All three compute the same bits (the
/// kernels' header says how), so a run reproduces across machines.
public enum QuantizedISA: Int, Sendable, CaseIterable {
    case scalar = 0, avx2 = 1, avx512VNNI = 2

    /// The best this CPU runs.
    public static var best: QuantizedISA { QuantizedISA(rawValue: Int(qk_best_isa().rawValue))! }
    public var isSupported: Bool { qk_supports(qk_isa(rawValue: UInt32(rawValue))) != 0 }
    var c: qk_isa { qk_isa(rawValue: UInt32(rawValue)) }
}

/// A frozen matrix read in place from the mapped GGUF: `rows` rows of `inner` elements in
/// `type`'s 32-element blocks (a GGUF tensor with dims [inner, rows]); valid while its file lives.
struct QuantizedMatrix: @unchecked Sendable {
    let type: TensorType
    let base: UnsafeRawPointer
    let rows: Int
    let inner: Int

    /// The tensor as blocks, or nil when the kernels do not take its type or shape.
    init?(_ file: GGUFFile, _ info: GGUFTensorInfo) {
        guard [.q4_0, .q4_1, .q8_0].contains(info.type), info.dims.count == 2, info.dims[0] % 32 == 0 else { return nil }
        type = info.type
        base = file.rawData(info).baseAddress!
        inner = info.dims[0]
        rows = info.dims[1]
    }

    var kernelType: qk_type { qk_type(rawValue: type.rawValue) }
}

/// x [rows][inner] quantized per 32-element block, laid out as `qk_activations` says: the int8
/// values [rows][inner], scales and scaled sums [rows][inner/32], VNNI's group corrections
/// [rows][inner/32][8]. Made once per activation and read by every product that takes it (q, k
/// and v share one).
final class QuantizedActivations {
    let rows: Int, inner: Int
    private var q: [Int8], d: [Float], ds: [Float], groups: [Int32]

    init(_ x: UnsafePointer<Float>, rows: Int, inner: Int) {
        precondition(inner % 32 == 0, "quantized activations need rows of whole 32-element blocks")
        self.rows = rows
        self.inner = inner
        let nb = inner / 32
        q = [Int8](repeating: 0, count: rows * inner)
        d = [Float](repeating: 0, count: rows * nb)
        ds = d
        groups = [Int32](repeating: 0, count: rows * nb * 8)
        withLayout { qk_quantize_rows(x, Int32(rows), Int32(inner), Int32(inner), $0) }
    }

    func withLayout<R>(_ body: (qk_activations) -> R) -> R {
        q.withUnsafeMutableBufferPointer { q in d.withUnsafeMutableBufferPointer { d in
            ds.withUnsafeMutableBufferPointer { ds in groups.withUnsafeMutableBufferPointer { g in
                body(qk_activations(q: q.baseAddress, d: d.baseAddress, ds: ds.baseAddress, groups: g.baseAddress))
            } }
        } }
    }

    /// out[rows][w.rows] ← x·Wᵀ (+ out when `accumulate`), W's rows split over `threads` threads
    /// (each output is computed the same way whatever the split).
    func linear(_ w: QuantizedMatrix, isa: QuantizedISA, threads: Int, accumulate: Bool, into out: UnsafeMutablePointer<Float>) {
        precondition(w.inner == inner, "a \(w.rows)×\(w.inner) matrix cannot take activations of \(inner)")
        let outputs = w.rows, chunks = max(1, min(threads, outputs / 64)), inner = self.inner, rows = self.rows
        // Chunks of whole 4-row tiles.
        let per = ((outputs + chunks - 1) / chunks + 3) / 4 * 4
        withLayout { layout in
            let run = { (c: Int) in
                let lo = c * per, hi = min(outputs, lo + per)
                if lo < hi {
                    qk_linear(isa.c, w.kernelType, w.base, Int32(inner), Int32(lo), Int32(hi), layout, Int32(rows), out, Int32(outputs),
                              accumulate ? 1 : 0)
                }
            }
            if chunks == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: run) }
        }
    }
}
