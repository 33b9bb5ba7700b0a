import CZlib

/// CRC-32 (IEEE 802.3: polynomial 0x04C11DB7 reflected, initial and final XOR 0xFFFFFFFF), the
/// checksum zlib, Ethernet and PNG use; "123456789" → 0xCBF43926. Computed by zlib's `crc32`
/// (several GB/s: every frame in and out passes through it).
public enum CRC32 {
    /// Continues a running CRC over more bytes (start from 0).
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = UInt(crc)
        var rest = bytes
        // zlib takes a 32-bit length.
        while !rest.isEmpty {
            let n = min(rest.count, Int(UInt32.max >> 1))
            c = CZlib.crc32(c, rest.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt32(n))
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
        return UInt32(truncatingIfNeeded: c)
    }

    /// The CRC of A followed by B from CRC(A), CRC(B) and B's length.
    public static func combine(_ a: UInt32, _ b: UInt32, length: Int) -> UInt32 {
        UInt32(truncatingIfNeeded: CZlib.crc32_combine(UInt(a), UInt(b), off_t(length)))
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        Array(bytes).withUnsafeBytes { update(0, $0) }
    }
}
