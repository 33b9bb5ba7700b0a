import ArgumentParser
import CommandLineSupport
import Foundation

/// `basestation report`: one experiment's REPORT.md, figures and raw CSV from its finished runs
/// (`launch/experiments.sh` calls it; every number in the report is read from the runs).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write DIR/REPORT.md, DIR/perplexity.svg, DIR/loss.svg and DIR/runs.csv from an experiment's runs (DIR/<variant>-seed<S>/).")
    @Option(help: "The experiment's directory (with variants.txt: name|what it is|serve options per line).") var experiment: String
    @Option(help: "The scenario the runs used (named in the report).") var scenario: String
    @Option(help: "Seeds, comma-separated.") var seeds: String = "1,2,3"

    func run() throws {
        try failing {
            let seedList = seeds.split(separator: ",").compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
            guard !seedList.isEmpty else { throw ValidationError("--seeds must list at least one seed") }
            let variants = try ExperimentVariant.read(experiment + "/variants.txt")
            let runs = try variants.map { v in try seedList.map { try ExperimentRun(directory: "\(experiment)/\(v.name)-seed\($0)", seed: $0) } }
            let report = ExperimentReport(name: URL(fileURLWithPath: experiment).lastPathComponent, scenario: scenario, seeds: seedList,
                                          variants: variants, runs: runs)
            try RunRecorder.write(report.markdown(), to: experiment + "/REPORT.md")
            try RunRecorder.write(report.figure(\.heldOutPerplexity, title: "Held-out perplexity (mean over seeds, band: min–max)", y: "perplexity").render(),
                                  to: experiment + "/perplexity.svg")
            try RunRecorder.write(report.figure(\.trainLoss, title: "Training loss, mean over nodes (mean over seeds, band: min–max)", y: "loss (nats/token)").render(),
                                  to: experiment + "/loss.svg")
            try RunRecorder.write(report.csv(), to: experiment + "/runs.csv")
        }
    }
}

/// One line of variants.txt.
struct ExperimentVariant {
    var name: String
    var description: String
    var options: String

    static func read(_ path: String) throws -> [ExperimentVariant] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CommandError("\(path): cannot read the variants") }
        return try text.split(separator: "\n").map { line in
            let f = line.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard f.count == 3, !f[0].isEmpty else { throw CommandError("\(path): '\(line)' is not name|what it is|serve options") }
            return ExperimentVariant(name: f[0], description: f[1], options: f[2])
        }
    }
}

/// One finished run: its summary and, per round ≥ 1, the global held-out perplexity and the mean
/// training loss over the nodes.
struct ExperimentRun {
    struct Round { var heldOutPerplexity = Double.nan, trainLoss = Double.nan }
    var seed: UInt64
    var summary: [String: Any]
    /// rounds[0] is before training (round 0); the pilot row is not a round.
    var rounds: [Round]

    init(directory: String, seed: UInt64) throws {
        self.seed = seed
        guard let data = FileManager.default.contents(atPath: directory + "/summary.json"),
              let s = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let metrics = try? String(contentsOfFile: directory + "/metrics.csv", encoding: .utf8) else {
            throw CommandError("\(directory): no finished run (summary.json and metrics.csv); run launch/experiments.sh again")
        }
        summary = s
        let lines = metrics.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let rows = lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }.filter { $0["status"] != "pilot" }
        let last = rows.compactMap { Int($0["round"] ?? "") }.max() ?? 0
        rounds = (0...last).map { r in
            let here = rows.filter { $0["round"] == "\(r)" }
            // Round 0 trains nothing (a pilot round's node rows are the planner's, not training).
            let losses = r == 0 ? [] : here.filter { $0["node"] != "global" }.compactMap { Double($0["train_loss"] ?? "") }
            return Round(heldOutPerplexity: here.first { $0["node"] == "global" }.flatMap { Double($0["heldout_perplexity"] ?? "") } ?? .nan,
                         trainLoss: losses.isEmpty ? .nan : losses.reduce(0, +) / Double(losses.count))
        }
    }

    func number(_ key: String) -> Double { (summary[key] as? Double) ?? (summary[key] as? Int).map(Double.init) ?? .nan }
}
