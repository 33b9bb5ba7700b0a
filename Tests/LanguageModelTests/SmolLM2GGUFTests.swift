import Foundation
import XCTest

@testable import LanguageModel

/// The real model (fetched by launch/fetch-model.sh, which launch/test.sh runs) read by our GGUF
/// reader, against what llama.cpp's `gguf` package reads (Fixtures/record_smollm2_facts.py).
final class SmolLM2GGUFTests: XCTestCase {
    var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    func testSmolLM2MatchesTheGGUFPackage() throws {
        let model = repository.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: model) else {
            return XCTFail("\(model) is missing: run launch/fetch-model.sh (launch/test.sh does)")
        }
        let factsURL = repository.appendingPathComponent("Tests/LanguageModelTests/Fixtures/smollm2_facts.json")
        let facts = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: factsURL)) as? [String: Any])
        let f = try GGUFFile(path: model)
        XCTAssertEqual(f.tensors.count, facts["tensor_count"] as? Int)
        let meta = try XCTUnwrap(facts["metadata"] as? [String: Any])
        for (key, value) in meta {
            let ours = try XCTUnwrap(f.metadata[key], key)
            if let s = value as? String {
                XCTAssertEqual(ours.string, s, key)
            } else if let d = value as? Double, ours.int == nil {
                XCTAssertEqual(ours.double, d, key)
            } else {
                XCTAssertEqual(ours.int, value as? Int, key)
            }
        }
        XCTAssertEqual(f.metadata["tokenizer.ggml.tokens"]?.array?.count, facts["vocab_size"] as? Int)
        XCTAssertEqual(f.metadata["tokenizer.ggml.merges"]?.array?.count, facts["merges"] as? Int)
        XCTAssertEqual(
            Array(f.metadata["tokenizer.ggml.tokens"]!.strings!.prefix(5)), facts["first_tokens"] as? [String])
        let tensors = try XCTUnwrap(facts["tensors"] as? [String: [String: Any]])
        for (name, t) in tensors {
            let info = try XCTUnwrap(f.tensor(name), name)
            XCTAssertEqual(info.type.name, t["type"] as? String, name)
            XCTAssertEqual(info.dims, t["dims"] as? [Int], name)
            guard let first = t["first"] as? [Double] else { continue }
            let x = try f.floats(name)
            // The values are float32: compare as Float (the JSON text round-trips a Double only to ~1 ulp).
            for (a, b) in zip(x.prefix(8), first) { XCTAssertEqual(a, Float(b), name) }
            let sum = x.reduce(0.0) { $0 + Double($1) }
            let squares = x.reduce(0.0) { $0 + Double($1) * Double($1) }
            XCTAssertEqual(sum, t["sum"] as! Double, accuracy: 1e-9 * max(1, abs(t["sum"] as! Double)), name)
            XCTAssertEqual(squares, t["sum_squares"] as! Double, accuracy: 1e-9 * (t["sum_squares"] as! Double), name)
        }
    }
}
