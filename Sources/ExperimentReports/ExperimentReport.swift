import BaseStation
import CommandLineSupport
import Foundation

/// An experiment's report from its runs: every variant over every seed, as tables (mean and
/// spread over seeds), figures and the raw per-round CSV. It states comparisons as the numbers
/// give them, for or against the method.
struct ExperimentReport {
    var name: String
    var scenario: String
    var seeds: [UInt64]
    var variants: [ExperimentVariant]
    /// runs[variant][seed index]
    var runs: [[ExperimentRun]]

    /// Mean and sample standard deviation (0 for one value) of the finite values.
    static func stats(_ values: [Double]) -> (mean: Double, sd: Double, count: Int) {
        let v = values.filter(\.isFinite)
        guard !v.isEmpty else { return (.nan, .nan, 0) }
        let mean = v.reduce(0, +) / Double(v.count)
        let sd = v.count > 1 ? (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count - 1)).squareRoot() : 0
        return (mean, sd, v.count)
    }

    /// Half the width of the 95 % Student-t interval of a mean of `count` paired differences
    /// (t with count − 1 degrees of freedom: 12.71 for two seeds, 4.30 for three).
    static func halfWidth95(_ s: (mean: Double, sd: Double, count: Int)) -> Double {
        let t: [Double] = [.infinity, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262]
        let df = s.count - 1
        return (df >= 1 && df < t.count ? t[df] : 1.96) * s.sd / Double(max(s.count, 1)).squareRoot()
    }

    func format(_ s: (mean: Double, sd: Double, count: Int), _ f: String) -> String {
        s.count == 0 ? "—" : String(format: "\(f) ± \(f.replacingOccurrences(of: "+", with: ""))", s.mean, s.sd)
    }

    func finals(_ v: Int, _ figure: KeyPath<RunSummary, Double>) -> [Double] {
        runs[v].map { $0.summary[keyPath: figure] }
    }

    func markdown(xLabel: String = "x") -> String {
        var md = "# Experiment `\(name)`\n\n"
        md +=
            "Scenario `\(scenario)`; seeds \(seeds.map(String.init).joined(separator: ", ")); every number is the "
            + "mean ± the sample standard deviation over the seeds.\n"
        let wall = runs.flatMap { $0 }.map { $0.summary.wallTimeS }.filter(\.isFinite).reduce(0, +)
        md +=
            "Machine: \(MachineDescription.cpuModel()), \(ProcessInfo.processInfo.activeProcessorCount) cores; "
            + "serve wall time of "
            + "all runs \(String(format: "%.0f", wall)) s.\n"
        md += "Command: `launch/experiments.sh\(scenario.contains("tiny") ? " --quick" : "") --only \(name)`.\n\n"
        if isSweep {
            md += sweepMarkdown(xLabel: xLabel)
            if variants.contains(where: { $0.x == "rank" }) {
                md += "\n" + rankMarkdown() + "![G(r)](gap.svg)\n\n![measured loss per rank](rank-loss.svg)\n"
                md +=
                    "\n"
                    + calibrationMarkdown(
                        rankCalibration(), xLabel: "rank", against: "the planned run (its rank and its own G)")
            }
            if isPowerSweep {
                md +=
                    "\n"
                    + calibrationMarkdown(
                        powerCalibration(), xLabel: xLabel, against: "AirFL-LoRA at the highest power swept")
            }
            if seriesNames.contains("ideal") {
                md += "\n![final held-out perplexity minus ideal FL's](difference.svg)\n"
            }
            md +=
                "\n![final held-out perplexity](perplexity.svg)\n\n![final training loss](loss.svg)\n\n![aggregation "
                + "MSE](mse.svg)\n\n"
            md += "Raw per-round numbers: `runs.csv`; each run's own files: `<variant>-seed<S>/`.\n"
            return md
        }
        md += Self.columnsNote
        md +=
            "## Final results\n\n| variant | what it is | rank | held-out perplexity | held-out loss (eval. SE) | "
            + "train loss (last round) | MSE per real | NMSE | airtime per round (s) | energy (J) | serve "
            + "options |\n"
        md += "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
        for (v, variant) in variants.enumerated() {
            let ranks = Set(runs[v].compactMap { $0.summary.rank }).sorted().map(String.init).joined(
                separator: "/")
            md +=
                "| \(variant.name) | \(variant.description) | \(ranks) | "
                + "\(format(Self.stats(finals(v, \.finalPerplexity)), "%.3f")) | "
            md +=
                "\(heldOutLoss(v)) | \(format(Self.stats(finals(v, \.finalLoss)), "%.4f")) | "
                + "\(format(Self.stats(finals(v, \.msePerRealMean)), "%.3g")) | "
            md +=
                "\(format(Self.stats(finals(v, \.nmseMean)), "%.3g")) | "
                + "\(format(Self.stats(finals(v, \.airtimeMeanS)), "%.3g")) | "
            md +=
                "\(format(Self.stats(finals(v, \.energyTotalJ)), "%.4g")) | "
                + "`\(variant.options.isEmpty ? "(the scenario)" : variant.options)` |\n"
        }
        md += "\n" + comparisons() + "\n" + perRoundTable()
        if groups.isEmpty {
            md += "\n![held-out perplexity](perplexity.svg)\n\n![training loss](loss.svg)\n"
        }
        for g in groups {
            md +=
                "\n### Figures: \(g) (with ideal FL and AirFL-LoRA)\n\n![held-out perplexity minus ideal FL's, "
                + "\(g)](difference-\(g).svg)\n\n"
            md += "![held-out perplexity, \(g)](perplexity-\(g).svg)\n\n![training loss, \(g)](loss-\(g).svg)\n"
        }
        md += "\nRaw per-round numbers: `runs.csv`; each run's own files: `<variant>-seed<S>/`.\n"
        return md
    }

    /// What the final table's columns measure, in their units.
    static let columnsNote = """
        Columns: held-out perplexity and loss (nats/token) on one held-out set for every seed, the loss's \
        own standard error over the evaluation's windows in brackets (the mean over seeds of each run's); \
        MSE per real: the aggregate update's mean squared error per real parameter, in squared adapter \
        units (0 for ideal FL); NMSE: that error's energy over the aggregate's (dimensionless); airtime \
        per round: the round's uplink time, the slowest node's for digital, S·T_sym for AirComp (0 for \
        ideal FL: no air); energy: radiated and computed, all nodes and rounds.


        """

    /// Mean ± spread over seeds of the final held-out loss, with the mean evaluation SE in brackets.
    func heldOutLoss(_ v: Int) -> String {
        let se = Self.stats(finals(v, \.finalHeldoutLossSe))
        return format(Self.stats(finals(v, \.finalHeldoutLoss)), "%.4f")
            + (se.count > 0 ? String(format: " (%.4f)", se.mean) : "")
    }

    /// The method against every other variant, paired by seed (same data split, channels and
    /// noise draws): the mean difference of the final held-out perplexity and whether its 95 %
    /// t-interval excludes zero.
    func comparisons() -> String {
        guard let method = variants.firstIndex(where: { $0.name == "airfl-lora" }) else { return "" }
        var md =
            "## AirFL-LoRA against each variant (final held-out perplexity and loss, paired by seed; lower is "
            + "better)\n\n"
        md +=
            "Each difference is the mean over seeds of AirFL-LoRA's value less the variant's at the same seed, with "
            + "its 95 % t-interval.\n\n"
        md +=
            "| variant | its perplexity | AirFL-LoRA − it (perplexity) | 95 % interval | AirFL-LoRA − it (loss, "
            + "nats/token) | 95 % interval | reading |\n"
        md += "| --- | ---: | ---: | ---: | ---: | ---: | --- |\n"
        let mine = finals(method, \.finalPerplexity)
        let mineLoss = finals(method, \.finalHeldoutLoss)
        func interval(_ d: (mean: Double, sd: Double, count: Int), _ f: String) -> String {
            d.count < 2
                ? "—" : String(format: "[\(f), \(f)]", d.mean - Self.halfWidth95(d), d.mean + Self.halfWidth95(d))
        }
        for (v, variant) in variants.enumerated() where v != method {
            let theirs = finals(v, \.finalPerplexity)
            let d = Self.stats(zip(mine, theirs).map { $0 - $1 })
            let dl = Self.stats(zip(mineLoss, finals(v, \.finalHeldoutLoss)).map { $0 - $1 })
            guard d.count > 0 else {
                md += "| \(variant.name) | — | — | — | — | — | not measured |\n"
                continue
            }
            let half = Self.halfWidth95(d)
            let reading =
                d.count < 2
                ? "one seed: no spread to judge by"
                : abs(d.mean) <= half
                    ? "no clear difference"
                    : d.mean < 0 ? "AirFL-LoRA better" : "AirFL-LoRA worse"
            md +=
                "| \(variant.name) | \(format(Self.stats(theirs), "%.3f")) | \(String(format: "%+.3f", d.mean)) | "
                + "\(interval(d, "%+.3f")) | "
            md += "\(dl.count > 0 ? String(format: "%+.4f", dl.mean) : "—") | \(interval(dl, "%+.4f")) | \(reading) |\n"
        }
        return md
    }

    func perRoundTable() -> String {
        // The rounds some run evaluated (sweeps evaluate only before training and after the last).
        let count = runs.flatMap { $0 }.map { $0.rounds.count }.max() ?? 0
        let rounds = (0..<count).filter { r in
            runs.flatMap { $0 }.contains { r < $0.rounds.count && $0.rounds[r].heldOutPerplexity.isFinite }
        }
        var md =
            "## Held-out perplexity by round (mean over seeds)\n\n| variant | "
            + rounds.map { "round \($0)" }.joined(separator: " | ") + " |\n"
        md += "| --- |" + String(repeating: " ---: |", count: rounds.count) + "\n"
        for (v, variant) in variants.enumerated() {
            let cells = rounds.map { r in
                format(Self.stats(runs[v].map { r < $0.rounds.count ? $0.rounds[r].heldOutPerplexity : .nan }), "%.2f")
                    .components(separatedBy: " ±").first!
            }
            md += "| \(variant.name) | " + cells.joined(separator: " | ") + " |\n"
        }
        return md
    }

    /// The figure groups of variants.txt's fourth field, in order of first appearance.
    var groups: [String] {
        var seen = [String]()
        for v in variants { if let g = v.group, !seen.contains(g) { seen.append(g) } }
        return seen
    }

    /// A group's variants and those every comparison is read against (ideal FL, AirFL-LoRA).
    func members(_ group: String) -> Set<Int> {
        Set(
            variants.indices.filter {
                variants[$0].group == group || ["ideal", "airfl-lora"].contains(variants[$0].name)
            })
    }

    /// One line per variant against rounds: the mean over seeds, the band from min to max. `only`:
    /// those variants; `lessIdeal`: each run's value less ideal FL's at the same seed and round
    /// (the seeds' own spread, different data and channels, would hide the differences).
    func figure(
        _ value: KeyPath<ExperimentRun.Round, Double>, title: String, y: String, only: Set<Int>? = nil,
        lessIdeal: Bool = false
    ) -> SVGPlot {
        var plot = SVGPlot(title: title, xLabel: "round", yLabel: y, series: [])
        let ideal = variants.firstIndex { $0.name == "ideal" }.map { runs[$0] } ?? []
        func reference(_ run: ExperimentRun, _ r: Int) -> Double {
            guard lessIdeal else { return 0 }
            guard let i = ideal.first(where: { $0.seed == run.seed }), r < i.rounds.count else { return .nan }
            return i.rounds[r][keyPath: value]
        }
        for (v, variant) in variants.enumerated() where only?.contains(v) ?? true {
            let rounds = runs[v].map(\.rounds.count).max() ?? 0
            var line = [(x: Double, y: Double)]()
            var band = [(x: Double, low: Double, high: Double)]()
            for r in 0..<rounds {
                let values = runs[v].map {
                    r < $0.rounds.count ? $0.rounds[r][keyPath: value] - reference($0, r) : .nan
                }.filter(\.isFinite)
                guard !values.isEmpty else { continue }
                line.append((Double(r), values.reduce(0, +) / Double(values.count)))
                band.append((Double(r), values.min()!, values.max()!))
            }
            plot.series.append((variant.name, line))
            plot.bands.append(band)
            if variant.name == "ideal" { plot.dashed.insert(plot.series.count - 1) }
        }
        return plot
    }

    func csv() -> String {
        var out = "variant,seed,round,heldout_perplexity,train_loss\n"
        for (v, variant) in variants.enumerated() {
            for run in runs[v] {
                for (r, x) in run.rounds.enumerated() {
                    func cell(_ v: Double) -> String { v.isFinite ? String(format: "%.6g", v) : "" }
                    out += "\(variant.name),\(run.seed),\(r),\(cell(x.heldOutPerplexity)),\(cell(x.trainLoss))\n"
                }
            }
        }
        return out
    }
}
