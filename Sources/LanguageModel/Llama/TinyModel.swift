import Foundation
import Randomness

/// A small random Llama written as a real GGUF file: for tests, the `tiny` fleet scenario and
/// anything that must run in seconds. Its tokenizer is byte-level GPT-2 BPE over the 256 byte
/// symbols with no merges (one token per byte) plus `<|endoftext|>` as BOS/EOS, so any text
/// tokenizes.
public struct TinyModelSpec: Sendable, Equatable {
    public var layers = 2
    public var embedding = 64
    public var heads = 4
    public var kvHeads = 2
    public var feedForward = 128
    /// Storage of the matrices: F32 (exact, for gradient checks), F16, BF16 or Q8_0.
    public var matrixType: TensorType = .f32
    /// A separate `output.weight` instead of the tied embeddings.
    public var untiedOutput = false
    public var seed: UInt64 = 1

    public init() {}

    public static let vocabulary = 257

    /// Writes the model; weights N(0, 1/d_in) for projections and the (tied) embeddings, so initial
    /// logits have unit scale and the loss starts near ln V; norms 1 ± 0.1.
    public func write(to path: String) throws {
        var w = GGUFWriter()
        let d = embedding
        let kv = embedding / heads * kvHeads
        let ff = feedForward
        let V = Self.vocabulary
        w.set("general.architecture", .string("llama"))
        w.set("general.name", .string("tiny-llama"))
        w.set("llama.block_count", .uint32(UInt32(layers)))
        w.set("llama.context_length", .uint32(2048))
        w.set("llama.embedding_length", .uint32(UInt32(d)))
        w.set("llama.feed_forward_length", .uint32(UInt32(ff)))
        w.set("llama.attention.head_count", .uint32(UInt32(heads)))
        w.set("llama.attention.head_count_kv", .uint32(UInt32(kvHeads)))
        w.set("llama.rope.freq_base", .float32(10000))
        w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        w.set("llama.rope.dimension_count", .uint32(UInt32(d / heads)))
        let (bytes, _) = BPETokenizer.byteTable()
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.pre", .string("gpt2"))
        w.set("tokenizer.ggml.tokens", .array(.string, bytes.map { .string(String($0)) } + [.string("<|endoftext|>")]))
        w.set("tokenizer.ggml.token_type", .array(.int32, [GGUFValue](repeating: .int32(1), count: 256) + [.int32(3)]))
        w.set("tokenizer.ggml.merges", .array(.string, []))
        w.set("tokenizer.ggml.bos_token_id", .uint32(256))
        w.set("tokenizer.ggml.eos_token_id", .uint32(256))
        var g = SeededGenerator(seed: seed, stream: [0x71_4E])
        func normal(_ n: Int, _ sigma: Double) -> [Float] { (0..<n).map { _ in Float(g.normal() * sigma) } }
        func norm(_ n: Int) -> [Float] { (0..<n).map { _ in Float(1 + 0.1 * (2 * g.uniform() - 1)) } }
        try w.addTensor(
            "token_embd.weight", dims: [d, V], floats: normal(d * V, 1 / Double(d).squareRoot()), as: matrixType)
        try w.addTensor("output_norm.weight", dims: [d], floats: norm(d))
        if untiedOutput {
            try w.addTensor(
                "output.weight", dims: [d, V], floats: normal(d * V, 1 / Double(d).squareRoot()), as: matrixType)
        }
        for i in 0..<layers {
            let p = "blk.\(i)."
            try w.addTensor(p + "attn_norm.weight", dims: [d], floats: norm(d))
            for (name, dIn, dOut) in [
                ("attn_q", d, d), ("attn_k", d, kv), ("attn_v", d, kv), ("attn_output", d, d),
                ("ffn_gate", d, ff), ("ffn_up", d, ff), ("ffn_down", ff, d),
            ] {
                try w.addTensor(
                    p + name + ".weight", dims: [dIn, dOut], floats: normal(dIn * dOut, 1 / Double(dIn).squareRoot()),
                    as: matrixType)
            }
            try w.addTensor(p + "ffn_norm.weight", dims: [d], floats: norm(d))
        }
        try w.write(to: path)
    }
}
