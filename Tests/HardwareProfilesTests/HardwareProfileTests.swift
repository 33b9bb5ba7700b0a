import Foundation
import XCTest

@testable import HardwareProfiles

final class HardwareProfileTests: XCTestCase {
    /// The repository's profiles (hwprofiles/, found from this file's path).
    var profilesDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("hwprofiles")
    }

    func testEveryShippedProfileLoads() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: profilesDirectory.path).filter {
            $0.hasSuffix(".toml")
        }
        XCTAssertGreaterThanOrEqual(files.count, 6)
        for f in files {
            let p = try HardwareProfile.load(profilesDirectory.appendingPathComponent(f).path)
            XCTAssertEqual(p.name + ".toml", f)
            XCTAssertGreaterThan(
                p.flopBudgetPerRound, p.sustainedGFLOPS * 1e9,
                "\(f): a round should allow more than one second of compute")
        }
        let mcu = try HardwareProfile.load(profilesDirectory.appendingPathComponent("esp32-s3.toml").path)
        XCTAssertLessThan(mcu.ramBytes, 1e8, "the microcontroller cannot hold SmolLM2's ~100 MB of weights")
        XCTAssertEqual(mcu.txPowerW, 0.1, accuracy: 1e-12)
    }

    func testMalformedProfilesNameFileKeyAndProblem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try String(
            contentsOf: profilesDirectory.appendingPathComponent("raspberry-pi-4.toml"), encoding: .utf8)
        func check(_ text: String, key: String?, mentions: String) throws {
            let path = dir.appendingPathComponent("p\(UUID().uuidString).toml").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            XCTAssertThrowsError(try HardwareProfile.load(path)) {
                let e = $0 as? HardwareProfileError
                XCTAssertEqual(e?.file, path)
                XCTAssertEqual(e?.key, key)
                XCTAssertTrue("\($0)".contains(mentions), "\($0)")
            }
        }
        try check(
            good.replacingOccurrences(of: "ram_bytes = 3.0e9", with: "ram_bytes = -1"), key: "ram_bytes",
            mentions: "outside")
        try check(
            good.replacingOccurrences(of: "antennas = 4", with: "antennas = \"four\""), key: "antennas",
            mentions: "integer")
        try check(good.replacingOccurrences(of: "dac_bits = 12", with: ""), key: "dac_bits", mentions: "missing")
        try check(good + "\ncolour = 1\n", key: "colour", mentions: "unknown key")
        try check("name = [\n", key: nil, mentions: "TOML syntax error")
        // Aborted the process inside TOMLKit's parser before the structure was checked first.
        try check("[[[\n" + good, key: nil, mentions: "TOML syntax error at line 1, column 3")
        XCTAssertThrowsError(try HardwareProfile.load(dir.appendingPathComponent("absent.toml").path)) {
            XCTAssertTrue("\($0)".contains("absent.toml"))
        }
    }
}
