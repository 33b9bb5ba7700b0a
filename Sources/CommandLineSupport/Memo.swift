import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Results of deterministic computations, kept on disk and looked up by everything they depend
/// on, so that work repeated across runs is done once (the experiment suite's runs share their
/// start: every run of a seed evaluates the same base model, and variants that differ only in the
/// air train the same first local steps from the same fresh adapter).
///
/// A lookup compares the stored key with the asked one byte for byte: the file name is only a
/// hash of it, so two keys that collide there are told apart. Anything unusable (torn, altered,
/// another format, another key under the same name, larger than the caller allows) is a miss with
/// its reason, never a wrong result; the caller recomputes and stores over it. Entries are written
/// durably (`DurableFile`), so concurrent writers of one key leave one complete entry.
///
/// File layout (little-endian): magic `AIRFLMEMO1` (10 bytes), key length (UInt32), key bytes,
/// value length (UInt64), value bytes, FNV-1a-64 of everything before it (UInt64).
public struct Memo: Sendable {
    public let directory: String

    public init(directory: String) throws {
        self.directory = directory
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw CommandError("memo directory \(directory): \(error.localizedDescription)")
        }
    }

    /// What a lookup found.
    public enum Lookup: Equatable {
        case hit([UInt8])
        /// Nothing stored under this key.
        case absent
        /// An entry was there but cannot be used (named in `reason`); recompute.
        case unusable(reason: String)
    }

    static let magic = Array("AIRFLMEMO1".utf8)

    /// The entry's file: `<kind>-<FNV-1a-64 of the key>.memo`.
    public func path(kind: String, key: [UInt8]) -> String {
        directory + "/" + kind + "-" + String(format: "%016llx", FNV1a.hash(key)) + ".memo"
    }

    /// The value stored under `key`, if its entry is complete, intact and holds this very key and
    /// a value of at most `maxValueBytes` (checked before anything that size is read).
    public func lookup(kind: String, key: [UInt8], maxValueBytes: Int) -> Lookup {
        let file = path(kind: kind, key: key)
        guard let handle = FileHandle(forReadingAtPath: file) else { return .absent }
        defer { try? handle.close() }
        let expected = Self.magic.count + 4 + key.count + 8
        guard let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int else {
            return .unusable(reason: "\(file): cannot read its size")
        }
        guard size >= expected + 8 else {
            return .unusable(reason: "\(file): \(size) bytes, shorter than its header for this key (\(expected + 8))")
        }
        guard size - expected - 8 <= maxValueBytes else {
            return .unusable(
                reason:
                    "\(file): a value of \(size - expected - 8) bytes, more than the \(maxValueBytes) this entry can "
                    + "hold"
            )
        }
        guard let data = try? handle.readToEnd(), data.count == size else {
            return .unusable(reason: "\(file): read short")
        }
        let bytes = [UInt8](data)
        guard Array(bytes[0..<Self.magic.count]) == Self.magic else {
            return .unusable(reason: "\(file): not a memo entry (bad magic)")
        }
        var offset = Self.magic.count
        let keyCount = Int(Self.readUInt32(bytes, &offset))
        guard keyCount == key.count, Array(bytes[offset..<(offset + keyCount)]) == key else {
            return .unusable(reason: "\(file): holds another key (a hash collision or another format version)")
        }
        offset += keyCount
        let valueCount = Self.readUInt64(bytes, &offset)
        guard valueCount == UInt64(size - expected - 8) else {
            return .unusable(reason: "\(file): says \(valueCount) value bytes, holds \(size - expected - 8)")
        }
        let value = Array(bytes[offset..<(offset + Int(valueCount))])
        offset += Int(valueCount)
        var checksumOffset = offset
        guard Self.readUInt64(bytes, &checksumOffset) == FNV1a.hash(bytes[0..<offset]) else {
            return .unusable(reason: "\(file): checksum mismatch (altered or torn)")
        }
        return .hit(value)
    }

    /// Stores `value` under `key`, replacing any entry of that name.
    public func store(kind: String, key: [UInt8], value: [UInt8]) throws {
        var bytes = Self.magic
        bytes.reserveCapacity(bytes.count + 4 + key.count + 8 + value.count + 8)
        Self.append(UInt32(key.count), to: &bytes)
        bytes += key
        Self.append(UInt64(value.count), to: &bytes)
        bytes += value
        Self.append(FNV1a.hash(bytes), to: &bytes)
        try DurableFile.write(Data(bytes), to: path(kind: kind, key: key))
    }

    static func append<T: FixedWidthInteger>(_ v: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
    }

    static func readUInt32(_ b: [UInt8], _ o: inout Int) -> UInt32 {
        defer { o += 4 }
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[o + $1]) << (8 * $1) }
    }

    static func readUInt64(_ b: [UInt8], _ o: inout Int) -> UInt64 {
        defer { o += 8 }
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[o + $1]) << (8 * $1) }
    }
}

/// Builds a memo key: each field tagged with its name and length, so no two different field lists
/// give the same bytes.
public struct MemoKey {
    public private(set) var bytes: [UInt8] = []

    public init(_ kind: String) { add("kind", Array(kind.utf8)) }

    public mutating func add(_ name: String, _ field: [UInt8]) {
        bytes += Array(name.utf8)
        bytes.append(0x3D) // "="
        Memo.append(UInt64(field.count), to: &bytes)
        bytes += field
    }

    public mutating func add(_ name: String, _ text: String) { add(name, Array(text.utf8)) }

    public mutating func add<T: FixedWidthInteger>(_ name: String, _ v: T) {
        var b: [UInt8] = []
        Memo.append(v, to: &b)
        add(name, b)
    }

    public mutating func add(_ name: String, _ v: Double) { add(name, v.bitPattern) }
}

/// FNV-1a, 64-bit: an identifier for matching bytes, not a security checksum.
public enum FNV1a {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325

    /// The hash of `bytes`, continuing from `hash` (the offset basis: from the start).
    public static func hash<C: Sequence>(_ bytes: C, continuing hash: UInt64 = offsetBasis) -> UInt64
    where C.Element == UInt8 {
        var hash = hash
        for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return hash
    }

    /// The hash of a file's bytes (read in 1 MiB pieces) and its size; nil when it cannot be read.
    public static func hash(file path: String) -> (hash: UInt64, bytes: Int)? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hash = offsetBasis
        var count = 0
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hash = chunk.withUnsafeBytes { Self.hash($0, continuing: hash) }
            count += chunk.count
        }
        return (hash, count)
    }
}
