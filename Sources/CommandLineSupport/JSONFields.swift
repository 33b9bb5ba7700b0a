import Foundation

/// A figure of a JSON record that may not have been measured: NaN (or ±∞) here, `null` in the file,
/// and the key is always written, so a reader finds every key of a record whether or not the run
/// measured it. A missing key decodes as NaN (an older file's record).
@propertyWrapper
public struct Measured: Codable, Equatable, Sendable {
    public var wrappedValue: Double

    public init(wrappedValue: Double) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? .nan : try c.decode(Double.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if wrappedValue.isFinite { try c.encode(wrappedValue) } else { try c.encodeNil() }
    }

    /// NaN and NaN are the same unmeasured figure.
    public static func == (a: Measured, b: Measured) -> Bool {
        a.wrappedValue == b.wrappedValue || (a.wrappedValue.isNaN && b.wrappedValue.isNaN)
    }
}

/// An optional member of a JSON record written as `null` when absent (Codable's synthesis would
/// leave the key out), for the same reason as `Measured`. A missing key decodes as nil.
@propertyWrapper
public struct Nullable<Value: Codable & Equatable & Sendable>: Codable, Equatable, Sendable {
    public var wrappedValue: Value?

    public init(wrappedValue: Value?) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? nil : try c.decode(Value.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        if let wrappedValue { try c.encode(wrappedValue) } else { try c.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// A `Measured` key that is absent reads as NaN instead of failing the whole record.
    public func decode(_ type: Measured.Type, forKey key: Key) throws -> Measured {
        try decodeIfPresent(type, forKey: key) ?? Measured(wrappedValue: .nan)
    }

    /// A `Nullable` key that is absent reads as nil instead of failing the whole record.
    public func decode<V>(_ type: Nullable<V>.Type, forKey key: Key) throws -> Nullable<V> {
        try decodeIfPresent(type, forKey: key) ?? Nullable(wrappedValue: nil)
    }
}

/// The one JSON form of every record this project writes (summary.json, stress points, `--json`
/// output): keys sorted and indented, so two runs' files diff line by line.
public enum JSONRecord {
    public static func encoded<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(value)
    }

    /// One line of JSON Lines: the same keys sorted, no indentation (the caller adds the newline).
    public static func line<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(value)
    }

    /// `T` from the file at `path`; a missing file, or one that is not a `T`, is an error naming the
    /// file and the key (Codable's own context) that failed.
    public static func read<T: Decodable>(_ type: T.Type, from path: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandError("\(path): cannot be read")
        }
        do { return try JSONDecoder().decode(type, from: data) } catch let error as DecodingError {
            throw CommandError("\(path): not a \(type) record (\(Self.describe(error)))")
        }
    }

    /// A decoding error as the key path and what was wrong there.
    public static func describe(_ error: DecodingError) -> String {
        func path(_ c: DecodingError.Context) -> String {
            c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let c): return "key \(path(c)).\(key.stringValue) missing"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return "\(path(c)): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

/// Prints `value` as `JSONRecord` writes it, for `--json`.
public func printJSON<T: Encodable>(_ value: T) throws {
    FileHandle.standardOutput.write(try JSONRecord.encoded(value))
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// Prints `value` as one line of JSON (`JSONRecord.line`), as the edge commands' `--json` has it.
public func printJSONLine<T: Encodable>(_ value: T) throws {
    FileHandle.standardOutput.write(try JSONRecord.line(value))
    FileHandle.standardOutput.write(Data("\n".utf8))
}
