import Foundation
import XCTest

/// `launch/experiments.sh --quick` on the tiny model with the built executables: every experiment
/// and variant over two seeds on the real fleet, and reports whose tables are complete (not their
/// numbers).
final class ExperimentsSmokeTests: XCTestCase {
    func testQuickSuiteWritesACompleteReportAndResumes() throws {
        let out = try temporaryDirectory(self)
        func suite() throws -> (status: Int32, stderr: String) {
            try runLaunchScript("launch/experiments.sh", ["--quick"], env: ["AIRFL_EXPERIMENTS_DIR": out.path])
        }
        let first = try suite()
        XCTAssertEqual(first.status, 0, String(first.stderr.suffix(3000)))
        XCTAssertTrue(first.stderr.contains("rounds run 34/34"), "progress names run i of n")
        // rounds: every variant's final row, comparison row and per-round row, none incomplete.
        let dir = out.appendingPathComponent("rounds").path
        let report = try String(contentsOfFile: dir + "/REPORT.md", encoding: .utf8)
        let variants = ["ideal", "airfl-lora", "ideal-same-rank", "rank-2", "rank-4", "rank-8", "rank-2-constant", "rank-4-constant", "rank-8-constant",
                        "eigen", "weakest", "random", "tci", "mmse", "single-stream", "digital", "digital-same-airtime"]
        let lines = report.split(separator: "\n").map(String.init)
        for v in variants {
            let rows = lines.filter { $0.hasPrefix("| \(v) |") }
            XCTAssertEqual(rows.count, v == "airfl-lora" ? 2 : 3, "\(v): final, comparison and per-round rows")
            for row in rows { XCTAssertFalse(row.contains("—"), "incomplete row: \(row)") }
        }
        XCTAssertTrue(report.contains("| variant | round 0 | round 1 | round 2 | round 3 | round 4 |"))
        let csv = try String(contentsOfFile: dir + "/runs.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 1 + variants.count * 2 * 5)
        // Every other experiment: its files, and a final table without a missing number.
        let grouped = ["ranks", "ranks-constant", "beamformers", "baselines", "streams-digital"].flatMap { ["perplexity-\($0).svg", "loss-\($0).svg", "difference-\($0).svg"] }
        for file in grouped { XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + file), "rounds/\(file): one figure per comparison") }
        let sweep = ["perplexity.svg", "loss.svg", "mse.svg", "difference.svg"]
        let atKnee = ["ranks", "beamformers", "baselines", "streams-digital"].flatMap { ["perplexity-\($0).svg", "loss-\($0).svg", "difference-\($0).svg"] }
        let figures = ["power": sweep + ["knee.txt", "calibration.svg"], "low-power": atKnee, "rank": ["perplexity.svg", "gap.svg", "rank-loss.svg", "calibration.svg"], "antennas": sweep,
                       "devices": sweep, "german": ["perplexity.svg", "loss.svg"],
                       "paper-baselines": ["beamformers", "baselines", "digital"].flatMap { ["perplexity-\($0).svg", "loss-\($0).svg", "difference-\($0).svg"] },
                       "paper-power": sweep + ["knee.txt", "calibration.svg"], "paper-rank": sweep + ["gap.svg", "rank-loss.svg", "calibration.svg"]]
        for (name, files) in figures {
            let d = out.appendingPathComponent(name).path
            for file in ["REPORT.md", "runs.csv", "variants.txt"] + files {
                XCTAssertTrue(FileManager.default.fileExists(atPath: d + "/" + file), "\(name)/\(file)")
            }
            let text = (try? String(contentsOfFile: d + "/REPORT.md", encoding: .utf8)) ?? ""
            let table = text.components(separatedBy: "## Final results").dropFirst().first?.components(separatedBy: "\n\n")[1] ?? ""
            let rows = table.split(separator: "\n").dropFirst(2)
            XCTAssertFalse(rows.isEmpty, "\(name): no final table")
            for row in rows { XCTAssertFalse(row.contains("—"), "\(name): incomplete row \(row)") }
        }
        let rank = try String(contentsOfFile: out.appendingPathComponent("rank/REPORT.md").path, encoding: .utf8)
        XCTAssertTrue(rank.contains("## The bound G(r) beside the measured loss"))
        XCTAssertTrue(rank.contains("## The bound's calibration: predicted against measured differences"))
        let power = try String(contentsOfFile: out.appendingPathComponent("power/REPORT.md").path, encoding: .utf8)
        XCTAssertTrue(power.contains("## The bound's calibration"), "the power sweep's too")
        XCTAssertTrue(power.contains("| aircomp-fixed |"), "the fixed-rank pair for the channel's knee")
        XCTAssertEqual(rank.components(separatedBy: "the lowest measured loss of each seed at rank").count - 1, 2, "a verdict per power")
        // The paper regime: the energy sweep with each point's aggregate SNR, ranks under both scalings.
        let paperPower = try String(contentsOfFile: out.appendingPathComponent("paper-power/REPORT.md").path, encoding: .utf8)
        XCTAssertTrue(paperPower.contains("| aggregate SNR (dB) |") && paperPower.contains("| aircomp-fixed | -45 |"), paperPower)
        XCTAssertTrue(paperPower.contains("## The bound's calibration"), "the energy sweep is a power sweep")
        let paperRank = try String(contentsOfFile: out.appendingPathComponent("paper-rank/REPORT.md").path, encoding: .utf8)
        for series in ["rsLoRA", "standard", "ideal"] { XCTAssertTrue(paperRank.contains("| \(series) | 8 |"), "paper-rank: \(series) at rank 8") }
        let radio = try String(contentsOfFile: out.appendingPathComponent("radio/beam-sweep.csv").path, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(radio.count, 1 + 2 * 4 * 3, "the quick suite's 2 N_r × 4 beamformers × 3 draws")
        // Started again, it finds every run finished and starts none.
        let again = try suite()
        XCTAssertEqual(again.status, 0)
        XCTAssertFalse(again.stderr.contains("(ETA"), String(again.stderr.suffix(2000)))
        XCTAssertEqual(again.stderr.components(separatedBy: "rounds run").count - 1, 34)
        // The baselines ran at AirFL-LoRA's rank of their seed (resolved from its summary.json).
        for seed in [1, 2] {
            let rank = { (v: String) in try String(contentsOfFile: dir + "/\(v)-seed\(seed)/options.txt", encoding: .utf8) }
            let planned = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/airfl-lora-seed\(seed)/summary.json"))) as? [String: Any])?["rank"] as? Int)
            for v in ["ideal-same-rank", "tci", "mmse", "digital-same-airtime"] {
                let options = try rank(v)
                XCTAssertTrue(options.split(whereSeparator: \.isWhitespace).contains("federation.rank=\(planned)"),
                              "\(v) at seed \(seed) runs at rank \(planned): \(options)")
            }
        }
        XCTAssertTrue(again.stderr.contains("done before; skipped"))
    }
}
