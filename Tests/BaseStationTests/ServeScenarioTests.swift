import Foundation
import XCTest

/// Malformed fleet scenarios are refused with the file, the key and the problem.
final class ServeScenarioTests: XCTestCase {
    func serve(_ toml: String) throws -> ProcessResult {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("s.toml").path
        try toml.write(toFile: path, atomically: true, encoding: .utf8)
        return try runProduct(
            "basestation", ["serve", "--scenario", path, "--results", dir.appendingPathComponent("r").path])
    }

    func testMalformedFederationAndNodesNameFileKeyAndProblem() throws {
        let cases: [(String, String)] = [
            ("[federation]\naggregation = \"pigeon\"\n", "federation.aggregation"),
            ("[federation]\nsample_format = \"ci8\"\n", "federation.sample_format"),
            ("[federation]\npartition = \"by-colour\"\n", "federation.partition"),
            ("[federation]\noptimizer = \"adagrad\"\n", "federation.optimizer"),
            ("[federation]\nbeamforming = \"strongest\"\n", "federation.beamforming"),
            ("[federation]\ntargets = \"attn_q,attn_z\"\n", "federation.targets"),
            ("[federation]\nrounds = 0\n", "federation.rounds"),
            ("[federation]\nlocal_step = 3\n", "local_step"),
            ("[[nodes]]\nname = \"a\"\nprofile = \"x.toml\"\ncolour = \"red\"\n", "colour"),
            ("[[nodes]]\nname = \"a b\"\nprofile = \"x.toml\"\n", "nodes.name"),
            (
                "[[nodes]]\nname = \"a\"\nprofile = \"x.toml\"\n[[nodes]]\nname = \"a\"\nprofile = \"y.toml\"\n",
                "unique"
            ),
            // An integer key given a string: the type, at the key's own path (TOMLKit's concrete Int
            // overload called it a missing key at `channel.subcarriers.subcarriers`).
            ("[channel]\nsubcarriers = \"many\"\n", "key 'channel.subcarriers': expected a value of type Int"),
            ("[aircomp]\nstreams = \"two\"\n", "key 'aircomp.streams': expected a value of type Int"),
            (
                "[plan]\ndistortion_reference_rank = \"x\"\n",
                "key 'plan.distortion_reference_rank': expected a value of type Int"
            ),
            ("devices = \"x\"\n", "key 'devices': expected a value of type Int"),
            // These aborted the process inside TOMLKit's parser.
            ("[[[\n", "TOML syntax error at line 1, column 3"),
            ("[federation]\nrounds = 2\n[[ [nodes]]\n", "TOML syntax error at line 3, column 4"),
        ]
        for (toml, fragment) in cases {
            let r = try serve(toml)
            XCTAssertEqual(r.status, 1, toml)
            XCTAssertTrue(r.stderr.contains("s.toml") && r.stderr.contains(fragment), "\(toml) → \(r.stderr)")
        }
    }

    /// A rerun into an earlier run's directory is refused before anything is touched, by serve
    /// and by the fleet script (whose logs/ would go first); --overwrite lets it through.
    func testAnEarlierRunIsNeverOverwrittenSilently() throws {
        let dir = try temporaryDirectory(self)
        let run = dir.appendingPathComponent("run").path
        try FileManager.default.createDirectory(atPath: run + "/logs", withIntermediateDirectories: true)
        let earlier = "round,node\n1,global\n"
        try earlier.write(toFile: run + "/metrics.csv", atomically: true, encoding: .utf8)
        try "earlier log\n".write(toFile: run + "/logs/basestation.log", atomically: true, encoding: .utf8)
        let scenario = repositoryRoot.appendingPathComponent("launch/scenarios/tiny.toml").path
        let serve = try runProduct("basestation", ["serve", "--scenario", scenario, "--results", run, "--rounds", "1"])
        XCTAssertEqual(serve.status, 1)
        XCTAssertTrue(
            serve.stderr.contains("already holds a run (metrics.csv)") && serve.stderr.contains("--overwrite"),
            serve.stderr)
        let fleet = try runScript("launch/fleet.sh launch/scenarios/tiny.toml --rounds 1", env: ["FLEET_RUN_DIR": run])
        XCTAssertEqual(fleet.status, 2, fleet.output)
        XCTAssertTrue(fleet.output.contains("already holds a run (metrics.csv)"), fleet.output)
        XCTAssertEqual(try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8), earlier)
        XCTAssertEqual(try String(contentsOfFile: run + "/logs/basestation.log", encoding: .utf8), "earlier log\n")
        // With --overwrite the refusal is gone (the run then fails later for want of nodes, which is not this test's).
        let forced = try runProduct(
            "basestation",
            [
                "serve", "--scenario", scenario, "--results", run, "--overwrite", "--set",
                "federation.register_timeout_s=0.2",
            ])
        XCTAssertFalse(forced.stderr.contains("already holds a run"), forced.stderr)
    }

    /// The values an attack on a live base station used to crash it with (traps converting huge
    /// timeouts, aborts allocating 160–256 GB, a context no node accepts) are errors naming file
    /// and key; a scenario whose allocations cannot fit this machine names the keys and the bytes.
    func testOutOfRangeValuesAndRunsTooLargeForTheMachineAreErrors() throws {
        let dir = try temporaryDirectory(self)
        let model = dir.appendingPathComponent("tiny.gguf").path
        XCTAssertEqual(try runProduct("edgenode", ["tiny-model", "--out", model]).status, 0)
        let profile = repositoryRoot.appendingPathComponent("hwprofiles/raspberry-pi-4.toml").path
        let base =
            "[federation]\nmodel = \"\(model)\"\nregister_timeout_s = 0.2\n[[nodes]]\nname = \"a\"\nprofile = "
            + "\"\(profile)\"\n"
        let cases: [([String], String)] = [
            (["federation.register_timeout_s=1e300"], "federation.register_timeout_s': must be in (0, 86400] s"),
            (["federation.round_timeout_s=1e300"], "federation.round_timeout_s': must be in (0, 86400] s"),
            (["channel.subcarriers=1000000000"], "channel.subcarriers': must be in 1…3300"),
            (["channel.rx_antennas=100000"], "channel.rx_antennas': must be in 1…1024"),
            (["federation.rank=1000000000"], "federation.rank': must be in 1…4096"),
            (["federation.ctx=1e9"], "federation.ctx'"),
            (["federation.ctx=1000000000"], "federation.ctx': must be in 2…131072"),
            (["federation.ctx=4096"], "federation.ctx': 4096 tokens exceed the model's context length 2048"),
            // Summed per antenna (in the combiner's space these sums have L rows, not N_r, and fit).
            (
                [
                    "federation.rank=4096", "channel.rx_antennas=1024", "channel.subcarriers=3300",
                    "aircomp.receiver=\"antennas\"",
                ],
                "for the receiver's sums; this machine has"
            ),
            // A planned run's pilot allocates at r_max, whatever federation.rank says.
            (
                [
                    "federation.rank_planning=true", "federation.rank=1", "plan.r_max=4096",
                    "channel.rx_antennas=1024", "channel.subcarriers=3300", "aircomp.receiver=\"antennas\"",
                ],
                "'plan.r_max × federation.targets"
            ),
        ]
        let path = dir.appendingPathComponent("s.toml").path
        try base.write(toFile: path, atomically: true, encoding: .utf8)
        for (sets, fragment) in cases {
            let r = try runProduct(
                "basestation",
                ["serve", "--scenario", path, "--results", dir.appendingPathComponent("r-\(UUID().uuidString)").path]
                    + sets.flatMap { ["--set", $0] })
            XCTAssertEqual(r.status, 1, "\(sets): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("s.toml") && r.stderr.contains(fragment), "\(sets) → \(r.stderr)")
        }
    }

    func testMissingProfileOrModelIsAClearError() throws {
        let r = try serve(
            "[federation]\nmodel = \"/nonexistent/m.gguf\"\n[[nodes]]\nname = \"a\"\nprofile = "
                + "\"/nonexistent/p.toml\"\n"
        )
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("/nonexistent/p.toml"), r.stderr)
        let noNodes = try serve("[federation]\nrounds = 1\n")
        XCTAssertEqual(noNodes.status, 1)
        XCTAssertTrue(noNodes.stderr.contains("no [[nodes]]"), noNodes.stderr)
    }
}
