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
/// read in place, the forward's y = x·Wᵀ) and as a Q8_0 transpose ([d_in][d_out], the backward's
/// dx = dy·W).
struct QuantizedLayer: @unchecked Sendable {
    let wq, wk, wv, wo, gate, up, down: QuantizedMatrix
    let wqT, wkT, wvT, woT, gateT, upT, downT: QuantizedMatrix
}

/// Everything the quantized kernel reads: per layer the blocks and their transposes, and the output
/// matrix likewise when its type and the vocabulary allow (else the head stays on Float weights).
struct QuantizedWeights: @unchecked Sendable {
    let layers: [QuantizedLayer]
    let output: QuantizedMatrix?
    let outputTransposed: QuantizedMatrix?
    /// Bytes of the transposes (owned); the blocks themselves are the file's pages.
    let ownedBytes: Int
    /// Bytes of the file's tensors the kernels read in place.
    let mappedBytes: Int

    /// What `init` would hold, without building it: the transposes' bytes, the mapped tensors'
    /// bytes, and whether the head runs on blocks; nil when the kernel cannot take the model.
    static func footprint(_ f: GGUFFile, layers: [[GGUFTensorInfo]], output: GGUFTensorInfo) -> (owned: Int, mapped: Int, outputOnBlocks: Bool)? {
        let matrices = layers.flatMap { infos in matrixIndices.map { infos[$0] } }
        guard matrices.allSatisfy({ QuantizedMatrix(f, $0) != nil && $0.dims[1] % 32 == 0 }) else { return nil }
        let head = QuantizedMatrix(f, output) != nil && output.dims[1] % 32 == 0
        let heads = head ? [output] : []
        return ((matrices + heads).reduce(0) { $0 + $1.elementCount / 32 * 34 }, (matrices + heads).reduce(0) { $0 + $1.byteCount }, head)
    }

    static let matrixIndices = [1, 2, 3, 4, 6, 7, 8]

    /// Nil when any layer matrix is of a type the kernels do not take or has a side that is not
    /// whole 32-element blocks. `layers[i]` are `LlamaWeights.layerInfos` (norms at 0 and 5).
    init?(_ f: GGUFFile, layers: [[GGUFTensorInfo]], output: GGUFTensorInfo) throws {
        // The plan's footprint and this agree on what the kernels take: one check, `footprint`'s.
        guard let footprint = Self.footprint(f, layers: layers, output: output) else { return nil }
        let matrixIndices = Self.matrixIndices
        var owned = 0, mapped = 0
        func transpose(_ info: GGUFTensorInfo) throws -> QuantizedMatrix {
            let floats = try f.floats(info.name)
            f.releasePages(info)
            let rows = info.dims[1], inner = info.dims[0]
            let storage = QuantizedStorage(count: inner * rows / 32 * 34)
            floats.withUnsafeBufferPointer {
                qk_quantize_q8_0_transposed($0.baseAddress!, Int32(rows), Int32(inner), storage.bytes.assumingMemoryBound(to: UInt8.self))
            }
            owned += storage.count
            return QuantizedMatrix(type: .q8_0, base: UnsafeRawPointer(storage.bytes), rows: inner, inner: rows, owner: storage)
        }
        self.layers = try layers.map { infos in
            let m = matrixIndices.map { QuantizedMatrix(f, infos[$0])! }
            let t = try matrixIndices.map { try transpose(infos[$0]) }
            mapped += matrixIndices.reduce(0) { $0 + infos[$1].byteCount }
            return QuantizedLayer(wq: m[0], wk: m[1], wv: m[2], wo: m[3], gate: m[4], up: m[5], down: m[6],
                                  wqT: t[0], wkT: t[1], wvT: t[2], woT: t[3], gateT: t[4], upT: t[5], downT: t[6])
        }
        if footprint.outputOnBlocks {
            self.output = QuantizedMatrix(f, output)
            outputTransposed = try transpose(output)
            mapped += output.byteCount
        } else {
            self.output = nil
            outputTransposed = nil
        }
        ownedBytes = owned
        mappedBytes = mapped
    }
}
