/// A recogniser for TOML 1.0's structure, run on a document before a TOML parser sees it.
///
/// Why: the parser under TOMLKit (toml++) asserts on some malformed documents instead of
/// reporting them (a header `[[[`, `[[` at the end of a line, `[ ]` inside an array that an
/// inline table closes), and an assertion is an abort of the whole process. This walks the
/// document's grammar (headers, keys, strings, arrays, inline tables, comments) and throws at
/// the first thing that is not TOML, with its line and column; what it accepts is structurally
/// valid TOML, which the parser handles. Scalars (numbers, dates, booleans) are checked for their
/// characters only; the parser reports their content.
///
/// Nesting deeper than `maximumDepth` is refused: the recogniser (and the parser) recurse.
public enum TOMLSyntax {
    public static let maximumDepth = 64

    /// Throws `TOMLSyntaxError` at the first structural error of `text`.
    public static func check(_ text: String) throws {
        var scanner = Scanner(bytes: Array(text.utf8))
        try scanner.document()
    }

    /// Throws `TOMLSyntaxError` unless `text` is one TOML value and nothing else.
    public static func checkValue(_ text: String) throws {
        var scanner = Scanner(bytes: Array(text.utf8))
        scanner.skipSpaces()
        try scanner.value(depth: 0)
        scanner.skipSpaces()
        try scanner.endOfLine()
        if !scanner.atEnd { throw scanner.error("more than one value") }
    }
}

/// Where a document stops being TOML.
public struct TOMLSyntaxError: Error, Equatable, CustomStringConvertible {
    public var line: Int, column: Int
    public var problem: String
    public var description: String { "TOML syntax error at line \(line), column \(column): \(problem)" }
}

private struct Scanner {
    let bytes: [UInt8]
    var i = 0

    var atEnd: Bool { i >= bytes.count }
    var current: UInt8? { i < bytes.count ? bytes[i] : nil }
    func peek(_ offset: Int) -> UInt8? { i + offset < bytes.count ? bytes[i + offset] : nil }

    func error(_ problem: String) -> TOMLSyntaxError {
        var line = 1
        var column = 1
        for b in bytes[..<min(i, bytes.count)] {
            if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
        }
        let saw =
            current.map {
                $0 >= 0x21 && $0 < 0x7F
                    ? "'\(Character(Unicode.Scalar($0)))'" : $0 == 0x0A ? "the end of the line" : "byte \($0)"
            } ?? "the end of the file"
        return TOMLSyntaxError(line: line, column: column, problem: "\(problem) (saw \(saw))")
    }

    mutating func skipSpaces() { while current == 0x20 || current == 0x09 { i += 1 } }

    /// A comment, then the end of the line (or of the file).
    mutating func endOfLine() throws {
        skipSpaces()
        if current == UInt8(ascii: "#") {
            while let b = current, b != 0x0A {
                guard b != 0x0D || peek(1) == 0x0A else { throw error("a carriage return must end a line") }
                i += 1
            }
        }
        if current == 0x0D, peek(1) == 0x0A {
            i += 2
            return
        }
        if current == 0x0A {
            i += 1
            return
        }
        if !atEnd { throw error("expected the end of the line") }
    }

    /// Spaces, newlines and comments (inside arrays).
    mutating func skipBlank() throws {
        while true {
            skipSpaces()
            if current == UInt8(ascii: "#") || current == 0x0A || current == 0x0D { try endOfLine() } else { return }
        }
    }

    mutating func document() throws {
        while !atEnd {
            skipSpaces()
            guard let b = current else { return }
            if b == 0x0A || b == 0x0D || b == UInt8(ascii: "#") {
                try endOfLine()
                continue
            }
            if b == UInt8(ascii: "[") { try header() } else { try keyValue(depth: 0) }
            try endOfLine()
        }
    }

    mutating func header() throws {
        i += 1
        let array = current == UInt8(ascii: "[")
        if array { i += 1 }
        skipSpaces()
        try key()
        skipSpaces()
        guard current == UInt8(ascii: "]") else { throw error("expected ']' to close the table header") }
        i += 1
        if array {
            guard current == UInt8(ascii: "]") else { throw error("expected ']]' to close the array-of-tables header") }
            i += 1
        }
    }

    static func isBare(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == UInt8(ascii: "_")
            || b == UInt8(ascii: "-")
    }

    /// simple-key *( ws '.' ws simple-key ).
    mutating func key() throws {
        while true {
            if let b = current, Self.isBare(b) {
                while let b = current, Self.isBare(b) { i += 1 }
            } else if current == UInt8(ascii: "\"") || current == UInt8(ascii: "'") {
                if peek(1) == current, peek(2) == current { throw error("a key cannot be a multi-line string") }
                try string()
            } else {
                throw error("expected a key (letters, digits, '_', '-', or a quoted string)")
            }
            let save = i
            skipSpaces()
            guard current == UInt8(ascii: ".") else {
                i = save
                return
            }
            i += 1
            skipSpaces()
        }
    }

    mutating func keyValue(depth: Int) throws {
        try key()
        skipSpaces()
        guard current == UInt8(ascii: "=") else { throw error("expected '=' after the key") }
        i += 1
        skipSpaces()
        try value(depth: depth)
    }

    mutating func value(depth: Int) throws {
        guard depth < TOMLSyntax.maximumDepth else { throw error("nested deeper than \(TOMLSyntax.maximumDepth)") }
        switch current {
        case UInt8(ascii: "\""), UInt8(ascii: "'"): try string()
        case UInt8(ascii: "["): try array(depth: depth + 1)
        case UInt8(ascii: "{"): try inlineTable(depth: depth + 1)
        default: try scalar()
        }
    }

    /// A number, date-time or boolean: its characters (a date and a time may be joined by one space).
    mutating func scalar() throws {
        let start = i
        func allowed(_ b: UInt8) -> Bool {
            Self.isBare(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: ".") || b == UInt8(ascii: ":")
        }
        while let b = current {
            if allowed(b) {
                i += 1
                continue
            }
            if b == 0x20, i > start, let next = peek(1), next >= 0x30 && next <= 0x39,
                bytes[i - 1] >= 0x30 && bytes[i - 1] <= 0x39,
                bytes[start..<i].contains(UInt8(ascii: "-")), !bytes[start..<i].contains(UInt8(ascii: ":"))
            {
                i += 1
                continue
            }
            break
        }
        if i == start { throw error("expected a value") }
    }

    mutating func array(depth: Int) throws {
        i += 1
        try skipBlank()
        if current == UInt8(ascii: "]") {
            i += 1
            return
        }
        while true {
            try value(depth: depth)
            try skipBlank()
            if current == UInt8(ascii: ",") {
                i += 1
                try skipBlank()
                if current == UInt8(ascii: "]") {
                    i += 1
                    return
                }
                continue
            }
            guard current == UInt8(ascii: "]") else { throw error("expected ',' or ']' in the array") }
            i += 1
            return
        }
    }

    mutating func inlineTable(depth: Int) throws {
        i += 1
        skipSpaces()
        if current == UInt8(ascii: "}") {
            i += 1
            return
        }
        while true {
            try keyValue(depth: depth)
            skipSpaces()
            if current == UInt8(ascii: ",") {
                i += 1
                skipSpaces()
                continue
            }
            guard current == UInt8(ascii: "}") else { throw error("expected ',' or '}' in the inline table") }
            i += 1
            return
        }
    }

    /// A basic, literal or multi-line string.
    mutating func string() throws {
        let quote = current!
        let multiLine = peek(1) == quote && peek(2) == quote
        i += multiLine ? 3 : 1
        while true {
            guard let b = current else { throw error("the string is not closed") }
            if b == quote {
                if !multiLine {
                    i += 1
                    return
                }
                if peek(1) == quote, peek(2) == quote {
                    i += 3
                    // Up to two quotes may close a multi-line string's content.
                    for _ in 0..<2 where current == quote { i += 1 }
                    return
                }
                i += 1
                continue
            }
            if b == 0x0A || b == 0x0D {
                guard multiLine else { throw error("a single-line string cannot span lines") }
                if b == 0x0D, peek(1) != 0x0A { throw error("a carriage return must end a line") }
                i += 1
                continue
            }
            if b < 0x20 && b != 0x09 || b == 0x7F { throw error("control characters must be escaped in strings") }
            if b == UInt8(ascii: "\\"), quote == UInt8(ascii: "\"") {
                try escape(multiLine: multiLine)
                continue
            }
            i += 1
        }
    }

    mutating func escape(multiLine: Bool) throws {
        i += 1
        guard let e = current else { throw error("the string is not closed") }
        switch e {
        case UInt8(ascii: "b"), UInt8(ascii: "t"), UInt8(ascii: "n"), UInt8(ascii: "f"), UInt8(ascii: "r"),
            UInt8(ascii: "\""), UInt8(ascii: "\\"):
            i += 1
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = e == UInt8(ascii: "u") ? 4 : 8
            i += 1
            for _ in 0..<count {
                guard let h = current, (h >= 0x30 && h <= 0x39) || (h | 0x20 >= 0x61 && h | 0x20 <= 0x66) else {
                    throw error("expected \(count) hex digits after \\\(Character(Unicode.Scalar(e)))")
                }
                i += 1
            }
        case 0x20, 0x09, 0x0A, 0x0D:
            // A line-ending backslash (multi-line strings only): spaces, then a newline, then any blank.
            guard multiLine else { throw error("unknown escape") }
            skipSpaces()
            guard current == 0x0A || (current == 0x0D && peek(1) == 0x0A) else {
                throw error("a line-ending backslash must end its line")
            }
            while current == 0x20 || current == 0x09 || current == 0x0A || current == 0x0D { i += 1 }
        default:
            throw error("unknown escape")
        }
    }
}
