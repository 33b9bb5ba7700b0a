import Foundation

/// What a frame carries.
public enum FrameType: UInt16, Sendable, CaseIterable {
    /// Node → BS: registration (name, hardware profile, memory plan).
    case hello = 1
    /// BS → node: accepted, with the federation's settings and the node's index.
    case welcome = 2
    /// BS → node: a round begins: global adapter, rank, local steps.
    case roundStart = 3
    /// Node → BS: local training done: loss, FLOPs, energy, the update's energy.
    case updateReady = 4
    /// BS → node: how to transmit: aggregation mode, common scale, precoders.
    case transmit = 5
    /// Node → BS: a run of OFDM symbols of the node's transmission.
    case symbols = 6
    /// Node → BS: the node's transmission of the round is complete.
    case roundEnd = 7
    /// BS → node: the run is over (or the node is refused): which, and the reason.
    case shutdown = 8
    /// Node → BS: a run of the exact update the node meant to send (the emulator's ground truth
    /// for measuring the aggregation error; never summed, costs no airtime).
    case reference = 9
    /// BS → synthetic node (`basestation stress`): a round without a model; report and transmit a
    /// synthetic update of the given size.
    case syntheticRound = 10
    /// BS → node: this base station has no registration of the node (it restarted, or left the
    /// node out of a round); say hello again. The reason is the payload.
    case registerAgain = 11
    /// Node → BS: the node heard the run's shutdown and leaves (no payload).
    case farewell = 12
    /// BS → node: this many more symbols frames of the round may go (`Grant`; the window of
    /// `Transmit` is the first such credit).
    case grant = 13
}

/// How the samples of a `symbols` frame are stored.
public enum SampleFormat: UInt8, Sendable {
    /// No samples (control frames).
    case none = 0
    /// Complex Float32, interleaved (re, im), 8 bytes per sample.
    case cf32 = 1
    /// Complex Int16, interleaved, 4 bytes per sample; value = code × `scale` (a DAC's codes).
    case ci16 = 2

    /// The name in scenarios and on the command line (`cf32`, `ci16`; `none` is no transmission format).
    public var name: String {
        switch self {
        case .none: return "none"
        case .cf32: return "cf32"
        case .ci16: return "ci16"
        }
    }

    /// A transmission format by name: `cf32` or `ci16` (nil for anything else, `none` included).
    public init?(transmissionName name: String) {
        switch name {
        case "cf32": self = .cf32
        case "ci16": self = .ci16
        default: return nil
        }
    }

    public var bytesPerSample: Int {
        switch self {
        case .none: return 0
        case .cf32: return 8
        case .ci16: return 4
        }
    }
}

/// A frame could not be decoded: what is wrong and where (byte offset).
public struct FrameError: Error, Equatable, CustomStringConvertible {
    public var offset: Int
    public var problem: String
    /// Why the frame is dropped: truncated, oversized, bad magic, wrong version, unknown type, bad
    /// CRC, or malformed (anything else: a bad field, a payload that does not decode).
    public var reason: DropReason
    public init(offset: Int, problem: String, reason: DropReason = .malformed) {
        self.offset = offset
        self.problem = problem
        self.reason = reason
    }
    public var description: String { "malformed frame at byte \(offset): \(problem)" }
}

/// One versioned binary frame, little-endian:
///
///     offset size field
///      0     4    magic "AFLW"
///      4     2    version (7)
///      6     2    type (FrameType)
///      8     4    round
///     12     4    node index
///     16     4    first OFDM symbol (symbols frames; 0 otherwise)
///     20     4    OFDM symbol count
///     24     4    subcarrier count
///     28     4    antenna count (rows per subcarrier)
///     32     1    sample format (SampleFormat)
///     33     3    reserved, zero
///     36     4    scale (Float32; ci16 code step, 1 otherwise)
///     40     4    payload length in bytes
///     44     4    CRC-32 of bytes 0..<44 and the payload
///     48     …    payload
///
/// A symbols frame's payload is its samples, OFDM symbol-major, then subcarrier, then antenna:
/// sample (t, n, a) at index (t·N_sc + n)·antennas + a, exactly `count·N_sc·antennas` samples.
/// Control frames carry a `PayloadWriter` encoding of their message.
public struct Frame: Equatable, Sendable {
    public static let magic: [UInt8] = Array("AFLW".utf8)
    /// 2: typed mode and sample-format codes in `Transmit`, the `reference` frame. 3: `farewell`.
    /// 4: `Transmit`'s window and the `grant` frame. 5: `Transmit`'s digital bit budget and seed
    /// (unbiased compression), `Welcome`'s held-out seed. 6: `Welcome`'s frozen-product kernel.
    /// 7: `RoundStart`'s targets a list of names.
    public static let version: UInt16 = 7
    public static let headerSize = 48
    /// Frames larger than this are refused before anything is allocated for them.
    public static let maximumPayload = 256 << 20

    public var type: FrameType
    public var round: UInt32
    public var node: UInt32
    public var firstSymbol: UInt32 = 0
    public var symbolCount: UInt32 = 0
    public var subcarriers: UInt32 = 0
    public var antennas: UInt32 = 0
    public var format: SampleFormat = .none
    public var scale: Float = 1
    public var payload: Data

    public init(type: FrameType, round: UInt32, node: UInt32, payload: Data = Data()) {
        self.type = type
        self.round = round
        self.node = node
        self.payload = payload
    }

    public func encoded() -> Data { encoded(payloadCRC: nil) }

    /// The encoding, with the payload's own CRC-32 given when the caller already has it (a sender
    /// that repeats one payload under many headers): the frame's CRC is then combined from the
    /// header's and the payload's (zlib's `crc32_combine`) instead of reading the payload again.
    public func encoded(payloadCRC: UInt32?) -> Data {
        var w = PayloadWriter()
        w.bytes(Frame.magic)
        w.u16(Frame.version)
        w.u16(type.rawValue)
        w.u32(round)
        w.u32(node)
        w.u32(firstSymbol)
        w.u32(symbolCount)
        w.u32(subcarriers)
        w.u32(antennas)
        w.u8(format.rawValue)
        w.bytes([0, 0, 0])
        w.f32(scale)
        w.u32(UInt32(payload.count))
        var crc = w.data.withUnsafeBytes { CRC32.update(0, $0) }
        if let payloadCRC {
            crc = CRC32.combine(crc, payloadCRC, length: payload.count)
        } else {
            crc = payload.withUnsafeBytes { CRC32.update(crc, $0) }
        }
        w.u32(crc)
        var out = w.data
        out.append(payload)
        return out
    }

    /// Decodes and validates: magic, version, type, format, reserved bytes, lengths (the sample
    /// count of a symbols frame must match its counts exactly), scale, CRC.
    public init(decoding data: Data) throws {
        guard data.count >= Frame.headerSize else {
            throw FrameError(
                offset: data.count, problem: "\(data.count) bytes, shorter than the \(Frame.headerSize)-byte header",
                reason: .truncated)
        }
        var r = PayloadReader(data)
        guard try r.bytes(4) == Frame.magic else {
            throw FrameError(offset: 0, problem: "bad magic (not an AirFL frame)", reason: .badMagic)
        }
        let version = try r.u16()
        guard version == Frame.version else {
            throw FrameError(
                offset: 4, problem: "version \(version), this build speaks \(Frame.version)", reason: .wrongVersion)
        }
        let rawType = try r.u16()
        guard let type = FrameType(rawValue: rawType) else {
            throw FrameError(offset: 6, problem: "unknown frame type \(rawType)", reason: .unknownType)
        }
        self.type = type
        round = try r.u32()
        node = try r.u32()
        firstSymbol = try r.u32()
        symbolCount = try r.u32()
        subcarriers = try r.u32()
        antennas = try r.u32()
        let rawFormat = try r.u8()
        guard let format = SampleFormat(rawValue: rawFormat) else {
            throw FrameError(offset: 32, problem: "unknown sample format \(rawFormat)")
        }
        self.format = format
        guard try r.bytes(3) == [0, 0, 0] else { throw FrameError(offset: 33, problem: "reserved bytes are not zero") }
        scale = try r.f32()
        guard scale.isFinite, scale > 0 else {
            throw FrameError(offset: 36, problem: "scale \(scale) is not a positive finite number")
        }
        let length = Int(try r.u32())
        guard length <= Frame.maximumPayload else {
            throw FrameError(
                offset: 40, problem: "payload of \(length) bytes exceeds \(Frame.maximumPayload)", reason: .oversized)
        }
        let crc = try r.u32()
        guard data.count == Frame.headerSize + length else {
            throw FrameError(
                offset: 40,
                problem: "payload length field says \(length) bytes, the frame has \(data.count - Frame.headerSize)",
                reason: length > data.count - Frame.headerSize ? .truncated : .oversized)
        }
        // A slice of the message, not a copy (frames of 64 KiB and more arrive at GB/s).
        payload = data[(data.startIndex + Frame.headerSize)..<data.endIndex]
        var computed = data.withUnsafeBytes { CRC32.update(0, UnsafeRawBufferPointer(rebasing: $0[0..<44])) }
        computed = payload.withUnsafeBytes { CRC32.update(computed, $0) }
        guard computed == crc else {
            throw FrameError(
                offset: 44,
                problem: String(format: "CRC mismatch (frame says %08x, content gives %08x)", crc, computed),
                reason: .badCRC)
        }
        if type == .symbols {
            guard format != .none else {
                throw FrameError(offset: 32, problem: "a symbols frame needs a sample format")
            }
            // Counts come off the wire: multiply with overflow checks (a hostile header must not trap).
            let (a, o1) = Int(symbolCount).multipliedReportingOverflow(by: Int(subcarriers))
            let (samples, o2) = a.multipliedReportingOverflow(by: Int(antennas))
            let (bytes, o3) = samples.multipliedReportingOverflow(by: format.bytesPerSample)
            guard !o1, !o2, !o3, bytes == length else {
                throw FrameError(
                    offset: 40,
                    problem:
                        "\(symbolCount) symbols × \(subcarriers) subcarriers × \(antennas) antennas do not make the "
                        + "\(length)-byte \(format) payload"
                )
            }
        } else if format != .none {
            throw FrameError(offset: 32, problem: "a \(type) frame carries no samples")
        }
    }

    /// The samples of a symbols frame as interleaved (re, im) Floats.
    public func samples() -> [Float] {
        switch format {
        case .none: return []
        case .cf32:
            // Little-endian floats, as this (x86-64, arm64) machine's: one copy.
            return [Float](unsafeUninitializedCapacity: payload.count / 4) { out, n in
                payload.withUnsafeBytes { raw in
                    UnsafeMutableRawBufferPointer(out).copyMemory(
                        from: UnsafeRawBufferPointer(rebasing: raw[0..<(4 * out.count)]))
                }
                n = out.count
            }
        case .ci16:
            return payload.withUnsafeBytes { raw in
                (0..<(payload.count / 2)).map {
                    Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: Int16.self))) * scale
                }
            }
        }
    }

    /// A symbols frame from interleaved (re, im) Floats: cf32 as is, or ci16 codes with `step`.
    public static func symbols(
        round: UInt32, node: UInt32, firstSymbol: UInt32, symbolCount: UInt32, subcarriers: UInt32, antennas: UInt32,
        samples: ArraySlice<Float>, format: SampleFormat, step: Float = 1
    ) -> Frame {
        var f = Frame(type: .symbols, round: round, node: node)
        f.firstSymbol = firstSymbol
        f.symbolCount = symbolCount
        f.subcarriers = subcarriers
        f.antennas = antennas
        f.format = format
        var w = PayloadWriter()
        switch format {
        case .cf32: for v in samples { w.f32(v) }
        case .ci16:
            f.scale = step
            for v in samples { w.u16(UInt16(bitPattern: Int16(max(-32768, min(32767, (v / step).rounded()))))) }
        case .none: break
        }
        f.payload = w.data
        return f
    }
}
