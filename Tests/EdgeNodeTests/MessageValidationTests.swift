import XCTest
import Wire
@testable import EdgeNode

/// The firmware range-checks what the base station sends before sizing anything from it.
final class MessageValidationTests: XCTestCase {
    func welcome(index: Int = 0, devices: Int = 3, context: Int = 64, batch: Int = 1, lr: Double = 1e-3) -> Welcome {
        Welcome(index: index, devices: devices, seed: 1, data: "fortunes:science", partition: "category", dirichletAlpha: 0.5,
                heldOutFraction: 0.1, context: context, batch: batch, optimizer: "adamw", learningRate: lr, clipNorm: 1, weightDecay: 0)
    }

    func testWelcomeRanges() throws {
        XCTAssertNoThrow(try EdgeFirmware.validate(welcome()))
        for bad in [welcome(index: -1), welcome(index: 3), welcome(context: 1), welcome(context: 1 << 40), welcome(batch: 0),
                    welcome(lr: 1e-50), welcome(lr: .nan)] {
            XCTAssertThrowsError(try EdgeFirmware.validate(bad)) { XCTAssertTrue("\($0)".contains("welcome:"), "\($0)") }
        }
    }

    func testTransmitRanges() throws {
        let ok = Transmit(mode: "aircomp", scale: 1, subcarriers: 4, streams: 1, antennas: 2, precoders: [Float](repeating: 0.5, count: 16), digitalBits: 8)
        XCTAssertNoThrow(try EdgeFirmware.validate(ok, reals: 100))
        var hugeGrid = ok
        hugeGrid.subcarriers = Int.max / 2
        var wrongPrecoders = ok
        wrongPrecoders.precoders.removeLast()
        var nanPrecoder = ok
        nanPrecoder.precoders[3] = .nan
        var badBits = ok
        badBits.digitalBits = 64
        var badScale = ok
        badScale.scale = -1
        var badMode = ok
        badMode.mode = "smoke-signals"
        for bad in [hugeGrid, wrongPrecoders, nanPrecoder, badBits, badScale, badMode] {
            XCTAssertThrowsError(try EdgeFirmware.validate(bad, reals: 100)) { XCTAssertTrue("\($0)".contains("transmit:"), "\($0)") }
        }
        XCTAssertThrowsError(try EdgeFirmware.validate(ok, reals: 1 << 40))
    }
}
