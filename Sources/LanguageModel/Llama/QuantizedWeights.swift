import CQuantizedKernels

/// Bytes the quantized kernels own (the Q8_0 transposes), freed with the last matrix reading them.
final class QuantizedStorage: @unchecked Sendable {
    let bytes: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        self.count = count
        bytes = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 64)
    }

    deinit { bytes.deallocate() }
}

/// A layer's seven frozen matrices for the block kernels: each as the file's blocks ([d_out][d_in],
/// read in place, the forward's y = x·Wᵀ) and, for the backward, as a Q8_0 transpose ([d_in][d_out],
/// dx = dy·W).
struct QuantizedLayer: @unchecked Sendable {
    let wq, wk, wv, wo, gate, up, down: QuantizedMatrix
    /// The backward's transposes: always in the cached residency; in the streamed one only when a
    /// backward asks for the layer (`LlamaWeights.layer(_:transposes:)`), made then and dropped after.
    let transposed: Transposed?

    struct Transposed: @unchecked Sendable {
        let wq, wk, wv, wo, gate, up, down: QuantizedMatrix
    }

    /// Layer matrices as blocks (`infos` are `LlamaWeights.layerInfos`, norms at 0 and 5; the
    /// caller has checked the kernels take them), with their transposes when asked.
    init(_ f: GGUFFile, _ infos: [GGUFTensorInfo], transposes: Bool) throws {
        let m = QuantizedWeights.matrixIndices.map { QuantizedMatrix(f, infos[$0])! }
        (wq, wk, wv, wo, gate, up, down) = (m[0], m[1], m[2], m[3], m[4], m[5], m[6])
        guard transposes else {
            transposed = nil
            return
        }
        let t = try QuantizedWeights.matrixIndices.map { try QuantizedMatrix.transposed(f, infos[$0]) }
        transposed = Transposed(wq: t[0], wk: t[1], wv: t[2], wo: t[3], gate: t[4], up: t[5], down: t[6])
    }

    /// Bytes the transposes own.
    var ownedBytes: Int {
        guard let t = transposed else { return 0 }
        return [t.wq, t.wk, t.wv, t.wo, t.gate, t.up, t.down].reduce(0) { $0 + $1.rows * $1.inner / 32 * 34 }
    }
}

extension QuantizedMatrix {
    /// The Q8_0 transpose of a matrix tensor ([inner][rows] of the file's [rows][inner]), made band
    /// by band from its rows dequantised 32 at a time (32 rows of Floats held, not the matrix's).
    static func transposed(_ f: GGUFFile, _ info: GGUFTensorInfo) throws -> QuantizedMatrix {
        let rows = info.dims[1]
        let inner = info.dims[0]
        guard rows % 32 == 0, inner % info.type.blockSize == 0 else {
            throw GGUFError(
                path: f.path, offset: nil,
                problem: "\(info.name): \(rows) rows of \(inner) are not whole 32-row bands of whole blocks")
        }
        let storage = QuantizedStorage(count: inner * rows / 32 * 34)
        var band = [Float](repeating: 0, count: 32 * inner)
        band.withUnsafeMutableBufferPointer { band in
            for b in 0..<(rows / 32) {
                f.dequantizeRows(info, rows: (32 * b)..<(32 * b + 32), into: band.baseAddress!)
                qk_quantize_q8_0_transposed_band(
                    band.baseAddress!, Int32(b), Int32(rows), Int32(inner),
                    storage.bytes.assumingMemoryBound(to: UInt8.self))
            }
        }
        return QuantizedMatrix(
            type: .q8_0, base: UnsafeRawPointer(storage.bytes), rows: inner, inner: rows, owner: storage)
    }
}

/// Everything the quantized kernel reads. Cached: per layer the blocks and their transposes, and
/// the output matrix and its transpose when its type and the vocabulary allow (else the head stays
/// on Float weights). Streamed: no layers (each is made when a pass reaches it), the output's
/// blocks read in place chunk by chunk and no transpose (the backward dequantises its chunk).
struct QuantizedWeights: @unchecked Sendable {
    let layers: [QuantizedLayer]
    let output: QuantizedMatrix?
    let outputTransposed: QuantizedMatrix?
    /// Bytes of the transposes (owned); the blocks themselves are the file's pages.
    let ownedBytes: Int
    /// Bytes of the file's tensors the kernels keep resident (cached; none streamed, whose pages
    /// are released behind each layer and chunk).
    let mappedBytes: Int

    /// What the cached residency would hold, without building it: the transposes' bytes, the
    /// mapped tensors' bytes, and whether the head runs on blocks; nil when the kernel cannot take
    /// the model.
    static func footprint(_ f: GGUFFile, layers: [[GGUFTensorInfo]], output: GGUFTensorInfo) -> (
        owned: Int, mapped: Int, outputOnBlocks: Bool
    )? {
        let matrices = layers.flatMap { infos in matrixIndices.map { infos[$0] } }
        guard matrices.allSatisfy({ QuantizedMatrix(f, $0) != nil && $0.dims[1] % 32 == 0 }) else { return nil }
        let head = QuantizedMatrix(f, output) != nil && output.dims[1] % 32 == 0
        let heads = head ? [output] : []
        return (
            (matrices + heads).reduce(0) { $0 + $1.elementCount / 32 * 34 },
            (matrices + heads).reduce(0) { $0 + $1.byteCount }, head
        )
    }

    static let matrixIndices = [1, 2, 3, 4, 6, 7, 8]

    /// Nil when any layer matrix is of a type the kernels do not take or has a side that is not
    /// whole 32-element blocks. `layers[i]` are `LlamaWeights.layerInfos` (norms at 0 and 5).
    init?(_ f: GGUFFile, layers: [[GGUFTensorInfo]], output: GGUFTensorInfo, residency: WeightResidency) throws {
        // The plan's footprint and this agree on what the kernels take: one check, `footprint`'s.
        guard let footprint = Self.footprint(f, layers: layers, output: output) else { return nil }
        self.output = footprint.outputOnBlocks ? QuantizedMatrix(f, output) : nil
        guard residency == .cached else {
            (self.layers, outputTransposed, ownedBytes, mappedBytes) = ([], nil, 0, 0)
            return
        }
        self.layers = try layers.map { infos in
            let layer = try QuantizedLayer(f, infos, transposes: true)
            for i in Self.matrixIndices { f.releasePages(infos[i]) } // read again by the forward only
            return layer
        }
        outputTransposed = footprint.outputOnBlocks ? try QuantizedMatrix.transposed(f, output) : nil
        if footprint.outputOnBlocks { f.releasePages(output) }
        ownedBytes = footprint.owned
        mappedBytes = footprint.mapped
    }
}
