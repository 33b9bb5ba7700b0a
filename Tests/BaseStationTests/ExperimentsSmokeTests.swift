import Foundation
import XCTest

/// `launch/experiments.sh --quick` on the tiny model with the built executables: every variant over
/// three seeds on the real fleet, and a report whose tables are complete (not its numbers).
final class ExperimentsSmokeTests: XCTestCase {
    func testQuickSuiteWritesACompleteReportAndResumes() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let out = try temporaryDirectory(self)
        func suite() throws -> (status: Int32, stderr: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/bash")
            p.arguments = [repository.appendingPathComponent("launch/experiments.sh").path, "--quick"]
            p.currentDirectoryURL = repository
            var env = ProcessInfo.processInfo.environment
            env["AIRFL_BIN_DIR"] = productsDirectory().path
            env["AIRFL_EXPERIMENTS_DIR"] = out.path
            p.environment = env
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, text)
        }
        let first = try suite()
        XCTAssertEqual(first.status, 0, String(first.stderr.suffix(3000)))
        XCTAssertTrue(first.stderr.contains("run 33/33"), "progress names run i of n")
        let dir = out.appendingPathComponent("rounds").path
        let report = try String(contentsOfFile: dir + "/REPORT.md", encoding: .utf8)
        let variants = ["ideal", "airfl-lora", "rank-2", "rank-4", "rank-8", "eigen", "weakest", "random", "single-stream", "digital", "digital-same-airtime"]
        let lines = report.split(separator: "\n").map(String.init)
        for v in variants {
            let rows = lines.filter { $0.hasPrefix("| \(v) |") }
            XCTAssertEqual(rows.count, v == "airfl-lora" ? 2 : 3, "\(v): final, comparison and per-round rows")
            for row in rows { XCTAssertFalse(row.contains("—"), "incomplete row: \(row)") }
        }
        XCTAssertTrue(report.contains("| variant | round 0 | round 1 | round 2 | round 3 | round 4 |"))
        for file in ["perplexity.svg", "loss.svg", "runs.csv", "variants.txt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + file), file)
        }
        let csv = try String(contentsOfFile: dir + "/runs.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 1 + variants.count * 3 * 5)
        // Started again, it finds every run finished and only rewrites the report.
        let again = try suite()
        XCTAssertEqual(again.status, 0)
        XCTAssertEqual(again.stderr.components(separatedBy: "done before; skipped").count - 1, 33)
    }
}
