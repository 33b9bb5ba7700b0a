import Foundation

/// Builds a GGUF v3 file: metadata in insertion order, tensors laid out at `alignment`.
/// Used for the tests' tiny generated models and for exporting LoRA adapters.
public struct GGUFWriter {
    public var alignment = 32
    public private(set) var metadata: [(String, GGUFValue)] = []
    private(set) var tensors: [(name: String, dims: [Int], type: TensorType, data: [UInt8])] = []

    public init() {}

    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let i = metadata.firstIndex(where: { $0.0 == key }) {
            metadata[i].1 = value
        } else {
            metadata.append((key, value))
        }
    }

    /// Adds a tensor from raw bytes of `type` (dims fastest first, as in ggml).
    public mutating func addTensor(_ name: String, dims: [Int], type: TensorType, raw: [UInt8]) throws {
        let count = dims.reduce(1, *)
        guard let bytes = type.byteCount(elements: count), bytes == raw.count, dims[0] % type.blockSize == 0 else {
            throw GGUFError(
                path: name, offset: nil,
                problem:
                    "tensor data is \(raw.count) bytes, \(type.name) × \(dims) needs "
                    + "\(type.byteCount(elements: count).map(String.init) ?? "whole blocks")"
            )
        }
        guard !tensors.contains(where: { $0.name == name }) else {
            throw GGUFError(path: name, offset: nil, problem: "tensor added twice")
        }
        tensors.append((name, dims, type, raw))
    }

    /// Adds a Float tensor, stored as F32 or F16.
    public mutating func addTensor(_ name: String, dims: [Int], floats: [Float], as type: TensorType = .f32) throws {
        precondition(floats.count == dims.reduce(1, *), "tensor '\(name)': \(floats.count) values for dims \(dims)")
        var raw = [UInt8]()
        switch type {
        case .f32: floats.withUnsafeBytes { raw = Array($0) }
        case .f16: floats.map { Float16($0).bitPattern }.withUnsafeBytes { raw = Array($0) }
        case .bf16:
            // Round to nearest even on the dropped 16 bits.
            let halves = floats.map { f -> UInt16 in
                let b = f.bitPattern
                return UInt16(truncatingIfNeeded: (b &+ 0x7FFF &+ ((b >> 16) & 1)) >> 16)
            }
            halves.withUnsafeBytes { raw = Array($0) }
        case .q8_0: raw = Quantizer.q8_0(floats)
        default:
            throw GGUFError(
                path: name, offset: nil,
                problem: "writing \(type.name) from floats is not supported (F32, F16, BF16, Q8_0)")
        }
        try addTensor(name, dims: dims, type: type, raw: raw)
    }

    /// The file's bytes.
    public func encoded() -> Data {
        var out = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) {
            u64(UInt64(s.utf8.count))
            out.append(contentsOf: Array(s.utf8))
        }
        func value(_ v: GGUFValue) { Self.append(v, to: &out) }
        out.append(contentsOf: Array("GGUF".utf8))
        u32(3)
        u64(UInt64(tensors.count))
        var meta = metadata
        if alignment != 32, !meta.contains(where: { $0.0 == "general.alignment" }) {
            meta.append(("general.alignment", .uint32(UInt32(alignment))))
        }
        u64(UInt64(meta.count))
        for (k, v) in meta {
            string(k)
            u32(v.type.rawValue)
            value(v)
        }
        var offset = 0
        var offsets = [Int]()
        for t in tensors {
            offsets.append(offset)
            offset = (offset + t.data.count + alignment - 1) / alignment * alignment
        }
        for (t, o) in zip(tensors, offsets) {
            string(t.name)
            u32(UInt32(t.dims.count))
            for d in t.dims { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(o))
        }
        func pad() { while out.count % alignment != 0 { out.append(0) } }
        pad()
        for t in tensors {
            out.append(contentsOf: t.data)
            pad()
        }
        return out
    }

    /// A metadata value's bytes as a GGUF v3 file stores them (without its type tag).
    public static func append(_ v: GGUFValue, to out: inout Data) {
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        switch v {
        case .uint8(let x): out.append(x)
        case .int8(let x): out.append(UInt8(bitPattern: x))
        case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
        case .int16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
        case .uint32(let x): u32(x)
        case .int32(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
        case .float32(let x): u32(x.bitPattern)
        case .bool(let x): out.append(x ? 1 : 0)
        case .string(let x):
            u64(UInt64(x.utf8.count))
            out.append(contentsOf: Array(x.utf8))
        case .uint64(let x): u64(x)
        case .int64(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
        case .float64(let x): u64(x.bitPattern)
        case .array(let t, let items):
            u32(t.rawValue)
            u64(UInt64(items.count))
            for i in items { append(i, to: &out) }
        }
    }

    /// Writes atomically: a failure leaves no partial file.
    public func write(to path: String) throws {
        do { try encoded().write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw GGUFError(path: path, offset: nil, problem: "cannot write: \(error.localizedDescription)")
        }
    }
}

/// Reference quantisers (ggml's round-to-nearest schemes).
enum Quantizer {
    /// Q8_0: per 32 values d = max|x|/127, q = round(x/d).
    static func q8_0(_ x: [Float]) -> [UInt8] {
        precondition(x.count % 32 == 0)
        var out = [UInt8]()
        out.reserveCapacity(x.count / 32 * 34)
        for b in 0..<(x.count / 32) {
            let block = x[(b * 32)..<(b * 32 + 32)]
            let amax = block.map { abs($0) }.max()!
            let d = amax / 127
            let inv: Float = d != 0 ? 1 / d : 0
            withUnsafeBytes(of: Float16(d).bitPattern.littleEndian) { out.append(contentsOf: $0) }
            for v in block { out.append(UInt8(bitPattern: Int8((v * inv).rounded(.toNearestOrAwayFromZero)))) }
        }
        return out
    }
}
