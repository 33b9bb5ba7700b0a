/// Splits text into the pieces BPE runs on, as llama.cpp does for the model's `tokenizer.ggml.pre`.
///
/// `smollm` (also StarCoder, Refact, Command-R, CodeShell, EXAONE): first every number codepoint
/// becomes a piece of its own (`\p{N}`), then each remaining stretch is split by the GPT-2 pattern
///   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
/// `gpt2` (also MPT, OLMo): the GPT-2 pattern alone. The GPT-2 pattern is matched by hand, the way
/// llama.cpp's `unicode_regex_split_custom_gpt2` does, with Unicode general categories for \p{L}
/// (L*) and \p{N} (Nd, Nl, No) and the White_Space property for \s.
public enum PreTokenizer: String, Sendable {
    case gpt2
    case smollm

    public init?(ggufName: String) {
        switch ggufName {
        case "gpt2", "mpt", "olmo", "jais", "trillion": self = .gpt2
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva": self = .smollm
        default: return nil
        }
    }

    /// The pieces of `text` as ranges of its Unicode scalars.
    public func split(_ text: String) -> [[Unicode.Scalar]] {
        let scalars = Array(text.unicodeScalars)
        var pieces = [[Unicode.Scalar]]()
        switch self {
        case .gpt2:
            PreTokenizer.gpt2Split(scalars[...], into: &pieces)
        case .smollm:
            var start = 0
            for i in scalars.indices where CharacterClass(scalars[i]).isNumber {
                if start < i { PreTokenizer.gpt2Split(scalars[start..<i], into: &pieces) }
                pieces.append([scalars[i]])
                start = i + 1
            }
            if start < scalars.count { PreTokenizer.gpt2Split(scalars[start...], into: &pieces) }
        }
        return pieces
    }

    /// The GPT-2 pattern over one stretch; the stretch's end acts as the end of text for `(?!\S)`.
    static func gpt2Split(_ s: ArraySlice<Unicode.Scalar>, into pieces: inout [[Unicode.Scalar]]) {
        let end = s.endIndex
        var pos = s.startIndex
        func cls(_ i: Int) -> CharacterClass { i < end ? CharacterClass(s[i]) : .outOfRange }
        func emit(_ upTo: Int) {
            pieces.append(Array(s[pos..<upTo]))
            pos = upTo
        }
        while pos < end {
            let c = s[pos]
            // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive, as GPT-2's pattern)
            if c == "'", pos + 1 < end {
                let n = s[pos + 1]
                if n == "s" || n == "t" || n == "m" || n == "d" {
                    emit(pos + 2)
                    continue
                }
                if pos + 2 < end {
                    let nn = s[pos + 2]
                    if (n == "r" && nn == "e") || (n == "v" && nn == "e") || (n == "l" && nn == "l") {
                        emit(pos + 3)
                        continue
                    }
                }
            }
            let lead = c == " " ? cls(pos + 1) : cls(pos)
            let skip = c == " " ? 1 : 0
            // ?\p{L}+
            if lead.isLetter {
                var i = pos + skip
                while cls(i).isLetter { i += 1 }
                emit(i)
                continue
            }
            // ?\p{N}+
            if lead.isNumber {
                var i = pos + skip
                while cls(i).isNumber { i += 1 }
                emit(i)
                continue
            }
            // ?[^\s\p{L}\p{N}]+
            if lead.isOther {
                var i = pos + skip
                while cls(i).isOther { i += 1 }
                emit(i)
                continue
            }
            // \s+(?!\S) | \s+
            var spaces = 0
            while cls(pos + spaces).isWhitespace { spaces += 1 }
            if spaces > 1 && pos + spaces < end {
                emit(pos + spaces - 1)
                continue
            }
            if spaces > 0 {
                emit(pos + spaces)
                continue
            }
            emit(pos + 1) // no rule matched
        }
    }
}

/// The classes the pre-tokenizer distinguishes.
enum CharacterClass {
    case letter, number, whitespace, other, outOfRange

    init(_ s: Unicode.Scalar) {
        if s.properties.isWhitespace {
            self = .whitespace
            return
        }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: self = .letter
        case .decimalNumber, .letterNumber, .otherNumber: self = .number
        case .unassigned: self = .outOfRange // llama.cpp gives unassigned codepoints no flags
        default: self = .other
        }
    }

    var isLetter: Bool { self == .letter }
    var isNumber: Bool { self == .number }
    var isWhitespace: Bool { self == .whitespace }
    var isOther: Bool { self == .other }
}
