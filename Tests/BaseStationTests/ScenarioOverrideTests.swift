import Foundation
import XCTest
@testable import BaseStation

/// `serve --set TABLE.KEY=VALUE`: applied over the file before anything is checked.
final class ScenarioOverrideTests: XCTestCase {
    func testOverridesApplyAndAreCheckedLikeTheFile() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("s.toml").path
        try "seed = 1\n[federation]\nrank = 8\n".write(toFile: path, atomically: true, encoding: .utf8)
        let s = try Scenario.load(path, overrides: ["federation.rank=3", "seed=9", "aircomp.streams = 1", "federation.beamforming=\"eigen\""])
        XCTAssertEqual(s.federation.rank, 3)
        XCTAssertEqual(s.seed, 9)
        XCTAssertEqual(s.aircomp.streams, 1)
        XCTAssertEqual(s.federation.beamforming, .eigen)
        XCTAssertEqual(try Scenario.load(path).federation.rank, 8, "the file itself is untouched")
        for (bad, fragment) in [("federation.rank=0", "federation.rank"), ("federation.rankk=2", "rankk"), ("federation.beamforming=eigen", "not TOML"),
                                ("rank", "KEY=VALUE"), ("a.b.c=1", "TABLE.KEY"), ("seed.x=1", "not a table")] {
            XCTAssertThrowsError(try Scenario.load(path, overrides: [bad]), bad) {
                XCTAssertTrue("\($0)".contains(fragment) && "\($0)".contains("s.toml"), "\(bad): \($0)")
            }
        }
    }
}
