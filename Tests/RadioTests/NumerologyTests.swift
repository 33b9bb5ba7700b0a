import Radio
import XCTest

/// 5G NR numerologies against 3GPP TS 38.211 Table 4.2-1 and §4.3.2 (normal cyclic prefix).
final class NumerologyTests: XCTestCase {
    func testTheTablesSpacingsAndSymbolRates() throws {
        // μ, Δf (kHz), slots per subframe (1 ms): 2^μ; 14 symbols per slot.
        for (mu, kHz) in [(0, 15.0), (1, 30), (2, 60), (3, 120), (4, 240)] {
            let n = try XCTUnwrap(Numerology(subcarrierSpacingHz: kHz * 1000), "\(kHz) kHz")
            XCTAssertEqual(n.mu, mu)
            XCTAssertEqual(n.subcarrierSpacingHz, kHz * 1000)
            XCTAssertEqual(n.symbolsPerSecond, Double(14 * 1000 * (1 << mu)))
        }
        for spacing in [0, 20e3, 45e3, 480e3, -15e3, .nan] {
            XCTAssertNil(Numerology(subcarrierSpacingHz: spacing), "\(spacing) Hz is no NR numerology")
        }
    }

    /// A 20 MHz carrier at 30 kHz (51 resource blocks, 612 subcarriers) from 8 single-antenna devices.
    func testSamplesOnTheAir() throws {
        let n = try XCTUnwrap(Numerology(subcarrierSpacingHz: 30e3))
        XCTAssertEqual(n.samplesPerSecond(subcarriers: 612, transmitters: 8), 612 * 8 * 28_000)
    }
}
