import Foundation
import XCTest

@testable import LanguageModel

final class TokenizerTests: XCTestCase {
    var fixtures: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures") }
    var repository: URL { fixtures.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    func json(_ name: String) throws -> [[String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent(name)))
        return try XCTUnwrap((object as? [String: Any])?["cases"] as? [[String: Any]])
    }

    /// Pieces equal the third-party `regex` module's on llama.cpp's patterns (record_pretokenizer.py).
    func testPreTokenizerMatchesTheRegexPatterns() throws {
        for c in try json("pretokenizer_cases.json") {
            let text = try XCTUnwrap(c["text"] as? String)
            for (mode, key) in [(PreTokenizer.gpt2, "gpt2"), (.smollm, "smollm")] {
                let expected = try XCTUnwrap(c[key] as? [String])
                let ours = mode.split(text).map { piece -> String in
                    var s = String.UnicodeScalarView()
                    s.append(contentsOf: piece)
                    return String(s)
                }
                XCTAssertEqual(ours, expected, "\(key): \(text.debugDescription)")
            }
        }
    }

    /// Token ids equal llama.cpp's on the same strings (tools/reference/llamacpp_tokenize.py --record),
    /// and decoding gives the text back.
    func testIdsMatchLlamaCpp() throws {
        let model = repository.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: model) else {
            return XCTFail("\(model) is missing: run launch/fetch-model.sh")
        }
        let tokenizer = try BPETokenizer(gguf: try GGUFFile(path: model))
        XCTAssertEqual(tokenizer.preTokenizer, .smollm)
        for c in try json("tokenizer_ids_llamacpp.json") {
            let text = try XCTUnwrap(c["text"] as? String)
            let ids = try XCTUnwrap(c["ids"] as? [Int])
            XCTAssertEqual(tokenizer.encode(text), ids, text.debugDescription)
            XCTAssertEqual(tokenizer.decode(ids), text)
        }
    }

    /// Documents joined with end-of-text and cut into windows; a 1-token tail is dropped.
    func testWindowPacking() throws {
        let model = repository.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
        guard FileManager.default.fileExists(atPath: model) else {
            return XCTFail("\(model) is missing: run launch/fetch-model.sh")
        }
        let tokenizer = try BPETokenizer(gguf: try GGUFFile(path: model))
        let docs = [Document(text: "Hello world", category: "a"), Document(text: "It's a test.", category: "a")]
        let stream = tokenizer.encode("Hello world") + [2] + tokenizer.encode("It's a test.") + [2]
        let windows = WindowPacker.pack(docs, tokenizer: tokenizer, length: 4)
        XCTAssertEqual(windows.flatMap { $0 }, Array(stream.prefix(windows.flatMap { $0 }.count)))
        XCTAssertTrue(windows.dropLast().allSatisfy { $0.count == 4 })
        XCTAssertGreaterThanOrEqual(windows.last!.count, 2)
        XCTAssertEqual(tokenizer.eosID, 2)
    }

    func testByteTableIsABijection() {
        let (forward, backward) = BPETokenizer.byteTable()
        XCTAssertEqual(Set(forward).count, 256)
        for b in 0..<256 { XCTAssertEqual(backward[forward[b]], UInt8(b)) }
        XCTAssertEqual(forward[Int(UInt8(ascii: " "))], "Ġ")
        XCTAssertEqual(forward[Int(UInt8(ascii: "\n"))], "Ċ")
    }

    /// Merges apply by rank, one occurrence at a time; unknown strings fall back to byte tokens.
    func testMergeOrderOnATinyVocabulary() throws {
        let (table, _) = BPETokenizer.byteTable()
        let a = String(table[Int(UInt8(ascii: "a"))])
        let b = String(table[Int(UInt8(ascii: "b"))])
        let tokens = [a, b, a + b, a + a, a + b + a + b, b + a]
        let t = try BPETokenizer(
            tokens: tokens, merges: ["\(a) \(b)", "\(a)\(b) \(a)\(b)", "\(a) \(a)"], preTokenizer: .gpt2)
        XCTAssertEqual(t.encode("abab"), [4]) // ab ab → abab
        XCTAssertEqual(t.encode("aab"), [0, 2]) // a·b outranks a·a: a + ab
        XCTAssertEqual(t.encode("ba"), [1, 0]) // no merge for b·a: two tokens
        XCTAssertThrowsError(try BPETokenizer(tokens: tokens, merges: ["nospace"], preTokenizer: .gpt2))
    }
}
