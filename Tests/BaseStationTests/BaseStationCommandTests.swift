import Foundation
import Radio
import XCTest

final class BaseStationCommandTests: XCTestCase {
    func testChannelCommandWritesNpyAndPrintsStatistics() throws {
        let dir = try temporaryDirectory(self)
        let out = dir.appendingPathComponent("ch.npy").path
        let r = try runProduct(
            "basestation",
            [
                "channel", "--subcarriers", "64", "--devices", "3", "--rx-antennas", "4", "--tx-antennas", "2",
                "--profile", "TDL-B", "--delay-spread-ns", "300", "--seed", "11", "--out", out, "--json",
            ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        XCTAssertEqual(json["shape"] as? [Int], [64, 3, 4, 2])
        XCTAssertEqual((json["mean_gain"] as? [Double])?.count, 3)
        let spread = try XCTUnwrap(json["delay_spread_s"] as? Double)
        XCTAssertEqual(spread, 300e-9, accuracy: 120e-9)
        XCTAssertNotNil(
            json["coherence_bandwidth_hz"] as? Double, "300 ns over 1.92 MHz must decorrelate within the band")
        let tensor = try ChannelTensor.load(npy: out)
        XCTAssertEqual(
            [tensor.subcarriers, tensor.devices, tensor.receiveAntennas, tensor.transmitAntennas], [64, 3, 4, 2])
        // The file's gains are the printed ones.
        let gains = try XCTUnwrap(json["mean_gain"] as? [Double])
        for k in 0..<3 { XCTAssertEqual(tensor.meanGain(device: k) / gains[k], 1, accuracy: 1e-4) }

        // Same seed, same file; another seed, another file.
        let again = dir.appendingPathComponent("again.npy").path
        let other = dir.appendingPathComponent("other.npy").path
        let args = [
            "channel", "--subcarriers", "64", "--devices", "3", "--rx-antennas", "4", "--tx-antennas", "2", "--profile",
            "TDL-B", "--delay-spread-ns", "300",
        ]
        XCTAssertEqual(try runProduct("basestation", args + ["--seed", "11", "--out", again]).status, 0)
        XCTAssertEqual(try runProduct("basestation", args + ["--seed", "12", "--out", other]).status, 0)
        XCTAssertEqual(FileManager.default.contents(atPath: out), FileManager.default.contents(atPath: again))
        XCTAssertNotEqual(FileManager.default.contents(atPath: out), FileManager.default.contents(atPath: other))
    }

    /// `bench-air` times the combiner's space, the antennas' path and the batch form in one run
    /// (tiny sizes: the command's wiring, not its speed, which BENCHMARKS.md records).
    func testBenchAirTimesBothReceiverPaths() throws {
        let r = try runProduct(
            "basestation",
            [
                "bench-air", "--devices", "2", "--rx-antennas", "4", "--tx-antennas", "2", "--streams", "2",
                "--subcarriers", "8",
                "--ofdm-symbols", "32", "--frame-symbols", "8", "--passes", "1", "--cgemm-size", "64", "--json",
            ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        XCTAssertEqual(json["receiver"] as? String, "combiner")
        for key in [
            "seconds_per_pass", "seconds_per_pass_antennas", "seconds_per_pass_antennas_combined_noise",
            "seconds_per_pass_batch_cgemm",
        ] {
            let seconds = try XCTUnwrap(json[key] as? Double, key)
            XCTAssertTrue(seconds > 0 && seconds.isFinite, "\(key) = \(seconds)")
        }
    }

    func testDemoMeasuredMSEMatchesPrediction() throws {
        let r = try runProduct(
            "basestation",
            [
                "demo", "--subcarriers", "32", "--devices", "4", "--rx-antennas", "8", "--tx-antennas", "2",
                "--streams", "2",
                "--update-reals", "65536", "--rounds", "2", "--power-dbm", "0", "--json",
            ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rounds = try XCTUnwrap(try r.json()["rounds"] as? [[String: Any]])
        XCTAssertEqual(rounds.count, 2)
        for round in rounds {
            let ratio = try XCTUnwrap(round["mse_ratio"] as? Double)
            XCTAssertEqual(ratio, 1, accuracy: 0.05)
        }
    }

    func testScenarioErrorsNameFileKeyAndProblem() throws {
        let dir = try temporaryDirectory(self)
        func check(_ toml: String, mentions: [String]) throws {
            let path = dir.appendingPathComponent("bad-\(UUID().uuidString).toml").path
            try toml.write(toFile: path, atomically: true, encoding: .utf8)
            let r = try runProduct("basestation", ["channel", "--scenario", path, "--json"])
            XCTAssertEqual(r.status, 1, "should fail: \(toml)")
            XCTAssertTrue(r.stderr.contains(path), r.stderr)
            for m in mentions { XCTAssertTrue(r.stderr.contains(m), "'\(m)' missing from: \(r.stderr)") }
            XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr)
        }
        try check("[channel]\ndevices = 0\n", mentions: ["channel.devices", "must be in 1…4096"])
        try check("[channel]\nrx_antenas = 4\n", mentions: ["channel.rx_antenas", "unknown key"])
        try check("[channel]\nprofile = \"TDL-Z\"\n", mentions: ["channel.profile"])
        try check("[channel]\ndevices = \"four\"\n", mentions: ["channel.devices"])
        try check("[aircomp]\nstreams = 0\n", mentions: ["aircomp.streams"])
        try check("seed = 1\n[channel\n", mentions: ["TOML syntax error", "line"])
        try check("colour = 3\n", mentions: ["colour", "unknown key"])
        // A missing scenario file.
        let r = try runProduct(
            "basestation", ["channel", "--scenario", dir.appendingPathComponent("absent.toml").path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("absent.toml"), r.stderr)
    }

    func testScenarioFileDrivesTheChannel() throws {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("s.toml").path
        try """
        seed = 5
        [channel]
        subcarriers = 16
        devices = 2
        rx_antennas = 4
        tx_antennas = 2
        profile = "TDL-D"
        path_loss = "UMa"
        distances_m = [50.0, 400.0]
        line_of_sight = "never"
        shadowing = false
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try runProduct("basestation", ["channel", "--scenario", path, "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try r.json()
        XCTAssertEqual(json["seed"] as? Int, 5)
        XCTAssertEqual(json["profile"] as? String, "TDL-D")
        XCTAssertEqual(json["distance_m"] as? [Double], [50, 400])
        let loss = try XCTUnwrap(json["path_loss_db"] as? [Double])
        let model = PathLossModel(scenario: .uma, carrierHz: 3.5e9)
        XCTAssertEqual(loss[0], model.pathLossDB(distance2D: 50, lineOfSight: false), accuracy: 1e-9)
        XCTAssertEqual(loss[1], model.pathLossDB(distance2D: 400, lineOfSight: false), accuracy: 1e-9)
    }

    func testBadFlagsGiveErrorsNotTraps() throws {
        let r = try runProduct(
            "basestation", ["demo", "--streams", "9", "--tx-antennas", "4", "--rounds", "1", "--update-reals", "100"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("streams"), r.stderr)
        let p = try runProduct("basestation", ["channel", "--profile", "TDL-Q"])
        XCTAssertNotEqual(p.status, 0)
        XCTAssertTrue(p.stderr.contains("--profile"), p.stderr)
    }
}
