import Foundation
import Numerics

/// Why a `.npy` file could not be read or written.
public enum NumpyError: Error, Equatable, CustomStringConvertible {
    /// The file could not be read or written (`reason` says why).
    case unreadable(path: String, reason: String)
    /// The file does not start with `\x93NUMPY`.
    case badMagic(path: String)
    /// A format version other than 1.0, 2.0 or 3.0.
    case unsupportedVersion(path: String, major: UInt8)
    /// The header dictionary is truncated or malformed.
    case badHeader(path: String, reason: String)
    /// A dtype this reader (or the caller) does not accept.
    case wrongDType(path: String, found: String, expected: String)
    /// Fortran (column-major) order, which is not read.
    case fortranOrder(path: String)
    /// A shape the caller cannot use (`expected` describes what it needs).
    case wrongShape(path: String, found: [Int], expected: String)
    /// The data does not hold exactly the bytes the header's shape and dtype need.
    case wrongSize(path: String, expectedBytes: Int, foundBytes: Int)
    /// Element `index` (C order) is NaN or infinite where the caller needs finite values.
    case nonFinite(path: String, index: Int)

    /// The message, starting with the path.
    public var description: String {
        switch self {
        case .unreadable(let p, let r): return "\(p): cannot read: \(r)"
        case .badMagic(let p): return "\(p): not a NumPy .npy file (magic string \\x93NUMPY missing)"
        case .unsupportedVersion(let p, let v): return "\(p): .npy format version \(v) is not supported (1, 2 or 3)"
        case .badHeader(let p, let r): return "\(p): malformed .npy header: \(r)"
        case .wrongDType(let p, let f, let e): return "\(p): dtype is '\(f)', expected \(e)"
        case .fortranOrder(let p): return "\(p): array is in Fortran order; save it in C order (np.ascontiguousarray)"
        case .wrongShape(let p, let f, let e): return "\(p): shape \(f) is not \(e)"
        case .wrongSize(let p, let e, let f): return "\(p): data holds \(f) bytes, the header's shape needs \(e)"
        case .nonFinite(let p, let i): return "\(p): element \(i) is NaN or infinite"
        }
    }
}

/// A NumPy `.npy` array of complex64 or float32, C order (format versions 1.0–3.0).
///
/// Reading accepts little-endian complex64 (`<c8`), complex128 (`<c16`, narrowed), float32 (`<f4`)
/// and float64 (`<f8`); writing emits version 1.0 (2.0 when the header needs it).
public struct NumpyArray: Equatable, Sendable {
    /// The element types kept in memory (and written); the raw value is NumPy's `descr`.
    public enum DType: String, Sendable {
        case complex64 = "<c8"
        case float32 = "<f4"
    }
    /// The dimensions, C order (the last varies fastest).
    public var shape: [Int]
    /// Which of `complexValues` and `realValues` holds the data.
    public var dtype: DType
    /// Complex data (complex64 arrays), C order.
    public var complexValues: [Complex<Float>]
    /// Real data (float32 arrays), C order.
    public var realValues: [Float]

    /// A complex64 array; `complex` holds shape's product of values in C order.
    public init(shape: [Int], complex: [Complex<Float>]) {
        precondition(shape.reduce(1, *) == complex.count, "shape and data disagree")
        self.shape = shape
        dtype = .complex64
        complexValues = complex
        realValues = []
    }

    /// A float32 array; `real` holds shape's product of values in C order.
    public init(shape: [Int], real: [Float]) {
        precondition(shape.reduce(1, *) == real.count, "shape and data disagree")
        self.shape = shape
        dtype = .float32
        complexValues = []
        realValues = real
    }

    /// The file's bytes: magic, version, header length, a dict header padded to 64 bytes, data.
    public func encoded() -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
        // As NumPy ≥ 1.23 writes it: room for the first axis to grow to 21 digits, then padding
        // to a 64-byte boundary (a whole 64 when already aligned), then a newline.
        if let first = shape.first { header += String(repeating: " ", count: max(0, 21 - String(first).count)) }
        let v1 = header.utf8.count + 12 + 1 < 65536
        let prefix = v1 ? 10 : 12
        let padding = 64 - (prefix + header.utf8.count + 1) % 64
        header += String(repeating: " ", count: padding) + "\n"
        var out = Data([0x93] + Array("NUMPY".utf8) + [v1 ? 1 : 2, 0])
        let length = header.utf8.count
        if v1 {
            out.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        } else {
            out.append(contentsOf: (0..<4).map { UInt8((length >> (8 * $0)) & 0xFF) })
        }
        out.append(contentsOf: Array(header.utf8))
        switch dtype {
        case .complex64: complexValues.withUnsafeBytes { out.append(contentsOf: $0) }
        case .float32: realValues.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Writes atomically (a temporary file renamed into place), so a failure leaves no partial file.
    public func write(to path: String) throws {
        do {
            try encoded().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw NumpyError.unreadable(path: path, reason: "cannot write: \(error.localizedDescription)")
        }
    }

    /// Reads and validates a file. `path` only labels errors when `data` is given.
    public static func read(path: String, data: Data? = nil) throws -> NumpyArray {
        let bytes: [UInt8]
        if let data {
            bytes = Array(data)
        } else {
            guard let d = FileManager.default.contents(atPath: path) else {
                throw NumpyError.unreadable(path: path, reason: "no such file or not readable")
            }
            bytes = Array(d)
        }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw NumpyError.badMagic(path: path)
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else {
                throw NumpyError.badHeader(path: path, reason: "truncated before header length")
            }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw NumpyError.unsupportedVersion(path: path, major: major)
        }
        guard headerStart + headerLength <= bytes.count else {
            throw NumpyError.badHeader(
                path: path, reason: "header length \(headerLength) runs past the end of the file")
        }
        guard
            let header = String(
                bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1)
        else {
            throw NumpyError.badHeader(path: path, reason: "header is not text")
        }
        let fields = try parseHeader(header, path: path)
        let dataStart = headerStart + headerLength
        var count = 1
        for d in fields.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw NumpyError.badHeader(path: path, reason: "shape \(fields.shape) is too large")
            }
            count = product
        }
        let payload = bytes.count - dataStart
        let itemSize: Int
        switch fields.descr {
        case "<c8", "|c8": itemSize = 8
        case "<c16": itemSize = 16
        case "<f4": itemSize = 4
        case "<f8": itemSize = 8
        default:
            throw NumpyError.wrongDType(
                path: path, found: fields.descr, expected: "complex64 '<c8' (or '<c16', '<f4', '<f8')")
        }
        guard !fields.fortranOrder else { throw NumpyError.fortranOrder(path: path) }
        let (expected, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow else { throw NumpyError.badHeader(path: path, reason: "shape \(fields.shape) is too large") }
        guard payload == expected else {
            throw NumpyError.wrongSize(path: path, expectedBytes: expected, foundBytes: payload)
        }
        return bytes.withUnsafeBytes { raw -> NumpyArray in
            let base = raw.baseAddress! + dataStart
            func load<T>(_ i: Int, _: T.Type) -> T {
                base.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
            }
            switch fields.descr {
            case "<c8", "|c8":
                return NumpyArray(
                    shape: fields.shape,
                    complex: (0..<count).map { Complex(load(2 * $0, Float.self), load(2 * $0 + 1, Float.self)) })
            case "<c16":
                return NumpyArray(
                    shape: fields.shape,
                    complex: (0..<count).map {
                        Complex(Float(load(2 * $0, Double.self)), Float(load(2 * $0 + 1, Double.self)))
                    })
            case "<f4":
                return NumpyArray(shape: fields.shape, real: (0..<count).map { load($0, Float.self) })
            default:
                return NumpyArray(shape: fields.shape, real: (0..<count).map { Float(load($0, Double.self)) })
            }
        }
    }

    /// Parses `{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }`.
    static func parseHeader(_ text: String, path: String) throws -> (descr: String, fortranOrder: Bool, shape: [Int]) {
        func value(of key: String) throws -> Substring {
            guard let r = text.range(of: "'\(key)'") else {
                throw NumpyError.badHeader(path: path, reason: "no '\(key)' entry")
            }
            var rest = text[r.upperBound...].drop { $0 == " " }
            guard rest.first == ":" else { throw NumpyError.badHeader(path: path, reason: "no ':' after '\(key)'") }
            rest = rest.dropFirst().drop { $0 == " " }
            return rest
        }
        let d = try value(of: "descr")
        guard d.first == "'", let end = d.dropFirst().firstIndex(of: "'") else {
            throw NumpyError.badHeader(path: path, reason: "descr is not a quoted string")
        }
        let descr = String(d[d.index(after: d.startIndex)..<end])
        let f = try value(of: "fortran_order")
        let fortran: Bool
        if f.hasPrefix("False") {
            fortran = false
        } else if f.hasPrefix("True") {
            fortran = true
        } else {
            throw NumpyError.badHeader(path: path, reason: "fortran_order is neither True nor False")
        }
        let s = try value(of: "shape")
        guard s.first == "(", let close = s.firstIndex(of: ")") else {
            throw NumpyError.badHeader(path: path, reason: "shape is not a tuple")
        }
        let inner = s[s.index(after: s.startIndex)..<close]
        var shape = [Int]()
        for part in inner.split(separator: ",") {
            let t = part.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let v = Int(t), v >= 0 else {
                throw NumpyError.badHeader(path: path, reason: "shape entry '\(t)' is not a non-negative integer")
            }
            shape.append(v)
        }
        return (descr, fortran, shape)
    }
}
