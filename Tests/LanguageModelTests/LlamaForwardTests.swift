import COpenBLAS
import Foundation
import XCTest

@testable import LanguageModel

/// SmolLM2's forward pass against llama.cpp's on the same tokens and windows
/// (tools/reference/llamacpp_perplexity.py --record). llama.cpp quantises activations to 8 bits
/// inside its matmuls, so per-token log-probabilities agree closely, not exactly.
final class LlamaForwardTests: XCTestCase {
    var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    func testPerplexityMatchesLlamaCpp() throws {
        let fixture = try XCTUnwrap(
            try JSONSerialization.jsonObject(
                with: Data(
                    contentsOf: repository.appendingPathComponent(
                        "Tests/LanguageModelTests/Fixtures/perplexity_llamacpp.json"))) as? [String: Any])
        let (file, model) = try SharedModel.load()
        let tokenizer = try BPETokenizer(gguf: file)
        let text = try XCTUnwrap(fixture["text"] as? String)
        let reference = try XCTUnwrap(fixture["tokens"] as? [Int])
        let maxTokens = try XCTUnwrap(fixture["max_tokens"] as? Int)
        let tokens = Array(tokenizer.encode(text).prefix(maxTokens))
        XCTAssertEqual(tokens, reference)
        let result = try LlamaForward(model: model).perplexity(
            tokens: tokens, context: try XCTUnwrap(fixture["ctx"] as? Int))
        let expected = try XCTUnwrap(fixture["perplexity"] as? Double)
        XCTAssertEqual(
            result.perplexity / expected, 1, accuracy: 0.01, "ours \(result.perplexity) vs llama.cpp \(expected)")
        let theirs = try XCTUnwrap(fixture["log_probabilities"] as? [Double])
        XCTAssertEqual(result.logProbabilities.count, theirs.count)
        let meanAbs = zip(result.logProbabilities, theirs).map { abs($0 - $1) }.reduce(0, +) / Double(theirs.count)
        XCTAssertLessThan(meanAbs, 0.1, "mean |Δ log p| = \(meanAbs)")
    }

    /// The quantized kernel (blocks for the layers and the Q8_0 head, activations to 8 bits, as
    /// llama.cpp's own matmuls) against the same fixture: within 1 %, and the same bits for any
    /// number of windows side by side.
    func testQuantizedKernelPerplexityMatchesLlamaCpp() throws {
        let fixture = try XCTUnwrap(
            try JSONSerialization.jsonObject(
                with: Data(
                    contentsOf: repository.appendingPathComponent(
                        "Tests/LanguageModelTests/Fixtures/perplexity_llamacpp.json"))) as? [String: Any])
        let (file, _) = try SharedModel.load()
        let model = try LlamaModel(gguf: file, kernel: .quantized)
        XCTAssertEqual(model.kernel, .quantized)
        XCTAssertNotNil(model.outputBlocks, "SmolLM2's tied Q8_0 head runs on its blocks")
        let tokens = try XCTUnwrap(fixture["tokens"] as? [Int])
        let ctx = try XCTUnwrap(fixture["ctx"] as? Int)
        let result = try LlamaForward(model: model).perplexity(tokens: tokens, context: ctx, workers: 2)
        let expected = try XCTUnwrap(fixture["perplexity"] as? Double)
        XCTAssertEqual(
            result.perplexity / expected, 1, accuracy: 0.01, "ours \(result.perplexity) vs llama.cpp \(expected)")
        let theirs = try XCTUnwrap(fixture["log_probabilities"] as? [Double])
        let meanAbs = zip(result.logProbabilities, theirs).map { abs($0 - $1) }.reduce(0, +) / Double(theirs.count)
        XCTAssertLessThan(meanAbs, 0.1, "mean |Δ log p| = \(meanAbs)")
        print(
            String(
                format: "quantized kernel: perplexity %.4f against llama.cpp's %.4f, mean |Δ log p| %.4f",
                result.perplexity, expected, meanAbs))
        let one = try LlamaForward(model: model).perplexity(
            tokens: Array(tokens.prefix(2 * ctx + 5)), context: ctx, workers: 1)
        let two = try LlamaForward(model: model).perplexity(
            tokens: Array(tokens.prefix(2 * ctx + 5)), context: ctx, workers: 2)
        XCTAssertEqual(one.logProbabilities, two.logProbabilities)
    }

    /// Windows evaluated at once give the same bits as one window at a time, whatever OpenBLAS's
    /// own thread count (the base station's held-out evaluation relies on it), and leave that
    /// count as it was. (On AVX2 machines OpenBLAS's sgemm on two threads rounds differently
    /// from one thread: this test failed there while the single window ran on OpenBLAS's threads.)
    func testParallelWindowsGiveTheSameBits() throws {
        let (_, model) = try SharedModel.load()
        var adapter = LoRAAdapter(config: model.config, rank: 4, alpha: 8, seed: 5)
        adapter.randomizeB(standardDeviation: 0.02, seed: 5)
        let tokens = (0..<(3 * 128 + 17)).map { ($0 * 7919 + 13) % 49_000 + 2 }
        let threads = openblas_get_num_threads()
        openblas_set_num_threads(2)
        defer { openblas_set_num_threads(threads) }
        let one = try LlamaForward(model: model, adapter: adapter).perplexity(tokens: tokens, context: 128, workers: 1)
        for workers in [2, 3] {
            let many = try LlamaForward(model: model, adapter: adapter).perplexity(
                tokens: tokens, context: 128, workers: workers)
            XCTAssertEqual(many.logProbabilities, one.logProbabilities, "\(workers) workers")
            XCTAssertEqual(many.perplexity.bitPattern, one.perplexity.bitPattern, "\(workers) workers")
            XCTAssertEqual(openblas_get_num_threads(), 2)
        }
        XCTAssertEqual(one.scoredTokens, 3 * 127 + 16)
        XCTAssertEqual(
            one.lossStandardError,
            PerplexityResult.standardError(windows: [
                Array(one.logProbabilities[0..<127]), Array(one.logProbabilities[127..<254]),
                Array(one.logProbabilities[254..<381]),
                Array(one.logProbabilities[381...]),
            ]))
    }

    /// The last token's logits (the head on one row) are the last row of the full logits, on the
    /// float and the quantized kernel (a tiny Q8_0 model, tied head), to float rounding: a product
    /// over one row is blocked differently from one over T rows.
    func testLastLogitsAreTheLastRowOfTheLogits() throws {
        var spec = TinyModelSpec()
        spec.matrixType = .q8_0
        let file = try GradientTests.tinyModel(spec, name: "tiny-last-logits")
        let tokens = (0..<40).map { ($0 * 37 + 11) % 256 }
        for kernel in FrozenKernel.allCases {
            let model = try LlamaModel(gguf: file, kernel: kernel)
            XCTAssertEqual(model.kernel, kernel)
            let forward = LlamaForward(model: model)
            let v = model.config.vocabulary
            let all = try forward.logits(tokens)
            let last = try forward.lastLogits(tokens)
            XCTAssertEqual(last.count, v)
            let row = Array(all[(all.count - v)...])
            let scale = row.map(abs).max()!
            XCTAssertGreaterThan(scale, 0.1)
            for (a, b) in zip(last, row) { XCTAssertEqual(a, b, accuracy: 1e-5 * scale, "\(kernel)") }
        }
    }

    /// The loss's standard error over windows, against a hand computation: windows of 2 and 1
    /// tokens with mean losses 1 and 4 (overall 2): √(2/1 · (2²·1² + 1²·2²)) / 3 = √16 / 3.
    func testLossStandardErrorOverWindows() {
        XCTAssertEqual(PerplexityResult.standardError(windows: [[-0.5, -1.5], [-4]]), 4.0 / 3, accuracy: 1e-12)
        XCTAssertTrue(PerplexityResult.standardError(windows: [[-1, -2]]).isNaN, "one window: no spread to measure")
        XCTAssertEqual(PerplexityResult.standardError(windows: [[-1, -1], [-1]]), 0)
    }
}
