import Foundation
import XCTest
@testable import BaseStation

/// `rank_planning`: a pilot round at r_max over the air, its aggregate's spectrum, the constants it
/// supports, the planned rank; in memory with the real firmware.
final class RankPlanningTests: XCTestCase {
    func testPilotRoundFeedsThePlanner() throws {
        let pi4 = InMemoryFleet.profile("raspberry-pi-4"), pi5 = InMemoryFleet.profile("raspberry-pi-5")
        let fleet = try InMemoryFleet(in: try temporaryDirectory(self), nodes: [("a", pi4), ("b", pi5)], rounds: 2,
                                      federationExtra: "rank_planning = true")
        try fleet.startFirmware("a", profile: pi4)
        try fleet.startFirmware("b", profile: pi5)
        let summary = try fleet.run()
        let record = try XCTUnwrap(summary["rank_planning"] as? [String: Any])
        let rMax = try XCTUnwrap(record["r_max"] as? Int), rank = try XCTUnwrap(record["rank"] as? Int)
        XCTAssertTrue((1...rMax).contains(rank), "rank \(rank) of r_max \(rMax)")
        XCTAssertEqual(summary["rank"] as? Int, rank, "the run trains at the planned rank")
        XCTAssertEqual(record["pilot_status"] as? String, "pilot")
        XCTAssertTrue((record["spectrum_source"] as? String ?? "").hasPrefix("pilot round at rank \(rMax)"))
        // Pooled by rank index: as many values as the widest matrix's update has, min(r_max, 64) in the tiny model.
        XCTAssertEqual(record["spectrum_count"] as? Int, min(rMax, 64))
        let top = try XCTUnwrap(record["spectrum_top"] as? [Double])
        XCTAssertTrue(top.first! > 0 && zip(top, top.dropFirst()).allSatisfy { $0 >= $1 })
        let constants = try XCTUnwrap(record["constants"] as? [String: [String: Any]])
        XCTAssertEqual(Set(constants.keys), ["smoothness", "pl_constant", "step_size", "gradient_variance", "rounds", "initial_gap"])
        XCTAssertTrue((constants["gradient_variance"]?["source"] as? String ?? "").hasPrefix("pilot round"))
        XCTAssertEqual(constants["initial_gap"]?["value"] as? Double ?? 0, summary["initial_perplexity"].flatMap { ($0 as? Double).map(log) } ?? -1, accuracy: 1e-9)
        XCTAssertEqual(constants["rounds"]?["value"] as? Double, 2)
        // The pilot's rows are in metrics.csv, its aggregate never reached the model: rounds 1 and 2 train from the base.
        let rows = try fleet.metrics()
        XCTAssertEqual(rows.filter { $0["round"] == "0" && $0["node"] != "global" }.map { $0["status"]! }, ["ok", "ok"])
        XCTAssertEqual(rows.filter { $0["node"] == "global" }.map { $0["status"]! }, ["initial", "pilot", "ok", "ok"])
        XCTAssertEqual(rows.first { $0["round"] == "1" && $0["node"] == "global" }?["rank"], "\(rank)")
    }
}
