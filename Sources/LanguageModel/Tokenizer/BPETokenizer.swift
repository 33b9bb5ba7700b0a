import Foundation

/// GPT-2 byte-level BPE built from a GGUF vocabulary (`tokenizer.ggml.tokens`) and merges
/// (`tokenizer.ggml.merges`), with the model's pre-tokenizer (`tokenizer.ggml.pre`).
///
/// Each pre-tokenized piece's UTF-8 bytes map to printable characters (GPT-2's byte-to-unicode
/// table), the characters merge pairwise by merge rank (lowest first, leftmost among equals) until
/// no ranked pair remains, and the resulting strings map to ids; a string missing from the
/// vocabulary falls back to its bytes' tokens, as llama.cpp does. Special tokens in the text are
/// tokenized as plain text (llama.cpp's `parse_special = false`).
public final class BPETokenizer: @unchecked Sendable {
    public let tokens: [String]
    public let preTokenizer: PreTokenizer
    public let bosID: Int?
    public let eosID: Int?
    private let ids: [String: Int]
    /// Merge rank of "left right".
    private let ranks: [PairKey: Int]
    private let byteToCharacter: [Character]
    private let characterToByte: [Character: UInt8]
    /// Token ids of pieces seen before (BPE is a pure function of the piece).
    private var cache: [String: [Int]] = [:]
    private let lock = NSLock()

    struct PairKey: Hashable {
        let left: String, right: String
    }

    public init(tokens: [String], merges: [String], preTokenizer: PreTokenizer, bosID: Int? = nil, eosID: Int? = nil)
        throws
    {
        self.tokens = tokens
        self.preTokenizer = preTokenizer
        self.bosID = bosID
        self.eosID = eosID
        var ids = [String: Int](minimumCapacity: tokens.count)
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = i }
        self.ids = ids
        var ranks = [PairKey: Int](minimumCapacity: merges.count)
        for (i, m) in merges.enumerated() {
            // A merge is "left right"; a space inside a token is encoded (Ġ), so the first space splits.
            guard let space = m.firstIndex(of: " ") else { throw TokenizerError.badMerge(index: i, merge: m) }
            let key = PairKey(left: String(m[..<space]), right: String(m[m.index(after: space)...]))
            if ranks[key] == nil { ranks[key] = i }
        }
        self.ranks = ranks
        (byteToCharacter, characterToByte) = BPETokenizer.byteTable()
    }

    /// The tokenizer a GGUF file describes.
    public convenience init(gguf f: GGUFFile) throws {
        guard f.metadata["tokenizer.ggml.model"]?.string == "gpt2" else {
            throw TokenizerError.unsupported(
                "tokenizer.ggml.model is \(f.metadata["tokenizer.ggml.model"]?.string ?? "missing"), only gpt2 "
                    + "(byte-level BPE) is supported"
            )
        }
        guard let tokens = f.metadata["tokenizer.ggml.tokens"]?.strings, !tokens.isEmpty else {
            throw TokenizerError.unsupported("tokenizer.ggml.tokens is missing")
        }
        guard let merges = f.metadata["tokenizer.ggml.merges"]?.strings else {
            throw TokenizerError.unsupported("tokenizer.ggml.merges is missing")
        }
        let preName = f.metadata["tokenizer.ggml.pre"]?.string ?? "gpt2"
        guard let pre = PreTokenizer(ggufName: preName) else {
            throw TokenizerError.unsupported(
                "pre-tokenizer '\(preName)' is not supported (gpt2, smollm and their aliases are)")
        }
        try self.init(
            tokens: tokens, merges: merges, preTokenizer: pre,
            bosID: f.metadata["tokenizer.ggml.bos_token_id"]?.int, eosID: f.metadata["tokenizer.ggml.eos_token_id"]?.int
        )
    }

    /// Token ids of `text` (no BOS).
    public func encode(_ text: String) -> [Int] {
        var out = [Int]()
        for piece in preTokenizer.split(text) {
            var s = String.UnicodeScalarView()
            s.append(contentsOf: piece)
            out.append(contentsOf: encodePiece(String(s)))
        }
        return out
    }

    /// The text of `ids` (bytes decoded as UTF-8, invalid sequences replaced).
    public func decode(_ ids: [Int]) -> String {
        var bytes = [UInt8]()
        for id in ids where id >= 0 && id < tokens.count {
            for ch in tokens[id] {
                if let b = characterToByte[ch] {
                    bytes.append(b)
                } else {
                    bytes.append(contentsOf: Array(String(ch).utf8))
                }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func encodePiece(_ piece: String) -> [Int] {
        lock.lock()
        if let hit = cache[piece] {
            lock.unlock()
            return hit
        }
        lock.unlock()
        var symbols = piece.utf8.map { String(byteToCharacter[Int($0)]) }
        // Merge the lowest-ranked adjacent pair (leftmost among equals) until none is ranked.
        while symbols.count > 1 {
            var best = Int.max
            var at = -1
            for i in 0..<(symbols.count - 1) {
                if let r = ranks[PairKey(left: symbols[i], right: symbols[i + 1])], r < best {
                    best = r
                    at = i
                }
            }
            guard at >= 0 else { break }
            // One occurrence at a time, as llama.cpp's queue does: a merge can create a pair that
            // outranks the next occurrence of the one just merged.
            symbols[at] += symbols[at + 1]
            symbols.remove(at: at + 1)
        }
        var out = [Int]()
        for s in symbols {
            if let id = ids[s] {
                out.append(id)
                continue
            }
            // Not in the vocabulary: one token per byte.
            for ch in s { if let id = ids[String(ch)] { out.append(id) } }
        }
        lock.lock()
        cache[piece] = out
        lock.unlock()
        return out
    }

    /// GPT-2's reversible byte ↔ printable-character table.
    static func byteTable() -> ([Character], [Character: UInt8]) {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var codepoints = printable
        var extra = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            codepoints.append(256 + extra)
            extra += 1
        }
        var forward = [Character](repeating: " ", count: 256)
        var backward = [Character: UInt8]()
        for (b, c) in zip(printable, codepoints) {
            let ch = Character(Unicode.Scalar(UInt32(c))!)
            forward[b] = ch
            backward[ch] = UInt8(b)
        }
        return (forward, backward)
    }
}

public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    case badMerge(index: Int, merge: String)
    case unsupported(String)
    public var description: String {
        switch self {
        case .badMerge(let i, let m): return "tokenizer.ggml.merges[\(i)] = '\(m)' is not 'left right'"
        case .unsupported(let why): return why
        }
    }
}
