// Decoding helpers for configuration tables (TOML or JSON through `Decodable`): strict keys,
// reals that may be written as integers, settings with defaults, closed sets of named choices.

/// A coding key that matches any string, to list what a table really holds.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// Throws a `ConfigurationError` for the first key (in sorted order) of the decoder's table that
/// is not in `known`; its key is the full dotted path (`channel.bogus`) and its problem lists the
/// known keys.
public func rejectUnknownKeys(_ decoder: Decoder, known: [String]) throws {
    let all = try decoder.container(keyedBy: AnyCodingKey.self).allKeys.map(\.stringValue)
    let path = decoder.codingPath.map(\.stringValue).joined(separator: ".")
    for key in all.sorted() where !known.contains(key) {
        let full = path.isEmpty ? key : "\(path).\(key)"
        throw ConfigurationError(key: full, problem: "unknown key (known: \(known.joined(separator: ", ")))")
    }
}

extension KeyedDecodingContainer {
    /// A real number that may be written as an integer (TOML's `5` for `5.0`).
    public func decodeNumberIfPresent(forKey key: Key) throws -> Double? {
        guard contains(key) else { return nil }
        if let d = try? decode(Double.self, forKey: key) { return d }
        if let i = try? decode(Int.self, forKey: key) { return Double(i) }
        return try decode(Double.self, forKey: key) // rethrows the type mismatch with its coding path
    }

    /// A list of reals that may be written as integers.
    public func decodeNumbersIfPresent(forKey key: Key) throws -> [Double]? {
        guard contains(key) else { return nil }
        if let d = try? decode([Double].self, forKey: key) { return d }
        if let i = try? decode([Int].self, forKey: key) { return i.map(Double.init) }
        return try decode([Double].self, forKey: key)
    }

    /// Overwrites `value` with the key's value when the key is present (settings with defaults).
    /// Through the generic entry point on purpose: TOMLKit's concrete `decodeIfPresent(Int.self, …)`
    /// reports a value of the wrong type as a missing key.
    public func update<T: Decodable>(_ value: inout T, forKey key: Key) throws {
        value = try decodeIfPresent(T.self, forKey: key) ?? value
    }

    /// `update` for a real that may be written as an integer.
    public func update(_ value: inout Double, forKey key: Key) throws {
        value = try decodeNumberIfPresent(forKey: key) ?? value
    }

    /// Overwrites `value` with one of a closed set of `choices` named by the key's string, when
    /// the key is present; any other name is a `ConfigurationError` for `path` (the key as the
    /// file spells it, e.g. `federation.aggregation`) listing the names known.
    public func updateChoice<T>(_ value: inout T, forKey key: Key, path: String, choices: [(name: String, value: T)])
        throws
    {
        guard let name = try decodeIfPresent(String.self, forKey: key) else { return }
        guard let match = choices.first(where: { $0.name == name }) else {
            throw ConfigurationError(
                key: path, problem: "must be \(choices.map(\.name).joined(separator: ", ")); got '\(name)'")
        }
        value = match.value
    }
}

extension CaseIterable where Self: RawRepresentable, Self.RawValue == String {
    /// Every case with its name, for `updateChoice`.
    public static var choices: [(name: String, value: Self)] { allCases.map { ($0.rawValue, $0) } }
}
