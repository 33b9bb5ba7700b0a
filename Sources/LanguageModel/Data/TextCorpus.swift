import Foundation

/// Documents for fine-tuning, each tagged with the category it came from.
public struct Document: Equatable, Sendable {
    public var text: String
    public var category: String
    public init(text: String, category: String) {
        self.text = text
        self.category = category
    }
}

/// Why a data source could not be read, naming the file and, where it applies, the line.
public struct DataSourceError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var problem: String
    public var description: String { "\(path)\(line.map { ":\($0)" } ?? ""): \(problem)" }
}

/// Where documents come from (docs/architecture.md#the-learning-path, stage "data").
///
/// - `fortunes:CAT[,CAT…]` (or `fortunes:all`, the English ones): Debian's fortune files, one
///   document per quote (quotes are separated by lines holding only `%`), category = file name;
///   `de/NAME` is a German one (Debian's `fortunes-de`, installed by launch/setup.sh).
/// - a `.jsonl` file: one JSON object per line with `text`, or `instruction` and `response`
///   (rendered with the model's chat roles: `<|im_start|>user … <|im_end|>` etc.).
/// - any other file: plain text, one document per blank-line-separated paragraph.
public enum TextCorpus {
    public static let fortunesDirectory = "/usr/share/games/fortunes"

    public static func load(_ spec: String, fortunesDirectory: String = TextCorpus.fortunesDirectory) throws
        -> [Document]
    {
        if spec.hasPrefix("fortunes:") {
            return try fortunes(String(spec.dropFirst("fortunes:".count)), directory: fortunesDirectory)
        }
        if spec.hasSuffix(".jsonl") { return try jsonLines(spec) }
        return try plainText(spec)
    }

    /// The fortune categories installed (files with a `.dat` index beside them), those of a
    /// language's subdirectory as `LANG/NAME` (Debian's `fortunes-de` installs `de/…`).
    public static func fortuneCategories(directory: String = TextCorpus.fortunesDirectory) -> [String] {
        func indexed(_ dir: String, prefix: String) -> [String] {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            return files.filter { $0.hasSuffix(".dat") }.map { prefix + String($0.dropLast(4)) }
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let languages = entries.filter { e in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: "\(directory)/\(e)", isDirectory: &isDirectory)
                && isDirectory.boolValue
        }
        return (indexed(directory, prefix: "") + languages.flatMap { indexed("\(directory)/\($0)", prefix: "\($0)/") })
            .sorted()
    }

    static func fortunes(_ list: String, directory: String) throws -> [Document] {
        let available = fortuneCategories(directory: directory)
        guard !available.isEmpty else {
            throw DataSourceError(
                path: directory, line: nil,
                problem: "no fortune files (install Debian's 'fortunes' package; launch/setup.sh does)")
        }
        // `all`: the English files (the top level), not another language's.
        let wanted =
            list == "all"
            ? available.filter { !$0.contains("/") }
            : list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var docs = [Document]()
        for category in wanted {
            guard available.contains(category) else {
                throw DataSourceError(
                    path: "\(directory)/\(category)", line: nil,
                    problem: "no such fortune category (available: \(available.joined(separator: ", ")))")
            }
            let path = "\(directory)/\(category)"
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DataSourceError(path: path, line: nil, problem: "cannot read")
            }
            // A few fortune files are Latin-1; decode each as UTF-8 first.
            let text = String(data: data, encoding: .utf8) ?? String(decoding: data, as: UTF8.self)
            var current = [Substring]()
            func flush() {
                let quote = current.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
                if !quote.isEmpty { docs.append(Document(text: quote, category: category)) }
                current.removeAll()
            }
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line == "%" { flush() } else { current.append(line) }
            }
            flush()
        }
        return docs
    }

    static func plainText(_ path: String) throws -> [Document] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataSourceError(path: path, line: nil, problem: "cannot read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataSourceError(path: path, line: nil, problem: "not valid UTF-8")
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return text.components(separatedBy: "\n\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }.map { Document(text: $0, category: name) }
    }

    static func jsonLines(_ path: String) throws -> [Document] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataSourceError(path: path, line: nil, problem: "cannot read")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataSourceError(path: path, line: nil, problem: "not valid UTF-8")
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        var docs = [Document]()
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            // A JSON boundary: a user's line may hold any fields; the three read here are checked one by one.
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)) as? [String: Any] else {
                throw DataSourceError(path: path, line: i + 1, problem: "not a JSON object")
            }
            let category = (object["category"] as? String) ?? name
            if let t = object["text"] as? String {
                docs.append(Document(text: t, category: category))
            } else if let instruction = object["instruction"] as? String, let response = object["response"] as? String {
                docs.append(
                    Document(text: ChatTemplate.render(user: instruction, assistant: response), category: category))
            } else {
                throw DataSourceError(
                    path: path, line: i + 1, problem: "needs a string 'text', or strings 'instruction' and 'response'")
            }
        }
        return docs
    }
}

/// SmolLM2-Instruct's chat format (its GGUF `tokenizer.chat_template`, ChatML).
public enum ChatTemplate {
    public static func render(user: String, assistant: String) -> String {
        "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n\(assistant)<|im_end|>\n"
    }
}
