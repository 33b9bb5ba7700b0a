import CommandLineSupport
import Foundation
import XCTest

@testable import BaseStation

/// A fleet run's summary names the ideal-FL run of the same scenario and seed, or how to make one.
final class IdealReferenceTests: XCTestCase {
    func testFindsTheIdealRunOfTheSameScenarioAndSeed() throws {
        let root = try temporaryDirectory(self)
        let scenario = root.appendingPathComponent("s.toml").path
        try "seed = 1\n".write(toFile: scenario, atomically: true, encoding: .utf8)
        let key = IdealReference.fingerprint(scenarioFile: scenario, seed: 1, rounds: 3)
        XCTAssertNotEqual(key, IdealReference.fingerprint(scenarioFile: scenario, seed: 2, rounds: 3))
        XCTAssertNotEqual(key, IdealReference.fingerprint(scenarioFile: scenario, seed: 1, rounds: 4))
        func run(_ name: String, _ aggregation: String, _ fingerprint: String, _ perplexity: Double) throws {
            let dir = root.appendingPathComponent("results/\(name)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            var summary = RunSummary.fixture(perplexity: perplexity, aggregation: aggregation)
            summary.scenarioFingerprint = fingerprint
            try JSONRecord.encoded(summary).write(to: dir.appendingPathComponent("summary.json"))
        }
        let own = root.appendingPathComponent("results/air").path
        try run("air", "aircomp", key, 40)
        let missing = IdealReference.line(
            scenarioFile: scenario, seed: 1, rounds: 3, results: own, aggregation: "aircomp")
        XCTAssertTrue(missing.contains("launch/fleet.sh \(scenario) --aggregation ideal --seed 1 --rounds 3"), missing)
        try run("ideal-other-seed", "ideal", IdealReference.fingerprint(scenarioFile: scenario, seed: 2, rounds: 3), 30)
        try run("ideal", "ideal", key, 38.5)
        let found = IdealReference.line(
            scenarioFile: scenario, seed: 1, rounds: 3, results: own, aggregation: "aircomp")
        XCTAssertTrue(found.hasPrefix("38.500 (ideal FL"), found)
        XCTAssertTrue(found.contains("results/ideal"), found)
    }

    /// Foundation's NSString.deletingLastPathComponent traps on "r" (a run named `--results r`
    /// crashed the base station at its summary); the parent is found by hand.
    func testResultsParentOfEveryPathShape() {
        XCTAssertEqual(IdealReference.resultsParent("r"), ".")
        XCTAssertEqual(IdealReference.resultsParent("r/"), ".")
        XCTAssertEqual(IdealReference.resultsParent("results/r"), "results")
        XCTAssertEqual(IdealReference.resultsParent("a/b/r//"), "a/b")
        XCTAssertEqual(IdealReference.resultsParent("/r"), "/")
        XCTAssertEqual(IdealReference.resultsParent("/tmp/x/r"), "/tmp/x")
        XCTAssertTrue(
            IdealReference.line(scenarioFile: "s.toml", seed: 1, rounds: 1, results: "r", aggregation: "aircomp")
                .contains("in ./"))
    }
}
