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
    case scalar = 0
    case avx2 = 1
    case avx512VNNI = 2

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
    /// What keeps `base` alive when it is not a mapped file's (a transpose's storage).
    let owner: AnyObject?

    init(type: TensorType, base: UnsafeRawPointer, rows: Int, inner: Int, owner: AnyObject? = nil) {
        precondition(
            [.q4_0, .q4_1, .q8_0].contains(type) && inner % 32 == 0,
            "the kernels take Q4_0, Q4_1 and Q8_0 rows of whole blocks")
        self.type = type
        self.base = base
        self.rows = rows
        self.inner = inner
        self.owner = owner
    }

    /// The tensor as blocks, or nil when the kernels do not take its type or shape.
    init?(_ file: GGUFFile, _ info: GGUFTensorInfo) {
        guard [.q4_0, .q4_1, .q8_0].contains(info.type), info.dims.count == 2, info.dims[0] % 32 == 0 else {
            return nil
        }
        self.init(type: info.type, base: file.rawData(info).baseAddress!, rows: info.dims[1], inner: info.dims[0])
    }

    var kernelType: qk_type { qk_type(rawValue: type.rawValue) }

    /// Rows `r` of this matrix (whole rows are whole blocks).
    func rows(_ r: Range<Int>) -> QuantizedMatrix {
        QuantizedMatrix(
            type: type, base: base + r.lowerBound * (inner / 32) * type.bytesPerBlock, rows: r.count, inner: inner,
            owner: owner)
    }
}

/// x [rows][inner] quantized per 32-element block in `qk_activations`' layout (the kernels'
/// header): int8 values and per-block scales, and the same packed 16 tokens side by side for the
/// vector kernels. Made once per activation and read by every product that takes it (q, k and v
/// share one).
final class QuantizedActivations {
    let rows: Int, inner: Int
    private var q: [Int8], d: [Float], ds: [Float], packed: [UInt8], dT: [Float], dsT: [Float]

    init(_ x: UnsafePointer<Float>, rows: Int, inner: Int, isa: QuantizedISA = .best) {
        precondition(inner % 32 == 0, "quantized activations need rows of whole 32-element blocks")
        self.rows = rows
        self.inner = inner
        let nb = inner / 32
        let padded = (rows + Int(QK_GROUP) - 1) / Int(QK_GROUP) * Int(QK_GROUP)
        q = [Int8](repeating: 0, count: rows * inner)
        d = [Float](repeating: 0, count: rows * nb)
        ds = d
        packed = [UInt8](repeating: 0, count: padded * inner)
        dT = [Float](repeating: 0, count: padded * nb)
        dsT = dT
        withLayout { qk_quantize_rows(isa.c, x, Int32(rows), Int32(inner), Int32(inner), $0) }
    }

    /// The values the kernels see, q·d, [rows][inner].
    func dequantized() -> [Float] {
        let nb = inner / 32
        return (0..<(rows * inner)).map { Float(q[$0]) * d[($0 / inner) * nb + ($0 % inner) / 32] }
    }

    func withLayout<R>(_ body: (qk_activations) -> R) -> R {
        q.withUnsafeMutableBufferPointer { q in
            d.withUnsafeMutableBufferPointer { d in
                ds.withUnsafeMutableBufferPointer { ds in
                    packed.withUnsafeMutableBufferPointer { p in
                        dT.withUnsafeMutableBufferPointer { dT in
                            dsT.withUnsafeMutableBufferPointer { dsT in
                                body(
                                    qk_activations(
                                        q: q.baseAddress, d: d.baseAddress, ds: ds.baseAddress, packed: p.baseAddress,
                                        dT: dT.baseAddress,
                                        dsT: dsT.baseAddress))
                            }
                        }
                    }
                }
            }
        }
    }

    /// The quantized bytes and scales, to compare two quantizations.
    var contents: (q: [Int8], d: [UInt32], packed: [UInt8]) { (q, (d + ds + dT + dsT).map(\.bitPattern), packed) }

    /// out[rows][w.rows] ← x·Wᵀ (+ out when `accumulate`), W's rows split over `threads` threads
    /// (each output is computed the same way whatever the split).
    func linear(
        _ w: QuantizedMatrix, isa: QuantizedISA, threads: Int, accumulate: Bool, into out: UnsafeMutablePointer<Float>
    ) {
        precondition(w.inner == inner, "a \(w.rows)×\(w.inner) matrix cannot take activations of \(inner)")
        let outputs = w.rows
        let chunks = max(1, min(threads, outputs / 64))
        let inner = self.inner
        let rows = self.rows
        // Chunks of whole 4-row tiles.
        let per = ((outputs + chunks - 1) / chunks + 3) / 4 * 4
        withLayout { layout in
            let run = { (c: Int) in
                let lo = c * per
                let hi = min(outputs, lo + per)
                if lo < hi {
                    qk_linear(
                        isa.c, w.kernelType, w.base, Int32(inner), Int32(lo), Int32(hi), layout, Int32(rows), out,
                        Int32(outputs),
                        accumulate ? 1 : 0)
                }
            }
            if chunks == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: run) }
        }
    }
}
