import Foundation
import XCTest

/// The stress harness on the built executables: `launch/stress.sh --quick` (a base station in
/// stress mode under `edgenode flood`, beside `wire-probe` ← `flood --raw`) writes complete points
/// whose counts agree with each other; the numbers themselves are benchmarks, not tested.
final class StressHarnessTests: XCTestCase {
    func testQuickStressWritesCompletePointsBesideRawZeroMQ() throws {
        let out = try temporaryDirectory(self)
        let run = try runLaunchScript("launch/stress.sh", ["--quick", "--nodes", "1 3"], env: ["STRESS_DIR": out.path])
        XCTAssertEqual(run.status, 0, String(run.stderr.suffix(2000)))

        let data = try Data(contentsOf: out.appendingPathComponent("stress.json"))
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let points = try XCTUnwrap(document["points"] as? [[String: Any]])
        XCTAssertEqual(points.compactMap { $0["nodes"] as? Int }, [1, 3])
        for point in points {
            let k = try XCTUnwrap(point["nodes"] as? Int)
            let rounds = try XCTUnwrap(point["rounds"] as? Int)
            XCTAssertGreaterThan(rounds, 0)
            XCTAssertEqual(point["incomplete_rounds"] as? Int, 0)
            XCTAssertEqual(
                point["round_end"] as? String, "serial", "rounds are played as serve plays them unless asked")
            XCTAssertEqual(
                (point["dropped"] as? [String: Int])?.isEmpty, true, "nothing dropped: \(point["dropped"] ?? "")")
            // Every round: K nodes × S OFDM symbols × N_sc × N_t samples in, L × N_sc × S symbols out.
            let seconds = try XCTUnwrap(point["seconds"] as? Double)
            let ingested = try XCTUnwrap(point["samples_ingested_per_s"] as? Double) * seconds
            XCTAssertEqual(ingested, Double(rounds * k * 256 * 64 * 4), accuracy: 1)
            // Against the air: K × N_t antennas × N_sc subcarriers at 30 kHz (μ = 1: 28,000 OFDM symbols a second).
            let air = try XCTUnwrap(point["air_samples_per_s"] as? Double)
            XCTAssertEqual(air, Double(k * 4 * 64 * 28_000))
            XCTAssertEqual(
                try XCTUnwrap(point["real_time_factor"] as? Double), ingested / seconds / air, accuracy: 1e-9 * air)
            let combined = try XCTUnwrap(point["symbols_combined_per_s"] as? Double) * seconds
            XCTAssertEqual(combined, Double(rounds * 4 * 64 * 256), accuracy: 1)
            let latency = try XCTUnwrap(point["latency_ms"] as? [String: Double])
            XCTAssertLessThanOrEqual(latency["p50"]!, latency["p99"]!)
            XCTAssertLessThanOrEqual(latency["p99"]!, latency["max"]!)
            XCTAssertGreaterThan(try XCTUnwrap(point["peak_rss_bytes"] as? Int), 0)
            let raw = try XCTUnwrap(point["raw_zmq"] as? [String: Any])
            XCTAssertGreaterThan(try XCTUnwrap(raw["mb_per_s"] as? Double), 0)
            XCTAssertNotNil(point["ratio_to_raw_zmq"] as? Double)
            XCTAssertEqual(
                point["cpus_allowed"] as? String, raw["cpus_allowed"] as? String,
                "the probe runs where the base station does")
            // The machine's busy time in both runs, the senders' own, and the ratio split by them.
            for (run, name) in [(point, "ours"), (raw, "raw")] {
                XCTAssertGreaterThan(try XCTUnwrap(run["machine_cores_busy"] as? Double, name), 0, name)
                XCTAssertGreaterThan(try XCTUnwrap(run["machine_cpu_ns_per_byte"] as? Double, name), 0, name)
                XCTAssertGreaterThan(try XCTUnwrap(run["flood_cores_busy"] as? Double, name), 0, name)
            }
            let split = try XCTUnwrap(point["cost_ratio"] as? Double) * XCTUnwrap(point["busy_ratio"] as? Double)
            XCTAssertEqual(
                split, try XCTUnwrap(point["ratio_to_raw_zmq"] as? Double), accuracy: 1e-9 * split,
                "ours/raw = cost × busy")
        }
        XCTAssertTrue(run.stderr.contains("of raw libzmq's"), "each point printed: \(run.stderr.suffix(500))")
        let csv = try String(contentsOf: out.appendingPathComponent("stress.csv"), encoding: .utf8)
        XCTAssertEqual(csv.split(separator: "\n").count, 3)
        let header = csv.split(separator: "\n").first.map { $0.split(separator: ",").map(String.init) } ?? []
        XCTAssertTrue(
            ["cost_ratio", "busy_ratio", "machine_cpu_ns_per_byte", "raw_machine_cpu_ns_per_byte", "flood_cores_busy"]
                .allSatisfy(header.contains), "\(header)")
        let svg = try String(contentsOf: out.appendingPathComponent("stress.svg"), encoding: .utf8)
        XCTAssertTrue(svg.contains("raw libzmq, 64 KiB") && svg.contains("base station, 64 KiB"))
    }

    /// `--reps 3`: each point measured three times (raw and ours alternating), one row for it.
    func testRepeatedPointIsOneRowOfThreeRuns() throws {
        let out = try temporaryDirectory(self)
        let run = try runLaunchScript(
            "launch/stress.sh", ["--quick", "--nodes", "2", "--reps", "3"], env: ["STRESS_DIR": out.path])
        XCTAssertEqual(run.status, 0, String(run.stderr.suffix(2000)))
        let files = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("points").path)
        XCTAssertEqual(
            Set(files.filter { $0.hasSuffix(".raw.json") }),
            ["k2-f64k-cf32-r1.raw.json", "k2-f64k-cf32-r2.raw.json", "k2-f64k-cf32-r3.raw.json"])
        let data = try Data(contentsOf: out.appendingPathComponent("stress.json"))
        let points = try XCTUnwrap(
            (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["points"] as? [[String: Any]])
        XCTAssertEqual(points.count, 1)
        let point = points[0]
        let ratio = try XCTUnwrap(point["ratio_to_raw_zmq"] as? Double)
        XCTAssertEqual(point["reps"] as? Int, 3)
        XCTAssertEqual(point["frame_kib"] as? Int, 64)
        let ratios = try XCTUnwrap(point["runs"] as? [[String: Any]]).compactMap { $0["ratio_to_raw_zmq"] as? Double }
        XCTAssertEqual(ratios.count, 3)
        XCTAssertEqual(ratios.sorted()[1], ratio, "the row is the median run")
        XCTAssertEqual(point["ratio_min"] as? Double, ratios.min())
        XCTAssertEqual(point["ratio_max"] as? Double, ratios.max())
        XCTAssertTrue(run.stderr.contains("the median of 3 runs"), String(run.stderr.suffix(600)))
        let bad = try runLaunchScript("launch/stress.sh", ["--quick", "--reps", "0"], env: ["STRESS_DIR": out.path])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("--reps"), bad.stderr)
    }

    /// `--cores split`: the base station and the probe on the first half of the cores, the flood
    /// on the other half, and stress.json says so.
    func testSplitCoresPinsTheBaseStationAndTheProbeApart() throws {
        guard ProcessInfo.processInfo.activeProcessorCount >= 2 else {
            throw XCTSkip(
                "--cores split needs 2 cores; this machine has \(ProcessInfo.processInfo.activeProcessorCount)")
        }
        let out = try temporaryDirectory(self)
        let run = try runLaunchScript(
            "launch/stress.sh", ["--quick", "--nodes", "2", "--cores", "split"], env: ["STRESS_DIR": out.path])
        XCTAssertEqual(run.status, 0, String(run.stderr.suffix(2000)))
        let data = try Data(contentsOf: out.appendingPathComponent("stress.json"))
        let document = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let half = ProcessInfo.processInfo.activeProcessorCount / 2
        let cores = half == 1 ? "0" : "0-\(half - 1)"
        XCTAssertEqual(
            document["cores"] as? String,
            "split: the base station (and the probe) pinned to cores 0-\(half - 1), the flood to cores "
                + "\(half)-\(ProcessInfo.processInfo.activeProcessorCount - 1)"
        )
        let point = try XCTUnwrap((document["points"] as? [[String: Any]])?.first)
        XCTAssertEqual(point["cpus_allowed"] as? String, cores)
        XCTAssertEqual((point["raw_zmq"] as? [String: Any])?["cpus_allowed"] as? String, cores)
        XCTAssertGreaterThan(try XCTUnwrap(point["rounds"] as? Int), 0)
    }
}
