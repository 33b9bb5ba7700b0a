import CZlib
import Foundation
import XCTest

@testable import Wire

final class FrameTests: XCTestCase {
    func testCRC32KnownVector() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(CRC32.checksum([UInt8]()), 0)
    }

    /// ISA-L's CRC against zlib's, the reference it replaced: whole, continued at odd splits, and
    /// at every length up to a few vectors (the kernels' tails).
    func testCRC32MatchesZlib() {
        // Fixed, patternless bytes (a multiplicative hash of the index).
        let bytes = (0..<(1 << 20) + 37).map { UInt8(truncatingIfNeeded: (UInt64($0) &* 0x9E37_79B9_7F4A_7C15) >> 37) }
        func zlib(_ b: ArraySlice<UInt8>, _ start: UInt = 0) -> UInt32 {
            UInt32(b.withUnsafeBufferPointer { CZlib.crc32(start, $0.baseAddress, UInt32($0.count)) })
        }
        bytes.withUnsafeBytes { all in
            XCTAssertEqual(CRC32.update(0, all), zlib(bytes[...]))
            for split in [1, 3, 63, 4096, 65_537] {
                let head = CRC32.update(0, UnsafeRawBufferPointer(rebasing: all[..<split]))
                XCTAssertEqual(
                    CRC32.update(head, UnsafeRawBufferPointer(rebasing: all[split...])), zlib(bytes[...]),
                    "split at \(split)")
            }
            for n in 0...300 {
                XCTAssertEqual(
                    CRC32.update(0, UnsafeRawBufferPointer(rebasing: all[..<n])), zlib(bytes[..<n]), "\(n) bytes")
            }
        }
    }

    func testSymbolsFrameRoundTripsInBothFormats() throws {
        let samples: [Float] = (0..<48).map { (i: Int) -> Float in Float(i) * 0.25 - 5 }
        let f = Frame.symbols(
            round: 7, node: 2, firstSymbol: 10, symbolCount: 2, subcarriers: 3, antennas: 4, samples: samples[...],
            format: .cf32)
        let back = try Frame(decoding: f.encoded())
        XCTAssertEqual(back, f)
        XCTAssertEqual(back.samples(), samples)
        let q = Frame.symbols(
            round: 7, node: 2, firstSymbol: 10, symbolCount: 2, subcarriers: 3, antennas: 4, samples: samples[...],
            format: .ci16, step: 0.25)
        let qBack = try Frame(decoding: q.encoded())
        XCTAssertEqual(qBack.payload.count, samples.count * 2)
        XCTAssertEqual(qBack.samples(), samples) // multiples of the step survive exactly
    }

    func testEveryCorruptionIsAClearError() throws {
        let good = Frame.symbols(
            round: 1, node: 0, firstSymbol: 0, symbolCount: 1, subcarriers: 2, antennas: 2,
            samples: [1, 2, 3, 4, 5, 6, 7, 8][...], format: .cf32
        ).encoded()
        func expect(
            _ data: Data, _ fragment: String, _ reason: DropReason = .malformed, file: StaticString = #filePath,
            line: UInt = #line
        ) {
            XCTAssertThrowsError(try Frame(decoding: data), file: file, line: line) {
                XCTAssertTrue("\($0)".contains(fragment), "\($0)", file: file, line: line)
                XCTAssertEqual(($0 as? FrameError)?.reason, reason, file: file, line: line)
            }
        }
        expect(good.prefix(20), "shorter than", .truncated)
        expect(good.dropLast(1), "payload length", .truncated)
        var flipped = good
        flipped[good.count - 3] ^= 0x10
        expect(flipped, "CRC mismatch", .badCRC)
        var magic = good
        magic[0] = 0x58
        expect(magic, "bad magic", .badMagic)
        var version = good
        version[4] = 9
        expect(version, "version 9", .wrongVersion)
        var type = good
        type[6] = 99
        expect(type, "unknown frame type", .unknownType)
        // A symbols frame whose counts disagree with its payload (re-checksummed, so only the count is wrong).
        var f = try Frame(decoding: good)
        f.antennas = 3
        expect(f.encoded(), "do not make the 32-byte cf32 payload")
        // Hostile counts whose product overflows Int are an error, not a trap.
        f.symbolCount = .max
        f.subcarriers = .max
        f.antennas = .max
        expect(f.encoded(), "do not make the")
        var control = Frame(type: .hello, round: 0, node: 0)
        control.format = .cf32
        expect(control.encoded(), "carries no samples")
    }

    /// Every drop reason has its own label (they are Prometheus label values and summary keys).
    func testDropReasonsHaveDistinctLabels() {
        let labels = DropReason.allCases.map(\.label)
        XCTAssertEqual(Set(labels).count, labels.count, "\(labels)")
        XCTAssertFalse(labels.contains { $0.isEmpty || $0.contains("\"") || $0.contains("\n") })
    }

    func testControlMessagesRoundTripAndRejectTrailingBytes() throws {
        let start = RoundStart(rank: 4, alpha: 8, targets: ["attn_q", "attn_v"], localSteps: 3, adapter: [1, -2, 3.5])
        XCTAssertEqual(try RoundStart(frame: try Frame(decoding: start.frame(round: 5, node: 1).encoded())), start)
        let t = Transmit(
            mode: .aircomp, scale: 0.5, subcarriers: 2, streams: 1, antennas: 2,
            precoders: [1, 0, 0, 1, 0.5, 0.5, -1, 0])
        XCTAssertEqual(try Transmit(frame: t.frame(round: 1, node: 0)), t)
        let ready = UpdateReady(
            loss: 2.5, steps: 3, tokens: 192, flops: 1e9, computeSeconds: 0.1, energyJ: 0.4, updateEnergy: 12,
            reals: 100)
        var frame = ready.frame(round: 1, node: 3)
        XCTAssertEqual(try UpdateReady(frame: frame), ready)
        frame.payload.append(0)
        XCTAssertThrowsError(try UpdateReady(frame: frame)) {
            XCTAssertTrue("\($0)".contains("unexpected bytes"), "\($0)")
        }
        frame.payload = frame.payload.prefix(10)
        XCTAssertThrowsError(try UpdateReady(frame: frame)) { XCTAssertTrue("\($0)".contains("left"), "\($0)") }
        XCTAssertThrowsError(try Hello(frame: frame)) {
            XCTAssertTrue("\($0)".contains("expected a hello frame"), "\($0)")
        }
    }

    /// A list's count is held to the bytes that follow before anything is allocated: a round start
    /// claiming 2³² − 1 target names in a few bytes is refused, naming what it claimed.
    func testAStringListLongerThanItsBytesIsRefused() throws {
        var w = PayloadWriter()
        w.int(2)
        w.f32(4)
        w.u32(.max)
        w.string("attn_q")
        var frame = RoundStart(rank: 2, alpha: 4, targets: ["attn_q"], localSteps: 1, adapter: []).frame(
            round: 1, node: 0)
        frame.payload = w.data
        XCTAssertThrowsError(try RoundStart(frame: frame)) {
            XCTAssertTrue("\($0)".contains("4294967295 strings need at least"), "\($0)")
        }
    }

    /// A transmit order's window survives the wire (none, zero, some); a negative window or a grant
    /// of no frames is refused, naming the field.
    func testTransmitWindowsAndGrantsRoundTripAndNonsenseIsRefused() throws {
        for window in [nil, 0, 1, 40] {
            let t = Transmit(
                mode: .aircomp, scale: 1, subcarriers: 1, streams: 1, antennas: 1, precoders: [1, 0],
                sampleFormat: .cf32, window: window)
            XCTAssertEqual(
                try Transmit(frame: try Frame(decoding: t.frame(round: 2, node: 1).encoded())).window, window)
        }
        var w = PayloadWriter()
        Transmit(
            mode: .aircomp, scale: 1, subcarriers: 1, streams: 1, antennas: 1, precoders: [1, 0], sampleFormat: .cf32,
            window: 3
        ).write(to: &w)
        var bad = Frame(type: .transmit, round: 1, node: 0, payload: w.data)
        var minusTwo = PayloadWriter()
        minusTwo.int(-2)
        bad.payload.replaceSubrange((bad.payload.count - 8)..., with: minusTwo.data)
        XCTAssertThrowsError(try Transmit(frame: bad)) { XCTAssertTrue("\($0)".contains("window -2"), "\($0)") }
        XCTAssertEqual(
            try Grant(frame: try Frame(decoding: Grant(frames: 5).frame(round: 3, node: 2).encoded())), Grant(frames: 5)
        )
        XCTAssertThrowsError(try Grant(frame: Grant(frames: 0).frame(round: 3, node: 2))) {
            XCTAssertTrue("\($0)".contains("a grant of 0 frames"), "\($0)")
        }
    }

    /// A closed set's unknown code in a frame is a decode error naming the field, never a default.
    func testUnknownModeOrSampleFormatCodesAreRefused() throws {
        let t = Transmit(
            mode: .digital, scale: 1, subcarriers: 4, streams: 1, antennas: 1, precoders: [], sampleFormat: .cf32)
        XCTAssertEqual(try Transmit(frame: t.frame(round: 1, node: 0)), t)
        var badMode = t.frame(round: 1, node: 0)
        badMode.payload[0] = 77
        XCTAssertThrowsError(try Transmit(frame: try Frame(decoding: badMode.encoded()))) {
            XCTAssertTrue("\($0)".contains("unknown aggregation mode code 77"), "\($0)")
        }
        for code: UInt8 in [0, 9] {
            var badFormat = t.frame(round: 1, node: 0)
            badFormat.payload[badFormat.payload.count - 9] = code // before the 8-byte window
            XCTAssertThrowsError(try Transmit(frame: badFormat)) {
                XCTAssertTrue(
                    "\($0)".contains(code == 0 ? "needs the cf32 or ci16" : "unknown sample format code 9"), "\($0)")
            }
        }
        XCTAssertEqual(SampleFormat(transmissionName: "ci16"), .ci16)
        XCTAssertNil(SampleFormat(transmissionName: "none"))
        XCTAssertEqual(AggregationMode(name: "ideal"), .ideal)
        XCTAssertNil(AggregationMode(name: "pigeon"))
    }

    func testReferenceFramesRoundTrip() throws {
        let r = UpdateReference(offset: 4096, values: [1, -2.5, .greatestFiniteMagnitude])
        XCTAssertEqual(try UpdateReference(frame: try Frame(decoding: r.frame(round: 2, node: 1).encoded())), r)
    }
}
