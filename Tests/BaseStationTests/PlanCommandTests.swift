import Foundation
import XCTest

final class PlanCommandTests: XCTestCase {
    var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    func scenario(profiles: String, distances: String = "[40.0, 80.0]", baseBytes: String = "1.0e6", extra: String = "")
        -> String
    {
        """
        seed = 3
        [channel]
        subcarriers = 8
        rx_antennas = 4
        tx_antennas = 2
        devices = 2
        path_loss = "UMi"
        distances_m = \(distances)
        [aircomp]
        streams = 2
        [plan]
        r_max = 16
        profiles = \(profiles)
        layers = 2
        adapted = [[64, 64], [64, 16]]
        base_parameters = 100000
        base_bytes = \(baseBytes)
        activation_bytes = 1.0e6
        pilot_count = 16
        \(extra)
        """
    }

    func write(_ text: String) throws -> String {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("plan.toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testPlanReportsRankGapAlternationsAndBinding() throws {
        let pi4 = repository.appendingPathComponent("hwprofiles/raspberry-pi-4.toml").path
        let path = try write(scenario(profiles: "[\"\(pi4)\"]"))
        let r = try runProduct("basestation", ["plan", "--scenario", path, "--brute-force", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        let rank = try XCTUnwrap(json["rank"] as? Int)
        XCTAssertTrue((1...16).contains(rank))
        let gap = try XCTUnwrap(json["gap"] as? [String: Double])
        XCTAssertNotNil(gap["\(rank)"])
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(json["alternations"] as? Int), 1)
        XCTAssertEqual(json["binding"] as? String, "none") // r_max = 16 binds before the Pi's budgets
        XCTAssertEqual(json["brute_force_rank"] as? Int, rank)
    }

    /// The regime the method is for (launch/scenarios/paper.toml): the energy budget binds, so the
    /// aggregation MSE grows with the rank, and the planned rank is interior, neither 1 nor r_max.
    func testPaperScenarioPlansAnInteriorRankWhereTheMSEGrowsWithIt() throws {
        let path = repository.appendingPathComponent("launch/scenarios/paper.toml").path
        let r = try runProduct("basestation", ["plan", "--scenario", path, "--json"], timeoutSeconds: 600)
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        let rank = try XCTUnwrap(json["rank"] as? Int)
        let top = try XCTUnwrap(json["upper_bound"] as? Int)
        XCTAssertGreaterThanOrEqual(top, 16, "ranks up to at least 16 are open")
        XCTAssertTrue(rank > 1 && rank < top, "rank \(rank) of \(top) is interior")
        let mse = try XCTUnwrap(json["mse_by_rank"] as? [String: Double])
        let ordered = (1...top).map { mse["\($0)"]! }
        XCTAssertTrue(
            zip(ordered, ordered.dropFirst()).allSatisfy { $0 <= $1 * (1 + 1e-9) },
            "the MSE never falls with r: \(ordered)")
        XCTAssertGreaterThan(ordered.last!, 4 * ordered.first!, "and grows: the energy budget binds")
    }

    func testInfeasibleBudgetIsAClearError() throws {
        // The ESP32-S3's 8 MB cannot hold a 95 MB base model.
        let esp = repository.appendingPathComponent("hwprofiles/esp32-s3.toml").path
        let path = try write(scenario(profiles: "[\"\(esp)\"]", baseBytes: "95.0e6"))
        let r = try runProduct("basestation", ["plan", "--scenario", path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("memory budget"), r.stderr)
        XCTAssertTrue(r.stderr.contains("esp32-s3"), r.stderr)
        // A profile list of the wrong length names the key.
        let pi4 = repository.appendingPathComponent("hwprofiles/raspberry-pi-4.toml").path
        let wrong = try write(scenario(profiles: "[\"\(pi4)\", \"\(pi4)\", \"\(pi4)\"]"))
        let w = try runProduct("basestation", ["plan", "--scenario", wrong])
        XCTAssertEqual(w.status, 1)
        XCTAssertTrue(w.stderr.contains("plan.profiles"), w.stderr)
        // A step size above 1/L_s names its key.
        let bad = try write(scenario(profiles: "[\"\(pi4)\"]", extra: "step_size = 3.0"))
        let b = try runProduct("basestation", ["plan", "--scenario", bad])
        XCTAssertEqual(b.status, 1)
        XCTAssertTrue(b.stderr.contains("plan.step_size"), b.stderr)
    }

    // MARK: - Fleet scenarios: the devices are the [[nodes]]

    /// The reference fleet scenario plans for its four nodes with their own profiles (resolved
    /// against the scenario's folder, as `serve` resolves them) and reports a rank.
    func testPlanAcceptsTheDefaultFleetScenario() throws {
        let path = repository.appendingPathComponent("launch/scenarios/default.toml").path
        let r = try runProduct("basestation", ["plan", "--scenario", path, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        let rank = try XCTUnwrap(json["rank"] as? Int)
        XCTAssertTrue((1...64).contains(rank), "\(rank)")
        XCTAssertEqual(json["upper_bound"] as? Int, rank)
        XCTAssertEqual((json["device_power_w"] as? [Double])?.count, 4, "one device per node")
        // Every binding constraint is named after a node of the scenario.
        let binding = try XCTUnwrap(json["binding"] as? String)
        XCTAssertTrue(
            binding == "none" || ["pi4", "pi5", "jetson", "phone"].contains { binding.contains("device \($0)") },
            binding)
    }

    /// A small fleet scenario, one node per profile name, whose `[channel]` says 2 devices with 4
    /// transmit antennas: the nodes must override both.
    func fleet(_ profiles: [String], streams: Int = 1, extra: String = "") -> String {
        let nodes = zip(0..., profiles).map { k, p in
            "[[nodes]]\nname = \"n\(k)\"\nprofile = "
                + "\"\(repository.appendingPathComponent("hwprofiles/\(p).toml").path)\"\n"
        }
        return """
            seed = 5
            [channel]
            subcarriers = 8
            rx_antennas = 4
            tx_antennas = 4
            devices = 2
            path_loss = "none"
            [aircomp]
            streams = \(streams)
            [plan]
            r_max = 8
            layers = 2
            adapted = [[64, 64], [64, 16]]
            base_parameters = 100000
            base_bytes = 1.0e6
            activation_bytes = 1.0e6
            pilot_count = 16
            \(extra)

            """ + nodes.joined(separator: "\n")
    }

    func testFleetScenarioTakesOneDevicePerNode() throws {
        let path = try write(fleet(["raspberry-pi-4", "raspberry-pi-5", "esp32-s3"]))
        let r = try runProduct("basestation", ["plan", "--scenario", path, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        XCTAssertTrue((1...8).contains(try XCTUnwrap(json["rank"] as? Int)))
        XCTAssertEqual((json["device_power_w"] as? [Double])?.count, 3)
        // The ESP32-S3 has one antenna: two streams cannot be sent, as serve refuses too.
        let two = try write(fleet(["raspberry-pi-4", "esp32-s3"], streams: 2))
        let t = try runProduct("basestation", ["plan", "--scenario", two])
        XCTAssertEqual(t.status, 1)
        XCTAssertTrue(t.stderr.contains("aircomp.streams"), t.stderr)
        // Profiles come from the nodes alone: a [plan] profiles list beside them is refused.
        let pi4 = repository.appendingPathComponent("hwprofiles/raspberry-pi-4.toml").path
        let both = try write(fleet(["raspberry-pi-4"], extra: "profiles = [\"\(pi4)\"]"))
        let b = try runProduct("basestation", ["plan", "--scenario", both])
        XCTAssertEqual(b.status, 1)
        XCTAssertTrue(b.stderr.contains("plan.profiles"), b.stderr)
    }
}
