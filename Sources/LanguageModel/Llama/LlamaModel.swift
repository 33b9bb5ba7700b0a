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
            guard let v = f.metadata[key]?.int, v > 0 else { throw GGUFError(path: f.path, offset: nil, problem: "metadata \(key) is missing or not a positive integer") }
            return v
        }
        guard f.metadata["general.architecture"]?.string == "llama" else {
            throw GGUFError(path: f.path, offset: nil, problem: "general.architecture is \(f.metadata["general.architecture"]?.string ?? "missing"), not llama")
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
            throw GGUFError(path: f.path, offset: nil, problem: "inconsistent attention shape: \(embedding) / \(heads) heads / \(kvHeads) KV heads")
        }
    }
}

/// One layer's weights, dequantised to Float32, row-major [d_out][d_in] (a GGUF matrix with dims
/// [d_in, d_out] is exactly that).
public struct LlamaLayer: Sendable {
    public var attentionNorm: [Float]   // [d]
    public var wq: [Float]              // [d][d]
    public var wk: [Float]              // [kv][d]
    public var wv: [Float]              // [kv][d]
    public var wo: [Float]              // [d][d]
    public var ffnNorm: [Float]         // [d]
    public var gate: [Float]            // [ff][d]
    public var up: [Float]              // [ff][d]
    public var down: [Float]            // [d][ff]
}

/// A Llama model with its weights dequantised once (the "dequantised-weight cache" memory mode).
public final class LlamaModel: @unchecked Sendable {
    public let config: LlamaConfig
    public let embeddings: [Float]      // [vocab][d]
    public let outputNorm: [Float]      // [d]
    /// The output projection [vocab][d]; nil when tied to the embeddings.
    public let output: [Float]?
    public let layers: [LlamaLayer]

    public init(gguf f: GGUFFile) throws {
        let c = try LlamaConfig(gguf: f)
        config = c
        func load(_ name: String, _ dims: [Int]) throws -> [Float] {
            guard let info = f.tensor(name) else { throw GGUFError(path: f.path, offset: nil, problem: "tensor \(name) is missing") }
            guard info.dims == dims else { throw GGUFError(path: f.path, offset: nil, problem: "tensor \(name) has dims \(info.dims), expected \(dims)") }
            return try f.floats(name)
        }
        let d = c.embedding, kv = c.kvDimension, ff = c.feedForward
        embeddings = try load("token_embd.weight", [d, c.vocabulary])
        outputNorm = try load("output_norm.weight", [d])
        output = f.tensor("output.weight") != nil ? try load("output.weight", [d, c.vocabulary]) : nil
        layers = try (0..<c.layers).map { i in
            let p = "blk.\(i)."
            return LlamaLayer(
                attentionNorm: try load(p + "attn_norm.weight", [d]),
                wq: try load(p + "attn_q.weight", [d, d]), wk: try load(p + "attn_k.weight", [d, kv]),
                wv: try load(p + "attn_v.weight", [d, kv]), wo: try load(p + "attn_output.weight", [d, d]),
                ffnNorm: try load(p + "ffn_norm.weight", [d]),
                gate: try load(p + "ffn_gate.weight", [d, ff]), up: try load(p + "ffn_up.weight", [d, ff]),
                down: try load(p + "ffn_down.weight", [ff, d]))
        }
    }
}
