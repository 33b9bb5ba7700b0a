import ArgumentParser
import CommandLineSupport
import Foundation
import LanguageModel

/// `edgenode tiny-model`: writes a small random Llama GGUF (byte-level tokenizer) for tests and the
/// `tiny` scenario.
struct TinyModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiny-model",
        abstract: "Write a small random Llama as a GGUF file (one token per byte, seconds to train).")
    @Option(help: "Output .gguf.") var out: String
    @Option(help: "Layers.") var layers: Int = 2
    @Option(help: "Embedding width (a multiple of 32 and of --heads).") var embedding: Int = 64
    @Option(help: "Attention heads.") var heads: Int = 4
    @Option(help: "KV heads (divides --heads).") var kvHeads: Int = 2
    @Option(help: "Feed-forward width (a multiple of 32).") var feedForward: Int = 128
    @Option(help: "Matrix storage: F32, F16, BF16 or Q8_0.") var type: String = "Q8_0"
    @Option(help: "Seed.") var seed: UInt64 = 1

    func run() throws {
        try failing {
            guard layers >= 1, heads >= 1, kvHeads >= 1, heads % kvHeads == 0, embedding % heads == 0,
                (embedding / heads) % 2 == 0,
                embedding % 32 == 0, feedForward % 32 == 0
            else {
                throw ValidationError(
                    "need layers ≥ 1, kv-heads dividing heads, an even head width, embedding and feed-forward "
                        + "multiples of 32"
                )
            }
            guard let t = [TensorType.f32, .f16, .bf16, .q8_0].first(where: { $0.name == type.uppercased() }) else {
                throw ValidationError("--type must be F32, F16, BF16 or Q8_0")
            }
            var spec = TinyModelSpec()
            spec.layers = layers
            spec.embedding = embedding
            spec.heads = heads
            spec.kvHeads = kvHeads
            spec.feedForward = feedForward
            spec.matrixType = t
            spec.seed = seed
            // A fresh checkout has no models/ yet (the tiny scenario's model lives there).
            let parent = URL(fileURLWithPath: out).deletingLastPathComponent()
            try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
            try spec.write(to: out)
            print(
                "wrote \(out): \(layers) layers, d \(embedding), \(heads)/\(kvHeads) heads, ff \(feedForward), "
                    + "\(t.name)"
            )
        }
    }
}
