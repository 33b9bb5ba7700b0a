/// A GGUF file that cannot be read, naming the file, where in it and what is wrong.
public struct GGUFError: Error, Equatable, CustomStringConvertible {
    public var path: String
    /// Byte offset where the problem was found (nil when not about a position).
    public var offset: Int?
    public var problem: String
    public init(path: String, offset: Int?, problem: String) {
        self.path = path
        self.offset = offset
        self.problem = problem
    }
    public var description: String { "\(path)\(offset.map { " at byte \($0)" } ?? ""): \(problem)" }
}
