import Numerics
import Foundation

/// Why a `.npy` file could not be read or written.
public enum NumpyError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case badMagic(path: String)
    case unsupportedVersion(path: String, major: UInt8)
    case badHeader(path: String, reason: String)
    case wrongDType(path: String, found: String, expected: String)
    case fortranOrder(path: String)
    case wrongShape(path: String, found: [Int], expected: String)
    case wrongSize(path: String, expectedBytes: Int, foundBytes: Int)
    case nonFinite(path: String, index: Int)

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
    public enum DType: String, Sendable { case complex64 = "<c8", float32 = "<f4" }
    public var shape: [Int]
    public var dtype: DType
    /// Complex data (complex64 arrays), C order.
    public var complexValues: [Complex<Float>]
    /// Real data (float32 arrays), C order.
    public var realValues: [Float]

    public init(shape: [Int], complex: [Complex<Float>]) {
        precondition(shape.reduce(1, *) == complex.count, "shape and data disagree")
        self.shape = shape
        dtype = .complex64
        complexValues = complex
        realValues = []
    }

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
        if let data { bytes = Array(data) } else {
            guard let d = FileManager.default.contents(atPath: path) else {
                throw NumpyError.unreadable(path: path, reason: "no such file or not readable")
            }
            bytes = Array(d)
        }
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw NumpyError.badMagic(path: path)
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NumpyError.badHeader(path: path, reason: "truncated before header length") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw NumpyError.unsupportedVersion(path: path, major: major)
        }
        guard headerStart + headerLength <= bytes.count else {
            throw NumpyError.badHeader(path: path, reason: "header length \(headerLength) runs past the end of the file")
        }
        guard let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw NumpyError.badHeader(path: path, reason: "header is not text")
        }
        let fields = try parseHeader(header, path: path)
        let dataStart = headerStart + headerLength
        var count = 1
        for d in fields.shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw NumpyError.badHeader(path: path, reason: "shape \(fields.shape) is too large") }
            count = product
        }
        let payload = bytes.count - dataStart
        let itemSize: Int
        switch fields.descr {
        case "<c8", "|c8": itemSize = 8
        case "<c16": itemSize = 16
        case "<f4": itemSize = 4
        case "<f8": itemSize = 8
        default: throw NumpyError.wrongDType(path: path, found: fields.descr, expected: "complex64 '<c8' (or '<c16', '<f4', '<f8')")
        }
        guard !fields.fortranOrder else { throw NumpyError.fortranOrder(path: path) }
        let (expected, overflow) = count.multipliedReportingOverflow(by: itemSize)
        guard !overflow else { throw NumpyError.badHeader(path: path, reason: "shape \(fields.shape) is too large") }
        guard payload == expected else {
            throw NumpyError.wrongSize(path: path, expectedBytes: expected, foundBytes: payload)
        }
        return bytes.withUnsafeBytes { raw -> NumpyArray in
            let base = raw.baseAddress! + dataStart
            func load<T>(_ i: Int, _: T.Type) -> T { base.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self) }
            switch fields.descr {
            case "<c8", "|c8":
                return NumpyArray(shape: fields.shape, complex: (0..<count).map { Complex(load(2 * $0, Float.self), load(2 * $0 + 1, Float.self)) })
            case "<c16":
                return NumpyArray(shape: fields.shape, complex: (0..<count).map { Complex(Float(load(2 * $0, Double.self)), Float(load(2 * $0 + 1, Double.self))) })
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
            guard let r = text.range(of: "'\(key)'") else { throw NumpyError.badHeader(path: path, reason: "no '\(key)' entry") }
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
        if f.hasPrefix("False") { fortran = false } else if f.hasPrefix("True") { fortran = true } else {
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
            guard let v = Int(t), v >= 0 else { throw NumpyError.badHeader(path: path, reason: "shape entry '\(t)' is not a non-negative integer") }
            shape.append(v)
        }
        return (descr, fortran, shape)
    }
}

extension ChannelTensor {
    /// Reads channels saved as complex64 `.npy` of shape (N_sc, K, N_r, N_t), C order.
    public static func load(npy path: String) throws -> ChannelTensor {
        let array = try NumpyArray.read(path: path)
        guard array.dtype == .complex64 else {
            throw NumpyError.wrongDType(path: path, found: array.dtype.rawValue, expected: "complex64 '<c8'")
        }
        guard array.shape.count == 4, array.shape.allSatisfy({ $0 > 0 }) else {
            throw NumpyError.wrongShape(path: path, found: array.shape, expected: "(N_sc, K, N_r, N_t) with every dimension > 0")
        }
        let (N, K, R, T) = (array.shape[0], array.shape[1], array.shape[2], array.shape[3])
        var tensor = ChannelTensor(subcarriers: N, devices: K, receiveAntennas: R, transmitAntennas: T)
        var i = 0
        for n in 0..<N { for k in 0..<K { for r in 0..<R { for t in 0..<T {
            let h = array.complexValues[i]
            guard h.real.isFinite && h.imaginary.isFinite else { throw NumpyError.nonFinite(path: path, index: i) }
            tensor[n, k, r, t] = h
            i += 1
        } } } }
        return tensor
    }

    /// The channels as complex64 `.npy` of shape (N_sc, K, N_r, N_t), C order.
    public func numpyArray() -> NumpyArray {
        var values = [Complex<Float>]()
        values.reserveCapacity(elements.count)
        for n in 0..<subcarriers { for k in 0..<devices { for r in 0..<receiveAntennas { for t in 0..<transmitAntennas {
            values.append(self[n, k, r, t])
        } } } }
        return NumpyArray(shape: [subcarriers, devices, receiveAntennas, transmitAntennas], complex: values)
    }

    /// Writes the channels atomically as `.npy`.
    public func save(npy path: String) throws { try numpyArray().write(to: path) }
}
