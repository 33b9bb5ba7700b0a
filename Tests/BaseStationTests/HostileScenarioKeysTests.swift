import Foundation
import Radio
import XCTest

@testable import BaseStation

/// Every key of every table, set to a hostile integer (negative, the largest and smallest TOML
/// integers), through `--set` as the launch scripts pass it: each is refused with an error naming
/// the key, or taken and then usable without a trap or an allocation the value did not justify
/// (the prior spectrum, the channel check, the federation settings' own checks).
final class HostileScenarioKeysTests: XCTestCase {
    static let hostile = ["-1", "9223372036854775807", "-9223372036854775808", "0"]

    static var keys: [String] { Scenario.everyKey }

    func testEveryKeyRefusesAHostileIntegerByNameOrTakesItSafely() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("s.toml").path
        try "seed = 1\n[[nodes]]\nname = \"a\"\nprofile = \"p.toml\"\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        var refused = 0
        for key in Self.keys {
            for value in Self.hostile {
                let set = "\(key)=\(value)"
                do {
                    let s = try Scenario.load(path, overrides: [set])
                    // Taken: what serve derives from it up front must not trap either.
                    // The defaults pass these checks, so what fails them is the hostile value.
                    do { try s.checkDerivedValues() } catch {
                        refused += 1
                        let name = String(key.split(separator: ".").last!)
                        XCTAssertTrue("\(error)".contains(name), "\(set): the error does not name the key: \(error)")
                    }
                } catch {
                    refused += 1
                    let name = String(key.split(separator: ".").last!)
                    XCTAssertTrue("\(error)".contains(name), "\(set): the error does not name the key: \(error)")
                }
            }
        }
        XCTAssertGreaterThan(refused, Self.keys.count, "most hostile values are refused")
    }

    /// The seed is a TOML integer ≥ 0 (it was decoded as an unsigned integer, and −1 trapped).
    func testANegativeSeedIsRefusedByName() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("s.toml").path
        try "seed = -1\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Scenario.load(path)) { XCTAssertTrue("\($0)".contains("seed"), "\($0)") }
        XCTAssertEqual(try Scenario.load(path, overrides: ["seed=9223372036854775807"]).seed, UInt64(Int64.max))
    }
}
