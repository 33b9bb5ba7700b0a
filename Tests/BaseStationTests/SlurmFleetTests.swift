import Foundation
import XCTest

@testable import BaseStation

/// The fleet through Slurm: a one-node cluster started on this machine by
/// `launch/slurm/local-cluster.sh` (Debian's slurm-wlm and munge, which `launch/test.sh` installs;
/// root), and the tiny fleet submitted with `sbatch --wait launch/slurm/fleet.sbatch`: the base
/// station in one job, the edge nodes in the job array it submits, found through the job's
/// environment.
final class SlurmFleetTests: XCTestCase {
    func testTinyFleetRunsThroughSbatch() throws {
        let work = try temporaryDirectory(self)
        let cluster = work.appendingPathComponent("cluster").path
        let run = work.appendingPathComponent("run").path
        func shell(_ script: String, _ env: [String: String] = [:]) throws -> (status: Int32, output: String) {
            try runScript(script, env: env)
        }
        let start = try shell("launch/slurm/local-cluster.sh start '\(cluster)'")
        XCTAssertEqual(
            start.status, 0,
            "the one-node cluster must start (root, slurm-wlm and munge; launch/test.sh installs them): \(start.output)"
        )
        guard start.status == 0 else { return }
        defer { _ = try? shell("launch/slurm/local-cluster.sh stop '\(cluster)'") }
        let env = [
            "SLURM_CONF": cluster + "/slurm.conf", "AIRFL_BIN_DIR": productsDirectory().path, "FLEET_RUN_DIR": run,
        ]
        let job = try shell(
            "timeout 600 sbatch --wait --output='\(cluster)/fleet-%j.out' launch/slurm/fleet.sbatch "
                + "launch/scenarios/tiny.toml --rounds 2",
            env)
        let jobOutput =
            (try? FileManager.default.contentsOfDirectory(atPath: cluster).filter { $0.hasPrefix("fleet-") }
                .map { try String(contentsOfFile: cluster + "/" + $0, encoding: .utf8) }.joined()) ?? ""
        XCTAssertEqual(job.status, 0, "sbatch: \(job.output)\n\(jobOutput)")
        XCTAssertTrue(jobOutput.contains("edge nodes in job array"), jobOutput)

        let summary = try RunSummary.read(directory: run)
        XCTAssertEqual(summary.nodes.count, 3)
        XCTAssertTrue(
            summary.nodes.allSatisfy(\.activeAtEnd), "every array task registered and stayed: \(summary.nodes)")
        let before = try measured(summary.initialPerplexity)
        let after = try measured(summary.finalPerplexity)
        XCTAssertLessThan(after, before)
        for i in 0..<3 {
            let log = try String(contentsOfFile: run + "/logs/node-\(i).log", encoding: .utf8)
            XCTAssertTrue(
                log.contains("→ tcp://"), "node \(i) found the base station through its environment: \(log.prefix(300))"
            )
        }
    }
}
