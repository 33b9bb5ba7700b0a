import ArgumentParser
import CommandLineSupport
import Foundation
import LanguageModel

/// `edgenode tokenize`: token ids of a text file under a GGUF model's tokenizer.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Token ids of a text file (no BOS), as llama.cpp's tokenize.")
    @Option(help: "GGUF model.") var model: String
    @Option(help: "Text file (UTF-8).") var text: String
    @Flag(help: "Print JSON: {\"ids\": [...]}.") var json = false

    func run() throws {
        try failing {
            let tokenizer = try BPETokenizer(gguf: try GGUFFile(path: model))
            guard let data = FileManager.default.contents(atPath: text) else {
                throw ValidationError("\(text): cannot read")
            }
            guard let string = String(data: data, encoding: .utf8) else {
                throw ValidationError("\(text): not valid UTF-8")
            }
            let ids = tokenizer.encode(string)
            if json {
                let out = try JSONSerialization.data(withJSONObject: ["ids": ids, "count": ids.count])
                FileHandle.standardOutput.write(out)
                FileHandle.standardOutput.write(Data("\n".utf8))
            } else {
                print(ids.map(String.init).joined(separator: " "))
            }
        }
    }
}
