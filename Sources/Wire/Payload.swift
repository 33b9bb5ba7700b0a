import Foundation

/// Little-endian binary encoder for frame headers and control payloads.
public struct PayloadWriter: Sendable {
    public private(set) var data = Data()
    public init() {}

    public mutating func bytes(_ b: [UInt8]) { data.append(contentsOf: b) }
    public mutating func u8(_ v: UInt8) { data.append(v) }
    public mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    public mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    public mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
    public mutating func f32(_ v: Float) { u32(v.bitPattern) }
    public mutating func f64(_ v: Double) { u64(v.bitPattern) }
    public mutating func int(_ v: Int) { u64(UInt64(bitPattern: Int64(v))) }
    public mutating func string(_ s: String) {
        u32(UInt32(s.utf8.count))
        data.append(contentsOf: Array(s.utf8))
    }
    /// A count then each string.
    public mutating func strings(_ v: [String]) {
        u32(UInt32(v.count))
        for s in v { string(s) }
    }
    /// A count then the Floats.
    public mutating func floats(_ v: [Float]) {
        u32(UInt32(v.count))
        v.withUnsafeBytes { data.append(contentsOf: $0) } // little-endian hosts only (x86-64, arm64)
    }
    public mutating func doubles(_ v: [Double]) {
        u32(UInt32(v.count))
        for x in v { f64(x) }
    }
}

/// Bounds-checked little-endian decoder; every failure is a `FrameError` with the byte offset.
public struct PayloadReader: Sendable {
    let data: Data
    public private(set) var offset = 0
    public init(_ data: Data) { self.data = data }

    public var remaining: Int { data.count - offset }

    mutating func take(_ n: Int, _ what: String) throws -> Data {
        guard n >= 0, n <= remaining else {
            throw FrameError(offset: offset, problem: "\(what) needs \(n) bytes, \(remaining) left")
        }
        defer { offset += n }
        return data.subdata(in: (data.startIndex + offset)..<(data.startIndex + offset + n))
    }

    func load<T: FixedWidthInteger>(_ d: Data, _: T.Type) -> T {
        d.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(as: T.self)) }
    }

    public mutating func bytes(_ n: Int) throws -> [UInt8] { Array(try take(n, "bytes")) }
    public mutating func u8() throws -> UInt8 {
        let d = try take(1, "u8")
        return d[d.startIndex]
    }
    public mutating func u16() throws -> UInt16 { load(try take(2, "u16"), UInt16.self) }
    public mutating func u32() throws -> UInt32 { load(try take(4, "u32"), UInt32.self) }
    public mutating func u64() throws -> UInt64 { load(try take(8, "u64"), UInt64.self) }
    public mutating func f32() throws -> Float { Float(bitPattern: try u32()) }
    public mutating func f64() throws -> Double { Double(bitPattern: try u64()) }
    public mutating func int() throws -> Int { Int(Int64(bitPattern: try u64())) }
    public mutating func string() throws -> String {
        let n = Int(try u32())
        guard let s = String(data: try take(n, "string"), encoding: .utf8) else {
            throw FrameError(offset: offset - n, problem: "string is not UTF-8")
        }
        return s
    }
    /// A count then each string; the count is held to what the bytes left can hold (4 each at least)
    /// before anything is allocated.
    public mutating func strings() throws -> [String] {
        let n = Int(try u32())
        guard n * 4 <= remaining else {
            throw FrameError(offset: offset, problem: "\(n) strings need at least \(n * 4) bytes, \(remaining) left")
        }
        return try (0..<n).map { _ in try string() }
    }
    public mutating func floats() throws -> [Float] {
        let n = Int(try u32())
        let d = try take(n * 4, "\(n) floats")
        return d.withUnsafeBytes { raw in (0..<n).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) } }
    }
    public mutating func doubles() throws -> [Double] {
        let n = Int(try u32())
        guard n * 8 <= remaining else {
            throw FrameError(offset: offset, problem: "\(n) doubles need \(n * 8) bytes, \(remaining) left")
        }
        return try (0..<n).map { _ in try f64() }
    }
    /// A one-byte code of a closed set: an unknown code is a `FrameError` naming `what` and the code.
    public mutating func code<E: RawRepresentable>(_: E.Type, _ what: String) throws -> E where E.RawValue == UInt8 {
        let at = offset
        let raw = try u8()
        guard let value = E(rawValue: raw) else { throw FrameError(offset: at, problem: "unknown \(what) code \(raw)") }
        return value
    }

    /// Throws unless every byte was consumed.
    public func finish(_ what: String) throws {
        guard remaining == 0 else {
            throw FrameError(offset: offset, problem: "\(remaining) unexpected bytes after the \(what) payload")
        }
    }
}
