import Foundation
import XCTest

@testable import BaseStation

/// `launch/experiments.sh --quick` on the tiny model with the built executables: every experiment
/// and variant over two seeds on the real fleet, and reports whose tables are complete (not their
/// numbers).
final class ExperimentsSmokeTests: XCTestCase {
    func testQuickSuiteWritesACompleteReportAndResumes() throws {
        let out = try temporaryDirectory(self)
        func suite(_ extra: [String] = []) throws -> (status: Int32, stderr: String) {
            try runLaunchScript("launch/experiments.sh", ["--quick"] + extra, env: ["AIRFL_EXPERIMENTS_DIR": out.path])
        }
        let first = try suite()
        XCTAssertEqual(first.status, 0, String(first.stderr.suffix(3000)))
        XCTAssertTrue(first.stderr.contains("paper-baselines run 14/14"), "progress names run i of n")
        // paper-baselines: every variant's final, comparison and per-round row, none incomplete.
        let dir = out.appendingPathComponent("paper-baselines").path
        let report = try String(contentsOfFile: dir + "/REPORT.md", encoding: .utf8)
        let variants = ["airfl-lora", "ideal", "eigen", "tci", "mmse", "digital", "digital-same-airtime"]
        let lines = report.split(separator: "\n").map(String.init)
        for v in variants {
            let rows = lines.filter { $0.hasPrefix("| \(v) |") }
            XCTAssertEqual(rows.count, v == "airfl-lora" ? 2 : 3, "\(v): final, comparison and per-round rows")
            for row in rows { XCTAssertFalse(row.contains("—"), "incomplete row: \(row)") }
        }
        XCTAssertTrue(report.contains("| variant | round 0 | round 1 | round 2 | round 3 | round 4 |"))
        let csv = try String(contentsOfFile: dir + "/runs.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 1 + variants.count * 2 * 5)
        // Every experiment: its files, and a final table without a missing number.
        let sweep = ["perplexity.svg", "loss.svg", "mse.svg", "difference.svg"]
        let figures = [
            "paper-baselines": ["beamformers", "baselines", "digital"].flatMap {
                ["perplexity-\($0).svg", "loss-\($0).svg", "difference-\($0).svg"]
            },
            "paper-power": sweep + ["knee.txt", "calibration.svg"],
            "paper-rank": sweep + ["gap.svg", "rank-loss.svg", "calibration.svg"],
        ]
        for (name, files) in figures {
            let d = out.appendingPathComponent(name).path
            for file in ["REPORT.md", "runs.csv", "variants.txt"] + files {
                XCTAssertTrue(FileManager.default.fileExists(atPath: d + "/" + file), "\(name)/\(file)")
            }
            let text = (try? String(contentsOfFile: d + "/REPORT.md", encoding: .utf8)) ?? ""
            let table =
                text.components(separatedBy: "## Final results").dropFirst().first?.components(separatedBy: "\n\n")[1]
                ?? ""
            let rows = table.split(separator: "\n").dropFirst(2)
            XCTAssertFalse(rows.isEmpty, "\(name): no final table")
            for row in rows { XCTAssertFalse(row.contains("—"), "\(name): incomplete row \(row)") }
        }
        // The paper regime: the energy sweep with each point's aggregate SNR and the bound's
        // calibration, ranks under both scalings beside ideal FL's.
        let paperPower = try String(
            contentsOfFile: out.appendingPathComponent("paper-power/REPORT.md").path, encoding: .utf8)
        XCTAssertTrue(
            paperPower.contains("| aggregate SNR (dB) |") && paperPower.contains("| aircomp-fixed | -45 |"), paperPower)
        XCTAssertTrue(paperPower.contains("## The bound's calibration"), "the energy sweep is a power sweep")
        let paperRank = try String(
            contentsOfFile: out.appendingPathComponent("paper-rank/REPORT.md").path, encoding: .utf8)
        for series in ["rsLoRA", "standard", "ideal"] {
            XCTAssertTrue(paperRank.contains("| \(series) | 8 |"), "paper-rank: \(series) at rank 8")
        }
        XCTAssertTrue(paperRank.contains("## The bound G(r) beside the measured loss"))
        XCTAssertTrue(paperRank.contains("## The bound's calibration: predicted against measured differences"))
        let radio = try String(contentsOfFile: out.appendingPathComponent("radio/beam-sweep.csv").path, encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(radio.count, 1 + 2 * 4 * 3, "the quick suite's 2 N_r × 4 beamformers × 3 draws")
        // Started again, it finds every run finished and starts none; --publish gathers the reports
        // after the reader's findings.md.
        let published = out.appendingPathComponent("published")
        try FileManager.default.createDirectory(at: published, withIntermediateDirectories: true)
        try Data("## What the numbers say\n\nA reader's findings.\n".utf8).write(
            to: published.appendingPathComponent("findings.md"))
        let again = try suite(["--publish", published.path])
        XCTAssertEqual(again.status, 0, String(again.stderr.suffix(2000)))
        let document = try String(contentsOfFile: published.appendingPathComponent("REPORT.md").path, encoding: .utf8)
        let findings = try XCTUnwrap(document.range(of: "A reader's findings."), "the findings are in the document")
        let firstSection = try XCTUnwrap(
            document.range(of: "## Experiment `radio`"), "experiments are sections one level down")
        XCTAssertLessThan(findings.lowerBound, firstSection.lowerBound, "the findings come before the tables")
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: published.appendingPathComponent("paper-rank-calibration.svg").path))
        XCTAssertFalse(again.stderr.contains("(ETA"), String(again.stderr.suffix(2000)))
        XCTAssertEqual(again.stderr.components(separatedBy: "paper-baselines run").count - 1, 14)
        // The baselines ran at AirFL-LoRA's rank of their seed (resolved from its summary.json).
        for seed in [1, 2] {
            let rank = { (v: String) in
                try String(contentsOfFile: dir + "/\(v)-seed\(seed)/options.txt", encoding: .utf8)
            }
            let planned = try RunSummary.read(directory: dir + "/airfl-lora-seed\(seed)").rank
            for v in ["ideal", "tci", "mmse", "digital-same-airtime"] {
                let options = try rank(v)
                XCTAssertTrue(
                    options.split(whereSeparator: \.isWhitespace).contains("federation.rank=\(planned)"),
                    "\(v) at seed \(seed) runs at rank \(planned): \(options)")
            }
        }
        XCTAssertTrue(again.stderr.contains("done before; skipped"))
    }
}
