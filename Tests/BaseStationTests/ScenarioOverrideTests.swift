import Foundation
import XCTest

@testable import BaseStation

/// `serve --set TABLE.KEY=VALUE`: applied over the file before anything is checked.
final class ScenarioOverrideTests: XCTestCase {
    func testOverridesApplyAndAreCheckedLikeTheFile() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("s.toml").path
        try "seed = 1\n[federation]\nrank = 8\n".write(toFile: path, atomically: true, encoding: .utf8)
        let s = try Scenario.load(
            path, overrides: ["federation.rank=3", "seed=9", "aircomp.streams = 1", "federation.beamforming=\"eigen\""])
        XCTAssertEqual(s.federation.rank, 3)
        XCTAssertEqual(s.seed, 9)
        XCTAssertEqual(s.aircomp.streams, 1)
        XCTAssertEqual(s.federation.beamforming, .eigen)
        XCTAssertEqual(try Scenario.load(path).federation.rank, 8, "the file itself is untouched")
        for (bad, fragment) in [
            ("federation.rank=0", "federation.rank"), ("federation.rankk=2", "rankk"),
            ("federation.beamforming=eigen", "not TOML"),
            ("rank", "KEY=VALUE"), ("a.b.c=1", "TABLE.KEY"), ("seed.x=1", "not a table"),
        ] {
            XCTAssertThrowsError(try Scenario.load(path, overrides: [bad]), bad) {
                XCTAssertTrue("\($0)".contains(fragment) && "\($0)".contains("s.toml"), "\(bad): \($0)")
            }
        }
    }

    /// The sweep keys: `devices` takes the first K nodes, repeating the list with renamed copies;
    /// `aircomp.tx_power_offset_db` and `federation.eval_every` are range-checked like the rest.
    func testSweepKeys() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("s.toml").path
        try "[[nodes]]\nname = \"a\"\nprofile = \"p.toml\"\n[[nodes]]\nname = \"b\"\nprofile = \"q.toml\"\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(
            try Scenario.load(path, overrides: ["devices=5"]).nodes.map(\.name), ["a", "b", "a-2", "b-2", "a-3"])
        XCTAssertEqual(
            try Scenario.load(path, overrides: ["devices=5"]).nodes.map(\.profile),
            ["p.toml", "q.toml", "p.toml", "q.toml", "p.toml"])
        XCTAssertEqual(try Scenario.load(path, overrides: ["devices=1"]).nodes.map(\.name), ["a"])
        XCTAssertEqual(try Scenario.load(path).nodes.count, 2)
        let s = try Scenario.load(path, overrides: ["aircomp.tx_power_offset_db=-30", "federation.eval_every=4"])
        XCTAssertEqual(s.aircomp.txPowerOffsetDB, -30)
        XCTAssertEqual(s.federation.evalEvery, 4)
        for (bad, key) in [
            ("devices=0", "devices"), ("devices=1000", "devices"),
            ("aircomp.tx_power_offset_db=-200", "tx_power_offset_db"),
            ("federation.eval_every=0", "eval_every"),
        ] {
            XCTAssertThrowsError(try Scenario.load(path, overrides: [bad]), bad) {
                XCTAssertTrue("\($0)".contains(key), "\(bad): \($0)")
            }
        }
    }
}
