/// ggml tensor types this project reads and writes (values as in ggml's `enum ggml_type`).
public enum TensorType: UInt32, Sendable, CaseIterable {
    case f32 = 0
    case f16 = 1
    case q4_0 = 2
    case q4_1 = 3
    case q8_0 = 8
    case bf16 = 30

    /// Elements per block and bytes per block.
    ///
    /// Layouts (ggml-common.h): Q4_0 = f16 d + 16 bytes of nibbles, x = (q − 8)·d; Q4_1 = f16 d,
    /// f16 m + 16 bytes, x = q·d + m; Q8_0 = f16 d + 32 × int8, x = q·d. Within a 32-element
    /// block the low nibbles of the 16 bytes are elements 0…15, the high nibbles 16…31.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q8_0: return 32
        }
    }

    public var bytesPerBlock: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q8_0: return 34
        }
    }

    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q8_0: return "Q8_0"
        }
    }

    /// Bytes of `count` elements (count a multiple of the block size), nil on overflow.
    public func byteCount(elements count: Int) -> Int? {
        guard count % blockSize == 0 else { return nil }
        let (bytes, overflow) = (count / blockSize).multipliedReportingOverflow(by: bytesPerBlock)
        return overflow ? nil : bytes
    }

    /// Dequantises `count` elements from `src` (raw tensor bytes) into `dst`.
    public func dequantize(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>) {
        switch self {
        case .f32:
            dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            for i in 0..<count { dst[i] = Float(halfBits: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
        case .bf16:
            for i in 0..<count {
                let bits = UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16
                dst[i] = Float(bitPattern: bits)
            }
        case .q8_0:
            for b in 0..<(count / 32) {
                let block = src + b * 34
                let d = Float(halfBits: block.loadUnaligned(as: UInt16.self))
                let q = (block + 2).assumingMemoryBound(to: Int8.self)
                let out = dst + b * 32
                for j in 0..<32 { out[j] = Float(q[j]) * d }
            }
        case .q4_0:
            for b in 0..<(count / 32) {
                let block = src + b * 18
                let d = Float(halfBits: block.loadUnaligned(as: UInt16.self))
                let q = (block + 2).assumingMemoryBound(to: UInt8.self)
                let out = dst + b * 32
                for j in 0..<16 {
                    out[j] = Float(Int(q[j] & 0x0F) - 8) * d
                    out[j + 16] = Float(Int(q[j] >> 4) - 8) * d
                }
            }
        case .q4_1:
            for b in 0..<(count / 32) {
                let block = src + b * 20
                let d = Float(halfBits: block.loadUnaligned(as: UInt16.self))
                let m = Float(halfBits: block.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
                let q = (block + 4).assumingMemoryBound(to: UInt8.self)
                let out = dst + b * 32
                for j in 0..<16 {
                    out[j] = Float(q[j] & 0x0F) * d + m
                    out[j + 16] = Float(q[j] >> 4) * d + m
                }
            }
        }
    }
}

extension Float {
    /// The value of an IEEE 754 binary16 bit pattern.
    @inline(__always)
    init(halfBits bits: UInt16) {
        self = Float(Float16(bitPattern: bits))
    }
}
