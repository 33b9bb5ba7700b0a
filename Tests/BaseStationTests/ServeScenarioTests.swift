import Foundation
import XCTest

/// Malformed fleet scenarios are refused with the file, the key and the problem.
final class ServeScenarioTests: XCTestCase {
    func serve(_ toml: String) throws -> ProcessResult {
        let dir = try temporaryDirectory(self)
        let path = dir.appendingPathComponent("s.toml").path
        try toml.write(toFile: path, atomically: true, encoding: .utf8)
        return try runProduct("basestation", ["serve", "--scenario", path, "--results", dir.appendingPathComponent("r").path])
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
            ("[[nodes]]\nname = \"a\"\nprofile = \"x.toml\"\n[[nodes]]\nname = \"a\"\nprofile = \"y.toml\"\n", "unique"),
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
        XCTAssertTrue(serve.stderr.contains("already holds a run (metrics.csv)") && serve.stderr.contains("--overwrite"), serve.stderr)
        let fleet = try runScript("launch/fleet.sh launch/scenarios/tiny.toml --rounds 1", env: ["FLEET_RUN_DIR": run])
        XCTAssertEqual(fleet.status, 2, fleet.output)
        XCTAssertTrue(fleet.output.contains("already holds a run (metrics.csv)"), fleet.output)
        XCTAssertEqual(try String(contentsOfFile: run + "/metrics.csv", encoding: .utf8), earlier)
        XCTAssertEqual(try String(contentsOfFile: run + "/logs/basestation.log", encoding: .utf8), "earlier log\n")
        // With --overwrite the refusal is gone (the run then fails later for want of nodes, which is not this test's).
        let forced = try runProduct("basestation", ["serve", "--scenario", scenario, "--results", run, "--overwrite", "--set", "federation.register_timeout_s=0.2"])
        XCTAssertFalse(forced.stderr.contains("already holds a run"), forced.stderr)
    }

    func testMissingProfileOrModelIsAClearError() throws {
        let r = try serve("[federation]\nmodel = \"/nonexistent/m.gguf\"\n[[nodes]]\nname = \"a\"\nprofile = \"/nonexistent/p.toml\"\n")
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("/nonexistent/p.toml"), r.stderr)
        let noNodes = try serve("[federation]\nrounds = 1\n")
        XCTAssertEqual(noNodes.status, 1)
        XCTAssertTrue(noNodes.stderr.contains("no [[nodes]]"), noNodes.stderr)
    }
}
