import Foundation
import XCTest

@testable import LanguageModel

/// SmolLM2 loaded once for every test that is about it (dequantising it takes seconds in debug).
enum SharedModel {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    nonisolated(unsafe) private static var cached: (GGUFFile, LlamaModel)?
    private static let lock = NSLock()

    /// The file and the dequantised model; fails the test (does not skip) when the model is missing.
    static func load() throws -> (file: GGUFFile, model: LlamaModel) {
        lock.lock()
        defer { lock.unlock() }
        if let c = cached { return c }
        guard FileManager.default.fileExists(atPath: path) else {
            throw GGUFError(
                path: path, offset: nil, problem: "missing: run launch/fetch-model.sh (launch/test.sh does)")
        }
        let file = try GGUFFile(path: path)
        let loaded = (file, try LlamaModel(gguf: file))
        cached = loaded
        return loaded
    }
}
