import ArgumentParser
import BaseStation
import CommandLineSupport
import Foundation

/// `lab report`: one experiment's REPORT.md, figures and raw CSV from its finished runs
/// (`launch/experiments.sh` calls it; every number in the report is read from the runs).
package struct ReportCommand: ParsableCommand {
    package init() {}
    package static let configuration = CommandConfiguration(
        commandName: "report",
        abstract:
            "Write DIR/REPORT.md, DIR/perplexity.svg, DIR/loss.svg and DIR/runs.csv from an experiment's runs "
            + "(DIR/<variant>-seed<S>/)."
    )
    @Option(help: "The experiment's directory (with variants.txt: name|what it is|serve options[|series|x] per line).")
    var experiment: String
    @Option(help: "The scenario the runs used (named in the report).") var scenario: String
    @Option(help: "Seeds, comma-separated.") var seeds: String = "1,2,3"
    @Option(help: "A sweep's x axis (its variants give series and x).") var xLabel: String = "x"
    @Flag(help: "A sweep's x axis on a log scale.") var xLog = false

    package func run() throws {
        try failing {
            let seedList = seeds.split(separator: ",").compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
            guard !seedList.isEmpty else { throw ValidationError("--seeds must list at least one seed") }
            let variants = try ExperimentVariant.read(experiment + "/variants.txt")
            let runs = try variants.map { v in
                try seedList.map { try ExperimentRun(directory: "\(experiment)/\(v.name)-seed\($0)", seed: $0) }
            }
            let report = ExperimentReport(
                name: URL(fileURLWithPath: experiment).lastPathComponent, scenario: scenario, seeds: seedList,
                variants: variants, runs: runs)
            try DurableFile.write(text: report.markdown(xLabel: xLabel), to: experiment + "/REPORT.md")
            try DurableFile.write(text: report.csv(), to: experiment + "/runs.csv")
            if report.isSweep {
                try writeSweepFigures(report)
                return
            }
            let band = "mean over seeds, band: min–max"
            // One figure per comparison (a group of variants beside ideal FL and AirFL-LoRA), or one in all.
            let figureSets: [(suffix: String, only: Set<Int>?)] =
                report.groups.isEmpty ? [("", nil)] : report.groups.map { ("-" + $0, report.members($0)) }
            for (suffix, only) in figureSets {
                try DurableFile.write(
                    text:
                        report.figure(
                            \.heldOutPerplexity, title: "Held-out perplexity (\(band))", y: "perplexity", only: only
                        ).render(),
                    to: experiment + "/perplexity\(suffix).svg")
                try DurableFile.write(
                    text:
                        report.figure(
                            \.trainLoss, title: "Training loss, mean over nodes (\(band))", y: "loss (nats/token)",
                            only: only
                        ).render(),
                    to: experiment + "/loss\(suffix).svg")
                if !suffix.isEmpty {
                    try DurableFile.write(
                        text:
                            report.figure(
                                \.heldOutPerplexity,
                                title: "Held-out perplexity minus ideal FL's, paired by seed (\(band))",
                                y: "Δ perplexity",
                                only: only, lessIdeal: true
                            ).render(), to: experiment + "/difference\(suffix).svg")
                }
            }
        }
    }

    func writeSweepFigures(_ report: ExperimentReport) throws {
        let band = "mean over seeds, band: min–max"
        try DurableFile.write(
            text:
                report.sweepFigure(
                    \.finalPerplexity, title: "Final held-out perplexity (\(band))", xLabel: xLabel, y: "perplexity",
                    xLog: xLog
                ).render(),
            to: experiment + "/perplexity.svg")
        try DurableFile.write(
            text:
                report.sweepFigure(
                    \.finalLoss, title: "Final training loss, mean over nodes (\(band))", xLabel: xLabel,
                    y: "loss (nats/token)", xLog: xLog
                ).render(),
            to: experiment + "/loss.svg")
        try DurableFile.write(
            text:
                report.sweepFigure(
                    \.mseMean, title: "Aggregation MSE per unit-power symbol (\(band))", xLabel: xLabel, y: "MSE",
                    xLog: xLog, yLog: true
                ).render(),
            to: experiment + "/mse.svg")
        if let plot = report.differenceFigure(xLabel: xLabel, xLog: xLog) {
            try DurableFile.write(text: plot.render(), to: experiment + "/difference.svg")
        }
        if report.variants.contains(where: { $0.x == "rank" }) {
            var plot = SVGPlot(
                title: "Optimality-gap bound G(r) from the pilot round (mean over seeds)", xLabel: "LoRA rank r",
                yLabel: "G(r)", series: [])
            for s in report.seriesNames {
                plot.series.append((s, report.gapByRank(s).map { (Double($0.rank), $0.gap) }))
            }
            try DurableFile.write(text: plot.render(), to: experiment + "/gap.svg")
            try DurableFile.write(
                text:
                    report.sweepFigure(
                        \.finalHeldoutLoss, title: "Measured final held-out loss per rank (\(band))",
                        xLabel: "LoRA rank r", y: "loss (nats/token)"
                    ).render(),
                to: experiment + "/rank-loss.svg")
        }
        let calibration =
            report.variants.contains { $0.x == "rank" }
            ? report.rankCalibration() : report.isPowerSweep ? report.powerCalibration() : []
        if let plot = report.calibrationFigure(calibration) {
            try DurableFile.write(text: plot.render(), to: experiment + "/calibration.svg")
        }
        if report.isPowerSweep, let knee = report.knee() {
            try DurableFile.write(text: String(format: "%g\n", knee), to: experiment + "/knee.txt")
        }
    }
}

/// One line of variants.txt: `name|what it is|serve options`, and for a sweep `|series|x` (x a
/// number, or `rank`: the run's own rank). Options `=EXPERIMENT/VARIANT` name the same runs as
/// that variant of another experiment.
struct ExperimentVariant {
    var name: String
    var description: String
    var options: String
    var series: String?
    var x: String?
    /// The figure a variant of a comparison against rounds is drawn in (the fourth field).
    var group: String?

    static func read(_ path: String) throws -> [ExperimentVariant] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CommandError("\(path): cannot read the variants")
        }
        return try text.split(separator: "\n").map { line in
            let f = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard (3...5).contains(f.count), !f[0].isEmpty else {
                throw CommandError("\(path): '\(line)' is not name|what it is|serve options[|group] or [|series|x]")
            }
            guard f.count != 5 || f[4] == "rank" || Double(f[4]) != nil else {
                throw CommandError("\(path): '\(line)': x must be a number or 'rank'")
            }
            return ExperimentVariant(
                name: f[0], description: f[1], options: f[2], series: f.count == 5 ? f[3] : nil,
                x: f.count == 5 ? f[4] : nil,
                group: f.count == 4 && !f[3].isEmpty ? f[3] : nil)
        }
    }
}

/// One finished run: its summary and, per round ≥ 1, the global held-out perplexity and the mean
/// training loss over the nodes.
struct ExperimentRun {
    struct Round { var heldOutPerplexity = Double.nan, trainLoss = Double.nan }
    var seed: UInt64
    var summary: RunSummary
    /// rounds[0] is before training (round 0); the pilot row is not a round.
    var rounds: [Round]

    init(seed: UInt64, summary: RunSummary, rounds: [Round] = []) {
        self.seed = seed
        self.summary = summary
        self.rounds = rounds
    }

    init(directory: String, seed: UInt64) throws {
        self.seed = seed
        guard FileManager.default.fileExists(atPath: directory + "/summary.json"),
            let metrics = try? String(contentsOfFile: directory + "/metrics.csv", encoding: .utf8)
        else {
            throw CommandError(
                "\(directory): no finished run (summary.json and metrics.csv); run launch/experiments.sh again")
        }
        summary = try RunSummary.read(directory: directory)
        let lines = metrics.split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        let rows = lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }.filter {
            $0["status"] != "pilot"
        }
        let last = rows.compactMap { Int($0["round"] ?? "") }.max() ?? 0
        rounds = (0...last).map { r in
            let here = rows.filter { $0["round"] == "\(r)" }
            // Round 0 trains nothing (a pilot round's node rows are the planner's, not training).
            let losses =
                r == 0 ? [] : here.filter { $0["node"] != "global" }.compactMap { Double($0["train_loss"] ?? "") }
            return Round(
                heldOutPerplexity: here.first { $0["node"] == "global" }.flatMap {
                    Double($0["heldout_perplexity"] ?? "")
                } ?? .nan,
                trainLoss: losses.isEmpty ? .nan : losses.reduce(0, +) / Double(losses.count))
        }
    }
}
