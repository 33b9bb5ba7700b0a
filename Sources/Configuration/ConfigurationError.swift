/// A configuration key that is unknown or whose value is out of range. (A value of the wrong
/// type surfaces as the decoder's own `DecodingError`, which carries the coding path.)
public struct ConfigurationError: Error, Equatable, CustomStringConvertible {
    /// The key: relative to its table from `validate()` (e.g. `devices`), the full dotted path for
    /// unknown keys (e.g. `channel.bogus`); scenario loaders prefix the table name.
    public var key: String
    /// What is wrong with it, e.g. `must be at least 1, got 0`.
    public var problem: String

    /// An error for `key` (see `key` for how it is spelled) and its problem.
    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }

    /// `key: problem`.
    public var description: String { "\(key): \(problem)" }
}
