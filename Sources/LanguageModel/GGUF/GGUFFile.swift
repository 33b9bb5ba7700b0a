import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One tensor's entry in a GGUF file.
public struct GGUFTensorInfo: Equatable, Sendable {
    public var name: String
    /// ggml dimensions, fastest first: `dims[0]` is the row length (a numpy array's last axis).
    public var dims: [Int]
    public var type: TensorType
    /// Offset of the data from the start of the file.
    public var fileOffset: Int
    public var byteCount: Int
    public var elementCount: Int { dims.reduce(1, *) }
}

/// A GGUF v2/v3 file, memory-mapped read-only (docs/architecture.md#the-learning-path). Metadata and the tensor table
/// are
/// parsed and validated up front; tensor data stays in the mapping until read.
///
/// Layout: "GGUF", u32 version, u64 tensor count, u64 metadata count, metadata (key string, u32
/// type, value), tensor infos (name, u32 n_dims, u64 dims, u32 type, u64 offset), padding to
/// `general.alignment` (default 32), then the data section; tensor offsets are relative to it.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    public let dataOffset: Int
    private let base: UnsafeRawPointer
    private let size: Int
    private let index: [String: Int]

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw GGUFError(path: path, offset: nil, problem: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw GGUFError(path: path, offset: nil, problem: "cannot stat: \(String(cString: strerror(errno)))")
        }
        size = Int(st.st_size)
        guard size >= 24 else {
            throw GGUFError(path: path, offset: 0, problem: "file is \(size) bytes, too short for a GGUF header")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw GGUFError(path: path, offset: nil, problem: "cannot map: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
        do {
            var r = Reader(base: base, size: size, path: path)
            let magic = try r.bytes(4)
            guard Array(magic) == Array("GGUF".utf8) else {
                throw GGUFError(
                    path: path, offset: 0,
                    problem: "not a GGUF file (magic \(magic.map { String(format: "%02x", $0) }.joined()))")
            }
            version = try r.scalar(UInt32.self)
            guard version == 2 || version == 3 else {
                throw GGUFError(path: path, offset: 4, problem: "GGUF version \(version) is not supported (2 or 3)")
            }
            let tensorCount = try r.count("tensor count")
            let kvCount = try r.count("metadata count")
            (metadata, metadataKeys) = try Self.readMetadata(&r, count: kvCount)
            let align = metadata["general.alignment"]?.int ?? 32
            guard align > 0, align & (align - 1) == 0 else {
                throw GGUFError(path: path, offset: nil, problem: "general.alignment = \(align) is not a power of two")
            }
            alignment = align
            let infos = try Self.readTensorInfos(&r, count: tensorCount)
            dataOffset = (r.offset + align - 1) / align * align
            (tensors, index) = try Self.place(
                infos, dataOffset: dataOffset, alignment: align, fileSize: size, path: path)
        } catch {
            munmap(UnsafeMutableRawPointer(mutating: base), size)
            throw error
        }
    }

    /// The metadata key–value pairs, each key once, and the keys in file order.
    private static func readMetadata(_ r: inout Reader, count: Int) throws -> ([String: GGUFValue], [String]) {
        var meta = [String: GGUFValue]()
        var keys = [String]()
        for _ in 0..<count {
            let at = r.offset
            let key = try r.string()
            let value = try r.value(type: try r.valueType(key: key), key: key)
            guard meta[key] == nil else {
                throw GGUFError(path: r.path, offset: at, problem: "metadata key '\(key)' appears twice")
            }
            meta[key] = value
            keys.append(key)
        }
        return (meta, keys)
    }

    typealias TensorEntry = (name: String, dims: [Int], type: TensorType, relative: Int, at: Int)

    /// The tensor table as written: name, 1…4 dimensions, type, offset relative to the data section.
    private static func readTensorInfos(_ r: inout Reader, count: Int) throws -> [TensorEntry] {
        var infos = [TensorEntry]()
        for _ in 0..<count {
            let at = r.offset
            let name = try r.string()
            let nDims = Int(try r.scalar(UInt32.self))
            guard (1...4).contains(nDims) else {
                throw GGUFError(
                    path: r.path, offset: at, problem: "tensor '\(name)' has \(nDims) dimensions (1…4 allowed)")
            }
            var dims = [Int]()
            for _ in 0..<nDims {
                let d = try r.scalar(UInt64.self)
                guard d > 0, d < (1 << 40) else {
                    throw GGUFError(path: r.path, offset: at, problem: "tensor '\(name)' has dimension \(d)")
                }
                dims.append(Int(d))
            }
            let rawType = try r.scalar(UInt32.self)
            guard let type = TensorType(rawValue: rawType) else {
                throw GGUFError(
                    path: r.path, offset: at,
                    problem:
                        "tensor '\(name)' has ggml type \(rawType), not one of "
                        + "\(TensorType.allCases.map(\.name).joined(separator: ", "))"
                )
            }
            let relative = try r.scalar(UInt64.self)
            guard relative < UInt64(Int.max / 2) else {
                throw GGUFError(path: r.path, offset: at, problem: "tensor '\(name)' has offset \(relative)")
            }
            infos.append((name, dims, type, Int(relative), at))
        }
        return infos
    }

    /// Each tensor's bytes checked to be whole blocks, aligned and inside the file, each name once.
    private static func place(
        _ infos: [TensorEntry], dataOffset: Int, alignment align: Int, fileSize size: Int,
        path: String
    ) throws -> ([GGUFTensorInfo], [String: Int]) {
        var table = [GGUFTensorInfo]()
        var lookup = [String: Int]()
        for info in infos {
            var count = 1
            for d in info.dims {
                let (p, o) = count.multipliedReportingOverflow(by: d)
                guard !o else {
                    throw GGUFError(path: path, offset: info.at, problem: "tensor '\(info.name)' is too large")
                }
                count = p
            }
            guard let bytes = info.type.byteCount(elements: count), info.dims[0] % info.type.blockSize == 0 else {
                throw GGUFError(
                    path: path, offset: info.at,
                    problem:
                        "tensor '\(info.name)': row length \(info.dims[0]) is not a multiple of \(info.type.name)'s "
                        + "block of \(info.type.blockSize)"
                )
            }
            guard info.relative % align == 0 else {
                throw GGUFError(
                    path: path, offset: info.at,
                    problem: "tensor '\(info.name)' data offset \(info.relative) is not aligned to \(align)")
            }
            let start = dataOffset + info.relative
            guard start + bytes <= size else {
                throw GGUFError(
                    path: path, offset: info.at,
                    problem:
                        "tensor '\(info.name)' needs bytes \(start)..<\(start + bytes) but the file ends at \(size) "
                        + "(truncated?)"
                )
            }
            guard lookup[info.name] == nil else {
                throw GGUFError(path: path, offset: info.at, problem: "tensor '\(info.name)' appears twice")
            }
            lookup[info.name] = table.count
            table.append(
                GGUFTensorInfo(name: info.name, dims: info.dims, type: info.type, fileOffset: start, byteCount: bytes))
        }
        return (table, lookup)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    /// The file's size in bytes (what it needs in flash).
    public var byteCount: Int { size }

    public func tensor(_ name: String) -> GGUFTensorInfo? { index[name].map { tensors[$0] } }

    /// The raw bytes of a tensor; valid while this file object lives.
    public func rawData(_ info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + info.fileOffset, count: info.byteCount)
    }

    /// A tensor dequantised to Float, in ggml order (dims[0] fastest).
    public func floats(_ name: String) throws -> [Float] {
        guard let info = tensor(name) else {
            throw GGUFError(path: path, offset: nil, problem: "no tensor named '\(name)'")
        }
        var out = [Float](repeating: 0, count: info.elementCount)
        out.withUnsafeMutableBufferPointer {
            info.type.dequantize(base + info.fileOffset, count: info.elementCount, into: $0.baseAddress!)
        }
        return out
    }

    /// Rows `rows` of a matrix tensor (dims [rowLength, n]) dequantised into `dst`
    /// (rows.count × rowLength Floats). Rows must start on quantisation-block boundaries.
    public func dequantizeRows(_ info: GGUFTensorInfo, rows: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        let rowLength = info.dims[0]
        precondition(
            rowLength % info.type.blockSize == 0, "\(info.name): rows of \(rowLength) split quantisation blocks")
        let rowBytes = info.type.byteCount(elements: rowLength)!
        info.type.dequantize(
            base + info.fileOffset + rows.lowerBound * rowBytes, count: rows.count * rowLength, into: dst)
    }

    /// Tells the kernel the pages of a tensor (or of rows `rows` of a matrix tensor) may be dropped
    /// from this process's resident set; they are re-read from the file when touched again. The
    /// streamed memory mode calls this behind each layer and output chunk it dequantises, so the
    /// mapped model does not grow the peak RSS.
    public func releasePages(_ info: GGUFTensorInfo, rows: Range<Int>? = nil) {
        var first = info.fileOffset
        var count = info.byteCount
        if let rows, let rowBytes = info.type.byteCount(elements: info.dims[0]) {
            first += rows.lowerBound * rowBytes
            count = rows.count * rowBytes
        }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (first / page) * page
        madvise(UnsafeMutableRawPointer(mutating: base + start), first + count - start, MADV_DONTNEED)
    }

    /// Bounds-checked little-endian cursor over the mapping.
    struct Reader {
        let base: UnsafeRawPointer
        let size: Int
        let path: String
        var offset = 0

        mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
            guard n >= 0, offset <= size - n else {
                throw GGUFError(path: path, offset: offset, problem: "file ends while reading \(n) bytes (truncated?)")
            }
            defer { offset += n }
            return UnsafeRawBufferPointer(start: base + offset, count: n)
        }

        mutating func scalar<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let b = try bytes(MemoryLayout<T>.size)
            return T(littleEndian: b.loadUnaligned(as: T.self))
        }

        mutating func count(_ what: String) throws -> Int {
            let at = offset
            let v = try scalar(UInt64.self)
            // Every counted item takes at least 8 bytes, so a count beyond size/8 cannot be honest.
            guard v <= UInt64(size / 8) else {
                throw GGUFError(path: path, offset: at, problem: "\(what) \(v) cannot fit in a \(size)-byte file")
            }
            return Int(v)
        }

        mutating func string() throws -> String {
            let at = offset
            let n = try scalar(UInt64.self)
            guard n <= UInt64(size - offset) else {
                throw GGUFError(path: path, offset: at, problem: "string of \(n) bytes runs past the end of the file")
            }
            let b = try bytes(Int(n))
            guard let s = String(validating: b, as: UTF8.self) else {
                throw GGUFError(path: path, offset: at, problem: "string is not valid UTF-8")
            }
            return s
        }

        mutating func valueType(key: String) throws -> GGUFValueType {
            let at = offset
            let raw = try scalar(UInt32.self)
            guard let t = GGUFValueType(rawValue: raw) else {
                throw GGUFError(path: path, offset: at, problem: "metadata '\(key)' has unknown value type \(raw)")
            }
            return t
        }

        mutating func value(type: GGUFValueType, key: String, depth: Int = 0) throws -> GGUFValue {
            switch type {
            case .uint8: return .uint8(try scalar(UInt8.self))
            case .int8: return .int8(try scalar(Int8.self))
            case .uint16: return .uint16(try scalar(UInt16.self))
            case .int16: return .int16(try scalar(Int16.self))
            case .uint32: return .uint32(try scalar(UInt32.self))
            case .int32: return .int32(try scalar(Int32.self))
            case .float32: return .float32(Float(bitPattern: try scalar(UInt32.self)))
            case .bool:
                let at = offset
                let b = try scalar(UInt8.self)
                guard b <= 1 else {
                    throw GGUFError(path: path, offset: at, problem: "metadata '\(key)': bool byte is \(b)")
                }
                return .bool(b == 1)
            case .string: return .string(try string())
            case .uint64: return .uint64(try scalar(UInt64.self))
            case .int64: return .int64(try scalar(Int64.self))
            case .float64: return .float64(Double(bitPattern: try scalar(UInt64.self)))
            case .array:
                let at = offset
                guard depth < 4 else {
                    throw GGUFError(path: path, offset: at, problem: "metadata '\(key)': arrays nested too deeply")
                }
                let element = try valueType(key: key)
                let n = try scalar(UInt64.self)
                let minimum = UInt64(element.scalarSize ?? 8)
                guard n <= UInt64(size - offset) / minimum else {
                    throw GGUFError(
                        path: path, offset: at,
                        problem: "metadata '\(key)': array of \(n) runs past the end of the file")
                }
                var items = [GGUFValue]()
                items.reserveCapacity(Int(n))
                for _ in 0..<n { items.append(try value(type: element, key: key, depth: depth + 1)) }
                return .array(element, items)
            }
        }
    }
}
