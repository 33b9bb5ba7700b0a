import Foundation

/// A frame's samples as the receiver holds them until they are summed: interleaved (re, im)
/// Floats, either an array or the received bytes themselves.
///
/// Why bytes: a cf32 symbols frame's payload already is the Floats (little-endian), and copying
/// every received byte into an array is a cost the base station pays per byte ingested.
public enum ReceivedSamples: Sendable {
    case floats([Float])
    /// Little-endian IEEE float32s, 4 bytes each (a cf32 payload, held without a copy).
    case littleEndianBytes(Data)

    /// Floats held.
    public var count: Int {
        switch self {
        case .floats(let v): return v.count
        case .littleEndianBytes(let d): return d.count / 4
        }
    }

    /// `body` over the Floats: in place when the bytes are aligned and in this machine's byte
    /// order (always, for a received frame on x86-64 and arm64), else through a copy.
    public func withUnsafeFloats<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        switch self {
        case .floats(let v): return try v.withUnsafeBufferPointer(body)
        case .littleEndianBytes(let d):
            let n = d.count / 4
            return try d.withUnsafeBytes { raw in
                #if _endian(little)
                    if let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
                        return try body(UnsafeBufferPointer(start: base.assumingMemoryBound(to: Float.self), count: n))
                    }
                #endif
                let copy = (0..<n).map {
                    Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)))
                }
                return try copy.withUnsafeBufferPointer(body)
            }
        }
    }
}
