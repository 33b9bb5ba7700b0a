import Foundation
import XCTest

@testable import LanguageModel

final class LoRATests: XCTestCase {
    var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The adapter exported in llama.cpp's GGUF format, loaded by llama.cpp, gives the perplexity
    /// ours gives with the same adapter. Fixture: `edgenode lora-init --rank 4 --alpha 8 --seed 3
    /// --b-std 0.3` then tools/reference/llamacpp_perplexity.py --lora … --ctx 128 --max-tokens 1024
    /// --record; the adapter is rebuilt here from the same seed.
    func testAdapterMatchesLlamaCpp() throws {
        let fixture = try XCTUnwrap(
            try JSONSerialization.jsonObject(
                with: Data(
                    contentsOf: repository.appendingPathComponent(
                        "Tests/LanguageModelTests/Fixtures/perplexity_lora_llamacpp.json"))) as? [String: Any])
        let (_, model) = try SharedModel.load()
        var adapter = LoRAAdapter(config: model.config, rank: 4, alpha: 8, seed: 3)
        adapter.randomizeB(standardDeviation: 0.3, seed: 3)
        // Through the file, as llama.cpp saw it.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try adapter.writeGGUF(to: path)
        let loaded = try LoRAAdapter(gguf: try GGUFFile(path: path), config: model.config)
        XCTAssertEqual(loaded, adapter)
        let tokens = try XCTUnwrap(fixture["tokens"] as? [Int])
        let result = try LlamaForward(model: model, adapter: loaded).perplexity(
            tokens: tokens, context: try XCTUnwrap(fixture["ctx"] as? Int))
        let expected = try XCTUnwrap(fixture["perplexity"] as? Double)
        XCTAssertEqual(
            result.perplexity / expected, 1, accuracy: 0.01, "ours \(result.perplexity) vs llama.cpp \(expected)")
    }

    /// B = 0 (the standard initialisation) leaves the model's logits unchanged; the parameter count
    /// is r · Σ(d_in + d_out).
    func testFreshAdapterIsTheIdentityAndCountsParameters() throws {
        let (_, model) = try SharedModel.load()
        let adapter = LoRAAdapter(config: model.config, rank: 8, alpha: 16, seed: 1)
        XCTAssertEqual(adapter.parameterCount, 8 * 30 * ((576 + 576) + (576 + 192) + (576 + 192) + (576 + 576)))
        let tokens = [1, 504, 2468, 314, 253, 1228]
        XCTAssertEqual(
            try LlamaForward(model: model, adapter: adapter).logits(tokens),
            try LlamaForward(model: model).logits(tokens))
        // So round 0 is the base model at any rank (the base station evaluates it once, through its memo).
        XCTAssertTrue(adapter.leavesBaseModelUnchanged)
        let window = (0..<96).map { ($0 * 7919) % 49_000 + 2 }
        XCTAssertEqual(
            try LlamaForward(model: model, adapter: adapter).perplexity(tokens: window, context: 32).perplexity,
            try LlamaForward(model: model).perplexity(tokens: window, context: 32).perplexity)
        var trained = adapter
        trained.randomizeB(standardDeviation: 1e-3, seed: 2)
        XCTAssertFalse(trained.leavesBaseModelUnchanged)
    }

    func testMalformedAdaptersAreClearErrors() throws {
        let config = try SharedModel.load().model.config
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        try w.write(to: path)
        XCTAssertThrowsError(try LoRAAdapter(gguf: try GGUFFile(path: path), config: config)) {
            XCTAssertTrue("\($0)".contains("not a LoRA adapter"), "\($0)")
        }
        w.set("general.type", .string("adapter"))
        w.set("adapter.type", .string("lora"))
        try w.addTensor("blk.0.attn_q.weight.lora_a", dims: [576, 2], floats: [Float](repeating: 0, count: 1152))
        try w.addTensor("blk.0.attn_q.weight.lora_b", dims: [2, 100], floats: [Float](repeating: 0, count: 200))
        try w.write(to: path)
        XCTAssertThrowsError(try LoRAAdapter(gguf: try GGUFFile(path: path), config: config)) {
            XCTAssertTrue("\($0)".contains("do not fit"), "\($0)")
        }
    }
}
