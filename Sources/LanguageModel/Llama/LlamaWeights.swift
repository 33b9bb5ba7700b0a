import COpenBLAS
import Foundation

/// Llama hyper-parameters from GGUF metadata (`llama.*`).
public struct LlamaConfig: Equatable, Sendable {
    public var layers: Int
    public var embedding: Int
    public var heads: Int
    public var kvHeads: Int
    public var feedForward: Int
    public var vocabulary: Int
    public var ropeBase: Float
    public var rmsEpsilon: Float
    public var headDimension: Int { embedding / heads }
    public var kvDimension: Int { kvHeads * headDimension }

    public init(gguf f: GGUFFile) throws {
        func int(_ key: String) throws -> Int {
            guard let v = f.metadata[key]?.int, v > 0 else {
                throw GGUFError(
                    path: f.path, offset: nil, problem: "metadata \(key) is missing or not a positive integer")
            }
            return v
        }
        guard f.metadata["general.architecture"]?.string == "llama" else {
            throw GGUFError(
                path: f.path, offset: nil,
                problem: "general.architecture is \(f.metadata["general.architecture"]?.string ?? "missing"), not llama"
            )
        }
        layers = try int("llama.block_count")
        embedding = try int("llama.embedding_length")
        heads = try int("llama.attention.head_count")
        kvHeads = f.metadata["llama.attention.head_count_kv"]?.int ?? heads
        feedForward = try int("llama.feed_forward_length")
        vocabulary = f.metadata["tokenizer.ggml.tokens"]?.array?.count ?? f.tensor("token_embd.weight")?.dims.last ?? 0
        ropeBase = Float(f.metadata["llama.rope.freq_base"]?.double ?? 10000)
        rmsEpsilon = Float(f.metadata["llama.attention.layer_norm_rms_epsilon"]?.double ?? 1e-5)
        guard embedding % heads == 0, heads % kvHeads == 0, headDimension % 2 == 0 else {
            throw GGUFError(
                path: f.path, offset: nil,
                problem: "inconsistent attention shape: \(embedding) / \(heads) heads / \(kvHeads) KV heads")
        }
    }
}

/// One layer's weights, row-major [d_out][d_in] (a GGUF matrix with dims [d_in, d_out] is exactly
/// that), in the pass's scalar type.
public struct LlamaLayer<S: LlamaScalar>: Sendable {
    public var attentionNorm: [S] // [d]
    public var wq: [S] // [d][d]
    public var wk: [S] // [kv][d]
    public var wv: [S] // [kv][d]
    public var wo: [S] // [d][d]
    public var ffnNorm: [S] // [d]
    public var gate: [S] // [ff][d]
    public var up: [S] // [ff][d]
    public var down: [S] // [d][ff]
    /// The frozen matrices as quantized blocks when the products run on them
    /// (`FrozenKernel.quantized`; the seven Float arrays above are then empty).
    var blocks: QuantizedLayer?

    /// Bytes of one dequantised layer.
    static func byteCount(_ c: LlamaConfig) -> Int {
        (2 * c.embedding + 2 * c.embedding * c.embedding + 2 * c.kvDimension * c.embedding + 3 * c.feedForward
            * c.embedding) * MemoryLayout<S>.stride
    }
}

/// Where the dequantised weights live.
public enum WeightResidency: String, Sendable, CaseIterable {
    /// Every matrix dequantised once at load (fast; ~4 bytes per parameter resident).
    case cached
    /// Only the quantised file mapped; each layer dequantised when a pass reaches it and dropped
    /// after, the output matrix in row chunks, the file's pages released behind it. Passes pay
    /// the dequantisation again; peak memory is one layer plus activations.
    case streamed
}

/// A Llama model's weights in either residency. Passes ask for one layer at a time.
public final class LlamaWeights<S: LlamaScalar>: @unchecked Sendable {
    public let config: LlamaConfig
    public let residency: WeightResidency
    public let file: GGUFFile
    public let outputNorm: [S] // [d]
    /// The output projection's GGUF tensor (`output.weight`, or `token_embd.weight` when tied).
    let outputInfo: GGUFTensorInfo
    let embeddingInfo: GGUFTensorInfo
    private let cachedLayers: [LlamaLayer<S>]?
    private let cachedEmbeddings: [S]? // [vocab][d]
    private let cachedOutput: [S]? // [vocab][d], nil when tied or streamed
    /// Rows of the output matrix a streamed pass dequantises at once.
    public let outputChunkRows: Int
    /// The kernel the products with the frozen weights run on: `.quantized` only for a Float model
    /// whose layer matrices are all Q4_0, Q4_1 or Q8_0 with sides of whole blocks (else `.float`),
    /// in either residency.
    public let kernel: FrozenKernel
    /// The quantized layers (cached), the output matrix and its transpose (`.quantized`).
    let quantized: QuantizedWeights?
    var outputBlocks: QuantizedMatrix? { quantized?.output }

    /// `kernel` is what the caller asks for; `self.kernel` what runs. The quantized kernel holds
    /// no Float copies of the layers: the forward reads the mapped file's blocks, the backward a
    /// Q8_0 transpose of each matrix. Cached: the transposes are made here and the blocks' pages
    /// stay resident. Streamed: a layer's transposes are made when a backward asks for it, and
    /// its pages are released behind it (`release(layer:)`).
    public init(
        gguf f: GGUFFile, residency: WeightResidency = .cached, outputChunkRows: Int = 4096,
        kernel: FrozenKernel = .float
    ) throws {
        let c = try LlamaConfig(gguf: f)
        config = c
        file = f
        self.residency = residency
        let d = c.embedding
        func info(_ name: String, _ dims: [Int]) throws -> GGUFTensorInfo {
            guard let i = f.tensor(name) else {
                throw GGUFError(path: f.path, offset: nil, problem: "tensor \(name) is missing")
            }
            guard i.dims == dims else {
                throw GGUFError(
                    path: f.path, offset: nil, problem: "tensor \(name) has dims \(i.dims), expected \(dims)")
            }
            return i
        }
        embeddingInfo = try info("token_embd.weight", [d, c.vocabulary])
        outputInfo = f.tensor("output.weight") != nil ? try info("output.weight", [d, c.vocabulary]) : embeddingInfo
        for i in [embeddingInfo, outputInfo] where d % i.type.blockSize != 0 {
            throw GGUFError(path: f.path, offset: nil, problem: "\(i.name): rows of \(d) split \(i.type.name) blocks")
        }
        outputNorm = S.array(try f.floats((try info("output_norm.weight", [d])).name))
        // Check every layer's tensors exist with the right shapes now, so a streamed pass cannot fail midway.
        for i in 0..<c.layers { _ = try Self.layerInfos(f, c, i) }
        let allInfos = try (0..<c.layers).map { try Self.layerInfos(f, c, $0) }
        let outputInfo = outputInfo
        let quantized =
            kernel == .quantized && S.self == Float.self
            ? try QuantizedWeights(f, layers: allInfos, output: outputInfo, residency: residency) : nil
        self.quantized = quantized
        self.kernel = quantized == nil ? .float : .quantized
        switch residency {
        case .cached:
            cachedLayers = try (0..<c.layers).map { i in
                guard quantized != nil else { return try Self.dequantizeLayer(f, c, i, release: false) }
                let infos = try Self.layerInfos(f, c, i)
                return LlamaLayer(
                    attentionNorm: S.array(try f.floats(infos[0].name)), wq: [], wk: [], wv: [], wo: [],
                    ffnNorm: S.array(try f.floats(infos[5].name)), gate: [], up: [], down: [])
            }
            // The head on blocks needs no Float output matrix; embeddings are then read by row.
            cachedEmbeddings = quantized?.output == nil ? S.array(try f.floats(embeddingInfo.name)) : nil
            cachedOutput =
                outputInfo.name == embeddingInfo.name || quantized?.output != nil
                ? nil : S.array(try f.floats(outputInfo.name))
            self.outputChunkRows = c.vocabulary
            // The mapped file's pages are no longer needed once everything is dequantised (the
            // quantized forward reads the layers' and the output's pages again).
            for t in f.tensors { f.releasePages(t) }
        case .streamed:
            cachedLayers = nil
            cachedEmbeddings = nil
            cachedOutput = nil
            self.outputChunkRows = max(1, min(outputChunkRows, c.vocabulary))
        }
    }

    /// Layer `i`'s weights: the cached copy, or made now (streamed: dequantised, or on the quantized
    /// kernel the blocks in place with the norms, and the Q8_0 transposes only with `transposes`,
    /// which a backward through the layer needs).
    public func layer(_ i: Int, transposes: Bool = false) throws -> LlamaLayer<S> {
        if let cached = cachedLayers {
            guard let q = quantized else { return cached[i] }
            var layer = cached[i]
            layer.blocks = q.layers[i]
            return layer
        }
        guard quantized != nil else { return try Self.dequantizeLayer(file, config, i, release: true) }
        let infos = try Self.layerInfos(file, config, i)
        var layer = LlamaLayer(
            attentionNorm: S.array(try file.floats(infos[0].name)), wq: [], wk: [], wv: [], wo: [],
            ffnNorm: S.array(try file.floats(infos[5].name)), gate: [], up: [], down: [])
        layer.blocks = try QuantizedLayer(file, infos, transposes: transposes)
        return layer
    }

    /// A pass is done with layer `i` for now: in the streamed residency its file pages may go (the
    /// quantized kernel reads them in place; the Float path released them as it dequantised).
    /// Passes side by side may release a layer another still reads: the pages are read again from
    /// the file then, the same bytes.
    public func release(layer i: Int) {
        guard residency == .streamed, quantized != nil, let infos = try? Self.layerInfos(file, config, i) else {
            return
        }
        for info in infos { file.releasePages(info) }
    }

    /// The output's rows `rows` were read from their blocks in place: in the streamed residency their
    /// pages may go.
    func releaseOutput(rows: Range<Int>) {
        guard residency == .streamed, outputBlocks != nil else { return }
        file.releasePages(outputInfo, rows: rows)
    }

    /// x[t][·] ← embedding row of tokens[t]; x has tokens.count × d elements.
    func embed(_ tokens: [Int], into x: inout [S]) {
        let d = config.embedding
        if let e = cachedEmbeddings {
            for (t, token) in tokens.enumerated() { for j in 0..<d { x[t * d + j] = e[token * d + j] } }
            return
        }
        var row = [Float](repeating: 0, count: d)
        for (t, token) in tokens.enumerated() {
            row.withUnsafeMutableBufferPointer {
                file.dequantizeRows(embeddingInfo, rows: token..<(token + 1), into: $0.baseAddress!)
            }
            for j in 0..<d { x[t * d + j] = S(row[j]) }
        }
    }

    /// Rows `rows` of the output projection, [rows.count][d].
    func outputRows(_ rows: Range<Int>) -> [S] {
        let d = config.embedding
        if outputInfo.name == embeddingInfo.name, let e = cachedEmbeddings {
            return rows.count == config.vocabulary ? e : Array(e[(rows.lowerBound * d)..<(rows.upperBound * d)])
        }
        if let o = cachedOutput {
            return rows.count == config.vocabulary ? o : Array(o[(rows.lowerBound * d)..<(rows.upperBound * d)])
        }
        var floats = [Float](repeating: 0, count: rows.count * d)
        floats.withUnsafeMutableBufferPointer { file.dequantizeRows(outputInfo, rows: rows, into: $0.baseAddress!) }
        file.releasePages(outputInfo, rows: rows)
        return S.array(floats)
    }

    /// Bytes the dequantised weights (and the quantized kernel's transposes) hold resident in this
    /// residency, the mapped file excluded (`mappedResidentBytes`).
    public var residentWeightBytes: Int {
        let d = config.embedding
        let s = MemoryLayout<S>.stride
        switch residency {
        case .cached:
            if let q = quantized {
                let norms = (2 * config.layers + 1) * d * s
                return q.ownedBytes + norms
                    + (q.output == nil ? config.vocabulary * d * s * (cachedOutput == nil ? 1 : 2) : 0)
            }
            return config.layers * LlamaLayer<S>.byteCount(config) + config.vocabulary * d * s
                * (cachedOutput == nil ? 1 : 2) + d * s
        case .streamed:
            guard quantized != nil else { return LlamaLayer<S>.byteCount(config) + outputChunkRows * d * s * 2 + d * s }
            return Self.streamedBlockBytes(config) + outputChunkRows * d * s * 2 + d * s
        }
    }

    /// Bytes of the mapped file the passes keep resident: the tensors the quantized kernel reads in
    /// place (cached), none otherwise beyond a streamed layer's (the memory plan counts that).
    public var mappedResidentBytes: Int { quantized?.mappedBytes ?? 0 }

    /// What a streamed layer on blocks holds at its peak: its Q8_0 transposes, 32 rows of Floats
    /// while a transpose is made, the two norms.
    static func streamedBlockBytes(_ c: LlamaConfig) -> Int {
        let d = c.embedding
        let elements = 2 * d * d + 2 * c.kvDimension * d + 3 * c.feedForward * d
        return elements / 32 * 34 + 32 * max(d, c.feedForward) * 4 + 2 * d * 4
    }

    static func layerInfos(_ f: GGUFFile, _ c: LlamaConfig, _ i: Int) throws -> [GGUFTensorInfo] {
        let d = c.embedding
        let kv = c.kvDimension
        let ff = c.feedForward
        let p = "blk.\(i)."
        return try [
            ("attn_norm", [d]), ("attn_q", [d, d]), ("attn_k", [d, kv]), ("attn_v", [d, kv]), ("attn_output", [d, d]),
            ("ffn_norm", [d]), ("ffn_gate", [d, ff]), ("ffn_up", [d, ff]), ("ffn_down", [ff, d]),
        ].map { name, dims in
            guard let info = f.tensor(p + name + ".weight") else {
                throw GGUFError(path: f.path, offset: nil, problem: "tensor \(p)\(name).weight is missing")
            }
            guard info.dims == dims else {
                throw GGUFError(
                    path: f.path, offset: nil, problem: "tensor \(info.name) has dims \(info.dims), expected \(dims)")
            }
            return info
        }
    }

    static func dequantizeLayer(_ f: GGUFFile, _ c: LlamaConfig, _ i: Int, release: Bool) throws -> LlamaLayer<S> {
        let infos = try layerInfos(f, c, i)
        let m = try infos.map { info -> [S] in
            let values = S.array(try f.floats(info.name))
            if release { f.releasePages(info) }
            return values
        }
        return LlamaLayer(
            attentionNorm: m[0], wq: m[1], wk: m[2], wv: m[3], wo: m[4], ffnNorm: m[5], gate: m[6], up: m[7], down: m[8]
        )
    }
}

/// The Float32 model every command runs.
public typealias LlamaModel = LlamaWeights<Float>
