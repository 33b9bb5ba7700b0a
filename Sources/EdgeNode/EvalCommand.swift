import ArgumentParser
import CommandLineSupport
import Dispatch
import Foundation
import LanguageModel

/// `edgenode eval`: perplexity of a text under a GGUF Llama model.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract:
            "Perplexity of a text: tokens without BOS, non-overlapping windows of --ctx, every token but each "
            + "window's first scored."
    )
    @Option(help: "GGUF model.") var model: String
    @Option(help: "Text file (UTF-8).") var text: String
    @Option(help: "LoRA adapter in llama.cpp's GGUF format, applied on top of the model.") var adapter: String?
    @Option(help: "Window length in tokens.") var ctx: Int = 256
    @Option(help: "Score at most this many tokens of the text (0: all).") var maxTokens: Int = 0
    @Option(
        help:
            .init(
                "Windows evaluated at once, each on one BLAS thread (1: one window at a time, on one core). Default: "
                    + "the "
                    + "cores. The result is the same bits for any count.")
    )
    var parallelWindows: Int?
    @Option(
        help:
            .init(
                "The products with the frozen weights: quantized (on the file's Q4_0/Q4_1/Q8_0 blocks, activations "
                    + "quantized per block to 8 bits) or float (dequantised weights and sgemm).")
    )
    var kernel: FrozenKernel = .quantized
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try failing {
            guard ctx >= 2 else { throw ValidationError("--ctx must be at least 2") }
            guard (parallelWindows ?? 1) >= 1 else { throw ValidationError("--parallel-windows must be at least 1") }
            let file = try GGUFFile(path: model)
            let tokenizer = try BPETokenizer(gguf: file)
            let llama = try LlamaModel(gguf: file, kernel: kernel)
            guard let data = FileManager.default.contents(atPath: text),
                let string = String(data: data, encoding: .utf8)
            else {
                throw ValidationError("\(text): cannot read as UTF-8")
            }
            var tokens = tokenizer.encode(string)
            if maxTokens > 0 { tokens = Array(tokens.prefix(maxTokens)) }
            let start = DispatchTime.now().uptimeNanoseconds
            let lora = try adapter.map { try LoRAAdapter(gguf: try GGUFFile(path: $0), config: llama.config) }
            let result = try LlamaForward(model: llama, adapter: lora).perplexity(
                tokens: tokens, context: ctx,
                workers: parallelWindows ?? ProcessInfo.processInfo.activeProcessorCount)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            if json {
                try printJSONLine(
                    EvalReport(
                        perplexity: result.perplexity, tokens: tokens.count, scoredTokens: result.scoredTokens,
                        tokensPerS: Double(tokens.count) / seconds, ctx: ctx, kernel: llama.kernel.rawValue,
                        logProbabilities: result.logProbabilities))
            } else {
                print(
                    String(
                        format: "perplexity %.4f over %d scored tokens (%d tokens, ctx %d), %.1f tokens/s",
                        result.perplexity, result.scoredTokens, tokens.count, ctx, Double(tokens.count) / seconds))
            }
        }
    }
}
