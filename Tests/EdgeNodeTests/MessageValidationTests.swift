import Wire
import XCTest

@testable import EdgeNode

/// The firmware range-checks what the base station sends before sizing anything from it.
final class MessageValidationTests: XCTestCase {
    func welcome(index: Int = 0, devices: Int = 3, context: Int = 64, batch: Int = 1, lr: Double = 1e-3) -> Welcome {
        Welcome(
            index: index, devices: devices, seed: 1, data: "fortunes:science", partition: "category",
            dirichletAlpha: 0.5,
            heldOutFraction: 0.1, context: context, batch: batch, optimizer: "adamw", learningRate: lr, clipNorm: 1,
            weightDecay: 0)
    }

    func testWelcomeRanges() throws {
        XCTAssertNoThrow(try EdgeFirmware.validate(welcome()))
        for bad in [
            welcome(index: -1), welcome(index: 3), welcome(context: 1), welcome(context: 1 << 40), welcome(batch: 0),
            welcome(lr: 1e-50), welcome(lr: .nan),
        ] {
            XCTAssertThrowsError(try EdgeFirmware.validate(bad)) {
                XCTAssertTrue("\($0)".contains("welcome:"), "\($0)")
            }
        }
        var unknownOptimizer = welcome()
        var unknownPartition = welcome()
        var unknownKernel = welcome()
        var hostileKernel = welcome()
        unknownOptimizer.optimizer = "adagrad"
        unknownPartition.partition = "by-colour"
        unknownKernel.kernel = "int4"
        hostileKernel.kernel = "\u{1B}[2J" + String(repeating: "x", count: 100_000)
        XCTAssertThrowsError(try EdgeFirmware.validate(unknownOptimizer)) {
            XCTAssertTrue("\($0)".contains("unknown optimizer \"adagrad\""), "\($0)")
        }
        XCTAssertThrowsError(try EdgeFirmware.validate(unknownPartition)) {
            XCTAssertTrue("\($0)".contains("unknown partition \"by-colour\""), "\($0)")
        }
        XCTAssertThrowsError(try EdgeFirmware.validate(unknownKernel)) {
            XCTAssertTrue("\($0)".contains("unknown kernel \"int4\""), "\($0)")
        }
        // A hostile name is quoted escaped and cut short, not echoed raw.
        XCTAssertThrowsError(try EdgeFirmware.validate(hostileKernel)) {
            let text = "\($0)"
            XCTAssertTrue(text.contains("unknown kernel \"\\u{1B}[2J"), text)
            XCTAssertFalse(text.contains("\u{1B}"), text)
            XCTAssertLessThan(text.count, 200, text)
        }
        XCTAssertEqual(try EdgeFirmware.validate(welcome()).optimizer, .adamw)
        XCTAssertEqual(try EdgeFirmware.validate(welcome()).kernel, .quantized)
    }

    func testTransmitRanges() throws {
        let ok = Transmit(
            mode: .aircomp, scale: 1, subcarriers: 4, streams: 1, antennas: 2,
            precoders: [Float](repeating: 0.5, count: 16))
        XCTAssertNoThrow(try Modulator.validate(ok, reals: 100))
        var hugeGrid = ok
        hugeGrid.subcarriers = Int.max / 2
        var wrongPrecoders = ok
        wrongPrecoders.precoders.removeLast()
        var nanPrecoder = ok
        nanPrecoder.precoders[3] = .nan
        var badBits = ok
        badBits.mode = .digital
        badBits.precoders = []
        badBits.digitalBudgetBits = 0
        var badScale = ok
        badScale.scale = -1
        for bad in [hugeGrid, wrongPrecoders, nanPrecoder, badBits, badScale] {
            XCTAssertThrowsError(try Modulator.validate(bad, reals: 100)) {
                XCTAssertTrue("\($0)".contains("transmit:"), "\($0)")
            }
        }
        XCTAssertThrowsError(try Modulator.validate(ok, reals: 1 << 40))
        // An unknown mode cannot be built any more; on the wire it is a decode error.
        var badMode = ok.frame(round: 1, node: 0)
        badMode.payload[0] = 42
        XCTAssertThrowsError(try Transmit(frame: badMode)) {
            XCTAssertTrue("\($0)".contains("aggregation mode"), "\($0)")
        }
    }

    /// The modulator sends every mode's symbols, then the exact reference update, then a round end
    /// that counts the symbols frames; AirComp samples are the DAC's codes.
    func testModulatorFramesEveryMode() throws {
        let update: [Float] = (0..<300).map { (i: Int) -> Float in Float(i % 17) / 17 - 0.5 }
        let modulator = Modulator(dacBits: 6, frameSymbols: 4)
        let precoders: [Float] = (0..<32).map { (i: Int) -> Float in Float(i % 5) * 0.1 + 0.05 }
        for mode in AggregationMode.allCases {
            let order = Transmit(
                mode: mode, scale: 0.5, subcarriers: 8, streams: 1, antennas: mode == .aircomp ? 2 : 1,
                precoders: mode == .aircomp ? precoders : [], digitalBudgetBits: 8 * update.count, digitalSeed: 5)
            let frames: [Frame] = try modulator.frames(for: update, order: order, round: 3, node: 1)
            let symbols = frames.filter { $0.type == .symbols }
            let end = try RoundEnd(frame: frames.last!)
            XCTAssertEqual(end.frames, symbols.count, "\(mode)")
            XCTAssertEqual(end.ofdmSymbols, 19, "\(mode): ⌈300 / (2·8)⌉ OFDM symbols")
            XCTAssertTrue(symbols.allSatisfy { $0.symbolCount <= 4 })
            let reference: [UpdateReference] = try frames.filter { $0.type == FrameType.reference }.map {
                try UpdateReference(frame: $0)
            }
            XCTAssertEqual(reference.flatMap { $0.values }, update, "\(mode)")
            XCTAssertEqual(symbols.first?.format, mode == .aircomp ? .ci16 : .cf32)
            if mode == .aircomp {
                // 6-bit DAC: every sample is a code in ±31 times the step.
                for f in symbols {
                    let codes: [Float] = f.samples().map { $0 / f.scale }
                    XCTAssertTrue(codes.allSatisfy { abs($0.rounded() - $0) < 1e-3 && abs($0) <= 31.001 })
                }
            }
        }
    }
}
