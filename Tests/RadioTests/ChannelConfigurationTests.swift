import Configuration
import Foundation
import XCTest

@testable import Radio

/// The `[channel]` table: validation and decoding errors name the key; thermal noise and units.
final class ChannelConfigurationTests: XCTestCase {
    private func assertKey(
        _ key: String, file: StaticString = #filePath, line: UInt = #line, _ edit: (inout ChannelConfiguration) -> Void
    ) {
        var cfg = ChannelConfiguration()
        edit(&cfg)
        XCTAssertThrowsError(try cfg.validate(), file: file, line: line) {
            XCTAssertEqual(($0 as? ConfigurationError)?.key, key, "\($0)", file: file, line: line)
        }
        XCTAssertThrowsError(try ChannelModel(configuration: cfg, seed: 1), file: file, line: line) {
            XCTAssertEqual(($0 as? ConfigurationError)?.key, key, file: file, line: line)
        }
    }

    func testValidationErrorsNameTheKey() throws {
        XCTAssertNoThrow(try ChannelConfiguration().validate())
        assertKey("devices") { $0.devices = 0 }
        assertKey("subcarriers") { $0.subcarriers = 0 }
        assertKey("rx_antennas") { $0.receiveAntennas = 0 }
        assertKey("rx_correlation") { $0.receiveCorrelation = 1.2 }
        assertKey("rx_correlation") { $0.receiveCorrelation = 1.0 }
        assertKey("tx_correlation") { $0.transmitCorrelation = -0.1 }
        assertKey("distances_m") { $0.distancesM = [50, 60] } // 4 devices by default
        assertKey("distances_m") { $0.distancesM = [50, 60, 5, 70] }
        assertKey("carrier_hz") { $0.carrierHz = 200e9 }
        assertKey("delay_spread_s") { $0.delaySpreadS = -1e-9 }
        assertKey("subcarrier_spacing_hz") { $0.subcarrierSpacingHz = .nan }
        assertKey("max_distance_m") { $0.maxDistanceM = 15 }
        assertKey("doppler_hz") { $0.dopplerHz = -1 }
        assertKey("round_interval_s") { $0.roundIntervalS = 0 }
        assertKey("csi_nmse") { $0.csiNMSE = .infinity }
        assertKey("noise_figure_db") { $0.noiseFigureDB = 50 }
    }

    private struct Wrapper: Decodable { var channel: ChannelConfiguration }

    private func decode(_ json: String) throws -> ChannelConfiguration {
        try JSONDecoder().decode(ChannelConfiguration.self, from: Data(json.utf8))
    }

    func testJSONDecoding() throws {
        let cfg = try decode(
            #"{"devices": 8, "profile": "TDL-C", "rx_correlation": 0.5, "path_loss": "UMa", "#
                + #""distances_m": [10, 20, 30, 40, 50, 60, 70, 80]}"#
        )
        XCTAssertEqual(cfg.devices, 8)
        XCTAssertEqual(cfg.profile, .c)
        XCTAssertEqual(cfg.receiveCorrelation, 0.5)
        XCTAssertEqual(cfg.pathLoss, .uma)
        XCTAssertEqual(cfg.distancesM?.count, 8)
        XCTAssertEqual(cfg.subcarriers, ChannelConfiguration().subcarriers, "missing keys keep their defaults")
        XCTAssertNil(try decode(#"{"path_loss": "none"}"#).pathLoss)

        // Encode → decode is the identity.
        var custom = ChannelConfiguration()
        custom.pathLoss = nil
        custom.dopplerHz = 12.5
        custom.lineOfSight = .never
        custom.distancesM = [30, 40, 50, 60]
        XCTAssertEqual(try JSONDecoder().decode(ChannelConfiguration.self, from: JSONEncoder().encode(custom)), custom)
    }

    func testJSONErrorsNameTheKey() {
        func expectKey(_ json: String, _ key: String, line: UInt = #line) {
            XCTAssertThrowsError(try decode(json), line: line) {
                XCTAssertEqual(($0 as? ConfigurationError)?.key, key, "\($0)", line: line)
            }
        }
        expectKey(#"{"devices": 0}"#, "devices")
        expectKey(#"{"rx_correlation": 1.2}"#, "rx_correlation")
        expectKey(#"{"distances_m": [50]}"#, "distances_m")
        expectKey(#"{"path_loss": "UMx"}"#, "path_loss")
        expectKey(#"{"devices": 4, "bogus_key": 1}"#, "bogus_key")
        // Nested: the unknown key carries its path.
        XCTAssertThrowsError(
            try JSONDecoder().decode(Wrapper.self, from: Data(#"{"channel": {"delay_spread": 1e-7}}"#.utf8))
        ) {
            XCTAssertEqual(($0 as? ConfigurationError)?.key, "channel.delay_spread", "\($0)")
        }
    }

    // MARK: - Thermal noise and units

    func testThermalNoise() {
        XCTAssertEqual(
            ThermalNoise.power(bandwidthHz: 30e3, noiseFigureDB: 0), 1.380649e-23 * 290 * 30e3, accuracy: 1e-30)
        XCTAssertEqual(ThermalNoise.power(bandwidthHz: 30e3, noiseFigureDB: 0), 1.2011646e-16, accuracy: 1e-23)
        // 10 dB noise figure multiplies by exactly 10; the temperature enters linearly.
        XCTAssertEqual(
            ThermalNoise.power(bandwidthHz: 1e6, noiseFigureDB: 10, temperatureK: 100), 1.380649e-23 * 100 * 1e6 * 10,
            accuracy: 1e-25)
        var cfg = ChannelConfiguration()
        cfg.noiseFigureDB = 7
        XCTAssertEqual(cfg.noisePowerW, 1.380649e-23 * 290 * 30e3 * pow(10, 0.7), accuracy: 1e-28)
        XCTAssertEqual(PowerUnits.watts(dBm: 30), 1, accuracy: 1e-15)
        XCTAssertEqual(PowerUnits.watts(dBm: -174 + 10 * log10(30e3)), 1.2e-16, accuracy: 0.01e-16)
        XCTAssertEqual(PowerUnits.dBm(watts: 1e-3), 0, accuracy: 1e-12)
    }
}
