import ArgumentParser
import CommandLineSupport
import Foundation
import LanguageModel

/// `edgenode lora-init`: a fresh LoRA adapter for a model, written as a llama.cpp GGUF adapter.
struct LoRAInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora-init",
        abstract:
            "Write a freshly initialised LoRA adapter (A Kaiming-uniform, B = 0) in llama.cpp's GGUF adapter format.")
    @Option(help: "GGUF model the adapter is for.") var model: String
    @Option(help: "LoRA rank r.") var rank: Int = 8
    @Option(help: "LoRA α (scale α/r).") var alpha: Float = 16
    @Option(
        help:
            .init(
                "Targets, comma-separated: attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up, ffn_down (default: "
                    + "attn_q,attn_k,attn_v,attn_output)."),
        transform: parseTargets)
    var targets: [LoRATarget] = attentionTargets
    @Option(help: "Seed.") var seed: UInt64 = 1
    @Option(help: "Draw B ~ N(0, σ²) instead of zeros (to check adapter loading against llama.cpp).") var bStd: Float =
        0
    @Option(help: "Output .gguf.") var out: String

    func run() throws {
        try failing {
            guard rank >= 1 else { throw ValidationError("--rank must be ≥ 1") }
            let config = try LlamaConfig(gguf: try GGUFFile(path: model))
            var adapter = LoRAAdapter(config: config, rank: rank, alpha: alpha, targets: targets, seed: seed)
            if bStd > 0 { adapter.randomizeB(standardDeviation: bStd, seed: seed) }
            try adapter.writeGGUF(to: out)
            print("wrote \(out): rank \(rank), α \(alpha), \(adapter.parameterCount) parameters")
        }
    }
}
