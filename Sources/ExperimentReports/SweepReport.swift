import BaseStation
import CommandLineSupport
import Foundation
import Wire

/// A sweep: variants that are points (series, x) of a curve, each point's final numbers over the
/// seeds. Energy (or power), antennas and devices sweeps, and the rank experiment (x = the run's
/// own rank, with the optimality-gap bound G(r) its planner recorded).
extension ExperimentReport {
    var isSweep: Bool { variants.contains { $0.x != nil } }
    /// A power sweep (`power`, `paper-power`): its fixed-rank AirComp series sets the channel's knee.
    var isPowerSweep: Bool { isSweep && variants.contains { $0.series == "aircomp-fixed" } }

    /// The series in order of first appearance.
    var seriesNames: [String] {
        var seen = [String]()
        for v in variants { if let s = v.series, !seen.contains(s) { seen.append(s) } }
        return seen
    }

    /// The runs of one series grouped by x (the number in variants.txt, or each run's rank for
    /// `x = rank`), ascending.
    func points(_ series: String) -> [(x: Double, variants: [Int], runs: [ExperimentRun])] {
        var byX = [Double: (variants: [Int], runs: [ExperimentRun])]()
        for (v, variant) in variants.enumerated() where variant.series == series {
            for run in runs[v] {
                let x = variant.x == "rank" ? Double(run.summary.rank) : Double(variant.x ?? "") ?? .nan
                guard x.isFinite else { continue }
                byX[x, default: ([], [])].runs.append(run)
                if !byX[x]!.variants.contains(v) { byX[x]!.variants.append(v) }
            }
        }
        return byX.keys.sorted().map { ($0, byX[$0]!.variants, byX[$0]!.runs) }
    }

    func sweepMarkdown(xLabel: String) -> String {
        var md =
            "## Final results\n\n| series | \(xLabel) | seeds | rank | held-out perplexity | held-out loss | train "
            + "loss (last round) | aggregation MSE | aggregate SNR (dB) | airtime (s) | runs (serve options) |\n"
        md += "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"
        for series in seriesNames {
            for p in points(series) {
                let ranks = Set(p.runs.map { $0.summary.rank }).sorted().map(String.init).joined(separator: "/")
                let how = p.variants.map { "\(variants[$0].name): `\(variants[$0].options)`" }.joined(separator: "; ")
                md +=
                    "| \(series) | \(String(format: "%g", p.x)) | \(p.runs.count) | \(ranks) | "
                    + "\(format(Self.stats(p.runs.map { $0.summary.finalPerplexity }), "%.3f")) | "
                md +=
                    "\(format(Self.stats(p.runs.map { $0.summary.finalHeldoutLoss }), "%.4f")) | "
                    + "\(format(Self.stats(p.runs.map { $0.summary.finalLoss }), "%.4f")) | "
                md +=
                    "\(format(Self.stats(p.runs.map { $0.summary.mseMean }), "%.3g")) | "
                    + "\(aggregateSNRCell(p.runs)) | "
                    + "\(format(Self.stats(p.runs.map { $0.summary.airtimeTotalS }), "%.3g")) | \(how) |\n"
            }
        }
        md +=
            "\nAggregation MSE: per unit-power symbol (the run's mean); aggregate SNR: the aggregate update's energy "
            + "over its "
        md += "error's, dB (from the NMSE's mean over rounds; ∞ for ideal FL).\n"
        return md + "\n" + sweepComparisons(xLabel: xLabel)
    }

    /// A run's aggregate SNR, dB: the aggregate update's energy over its error's, −10·log10 of the
    /// NMSE averaged over the run's rounds (∞ for ideal FL, whose aggregate has no error).
    static func aggregateSNR(_ run: ExperimentRun) -> Double {
        let nmse = run.summary.nmseMean
        if run.summary.aggregation == AggregationMode.ideal.name { return .infinity }
        return nmse > 0 ? -10 * Foundation.log10(nmse) : .nan
    }

    /// The SNR column's cell: mean ± spread, or ∞ when every run's aggregate had no error (ideal FL).
    func aggregateSNRCell(_ runs: [ExperimentRun]) -> String {
        let snr = runs.map(Self.aggregateSNR)
        return !snr.isEmpty && snr.allSatisfy({ $0 == .infinity }) ? "∞" : format(Self.stats(snr), "%.1f")
    }

    /// The ideal-FL series a series is read against: `ideal-fixed` (ideal FL at the same fixed
    /// rank) for the fixed-rank AirComp series `aircomp-fixed`, `ideal` for the others.
    func reference(of series: String) -> String {
        series == "aircomp-fixed" && seriesNames.contains("ideal-fixed") ? "ideal-fixed" : "ideal"
    }

    /// Every series against its ideal-FL series at the same x, paired by seed.
    func sweepComparisons(xLabel: String) -> String {
        guard seriesNames.contains("ideal") else { return "" }
        var md =
            "## Against ideal FL at the same \(xLabel) (final held-out perplexity, paired by seed; lower is better)\n\n"
        md +=
            "`aircomp-fixed` is read against `ideal-fixed` (the same fixed rank), every other series against "
            + "`ideal`.\n\n"
        md += "| series | \(xLabel) | it − ideal FL | relative | reading |\n| --- | ---: | ---: | ---: | --- |\n"
        for series in seriesNames where !series.hasPrefix("ideal") {
            let ideal = Dictionary(points(reference(of: series)).map { ($0.x, $0.runs) }) { a, _ in a }
            for p in points(series) {
                guard let reference = ideal[p.x] else { continue }
                let pairs = p.runs.compactMap { run in
                    reference.first { $0.seed == run.seed }.map {
                        (run.summary.finalPerplexity, $0.summary.finalPerplexity)
                    }
                }
                let d = Self.stats(pairs.map { $0.0 - $0.1 })
                let base = Self.stats(pairs.map { $0.1 })
                guard d.count > 0 else { continue }
                let half = Self.halfWidth95(d)
                let reading =
                    d.count < 2
                    ? "one seed"
                    : abs(d.mean) <= half
                        ? "within noise (95 % interval ± \(String(format: "%.3f", half)))"
                        : d.mean > 0 ? "worse than ideal FL" : "better than ideal FL"
                md +=
                    "| \(series) | \(String(format: "%g", p.x)) | \(format(d, "%+.3f")) | "
                    + "\(String(format: "%+.2f %%", 100 * d.mean / base.mean)) | \(reading) |\n"
            }
        }
        return md
    }

    /// The knee of a power sweep: the highest x at which `series`' mean final perplexity exceeds
    /// its ideal FL's at the same x by at least `threshold` (relative); the lowest x when none does.
    /// The channel's knee is the fixed-rank series' (AirComp and ideal FL at one rank): the planned
    /// series' moves with the rank the planner picks at each power.
    func knee(series: String? = nil, threshold: Double = 0.01) -> Double? {
        let series = series ?? (seriesNames.contains("aircomp-fixed") ? "aircomp-fixed" : "airfl-lora")
        let ideal = Dictionary(
            points(reference(of: series)).map { ($0.x, Self.stats($0.runs.map { $0.summary.finalPerplexity }).mean) }
        ) { a, _ in a }
        let curve = points(series).map { ($0.x, Self.stats($0.runs.map { $0.summary.finalPerplexity }).mean) }
        guard !curve.isEmpty else { return nil }
        // A point where every run failed (no finite perplexity) counts as worse.
        let above = curve.filter { x, p in ideal[x].map { p.isNaN || p >= $0 * (1 + threshold) } ?? false }.map(\.0)
        return above.max() ?? curve.map(\.0).min()
    }

    /// One line per series against x: the mean over seeds, the band from min to max.
    func sweepFigure(
        _ figure: KeyPath<RunSummary, Double>, title: String, xLabel: String, y: String, xLog: Bool = false,
        yLog: Bool = false
    )
        -> SVGPlot
    {
        var plot = SVGPlot(
            title: title, xLabel: xLabel, yLabel: y, series: [], xLog: xLog, yLog: yLog, integralX: false)
        for (i, series) in seriesNames.enumerated() {
            let pts = points(series)
            let values = pts.map { p in p.runs.map { $0.summary[keyPath: figure] }.filter(\.isFinite) }
            plot.series.append(
                (
                    series,
                    zip(pts, values).filter { !$1.isEmpty }.map { p, v in (p.x, v.reduce(0, +) / Double(v.count)) }
                ))
            plot.bands.append(zip(pts, values).filter { !$1.isEmpty }.map { p, v in (p.x, v.min()!, v.max()!) })
            if series == "ideal" { plot.dashed.insert(i) }
        }
        return plot
    }

    /// Each series' final perplexity less ideal FL's at the same x and seed (the seeds' own spread,
    /// different data and channels, would hide it): mean and min–max over the seeds.
    func differenceFigure(xLabel: String, xLog: Bool) -> SVGPlot? {
        guard seriesNames.contains("ideal") else { return nil }
        var plot = SVGPlot(
            title: "Final held-out perplexity minus ideal FL's, paired by seed (mean, band: min–max)", xLabel: xLabel,
            yLabel: "Δ perplexity", series: [], xLog: xLog, integralX: false)
        for series in seriesNames where !series.hasPrefix("ideal") {
            let ideal = Dictionary(points(reference(of: series)).map { ($0.x, $0.runs) }) { a, _ in a }
            var line = [(x: Double, y: Double)]()
            var band = [(x: Double, low: Double, high: Double)]()
            for p in points(series) {
                guard let reference = ideal[p.x] else { continue }
                let d = p.runs.compactMap { run in
                    reference.first { $0.seed == run.seed }.map {
                        run.summary.finalPerplexity - $0.summary.finalPerplexity
                    }
                }.filter(\.isFinite)
                guard !d.isEmpty else { continue }
                line.append((p.x, d.reduce(0, +) / Double(d.count)))
                band.append((p.x, d.min()!, d.max()!))
            }
            plot.series.append((series, line))
            plot.bands.append(band)
        }
        plot.series.append(("ideal FL (0)", Set(points("ideal").map(\.x)).sorted().map { ($0, 0) }))
        plot.bands.append([])
        plot.dashed.insert(plot.series.count - 1)
        return plot
    }

    /// G(r, A*(r)) per rank as the planned runs of `series` recorded it (mean over their seeds).
    func gapByRank(_ series: String) -> [(rank: Int, gap: Double)] {
        var values = [Int: [Double]]()
        for (v, variant) in variants.enumerated() where variant.series == series {
            for run in runs[v] {
                for (r, g) in run.summary.rankPlanning?.gapByRank ?? [:] { values[r, default: []].append(g) }
            }
        }
        return values.keys.sorted().map { ($0, values[$0]!.reduce(0, +) / Double(values[$0]!.count)) }
    }

    /// The rank experiment: measured final held-out loss and the bound per rank, per series, and
    /// whether the planned rank sits where the measured loss is lowest.
    func rankMarkdown() -> String {
        var md = "## The bound G(r) beside the measured loss\n\n"
        md +=
            "G(r, A*(r)) is what the planner minimises (docs/optimality-gap.md), recorded by each planned run for "
            + "every rank up to r_max "
        md +=
            "with that rank's own beamformers; the measured loss is the final held-out loss of runs at that rank "
            + "(fixed-rank runs, and the planned runs at their rank).\n\n"
        md +=
            "| series | rank | runs | measured final held-out loss | G(r) (mean over planned seeds) |\n| --- | ---: "
            + "| ---: | ---: | ---: |\n"
        for series in seriesNames {
            let gaps = Dictionary(gapByRank(series).map { ($0.rank, $0.gap) }) { a, _ in a }
            let measured = points(series)
            // The measured ranks, and where the bound is smallest (r_max may be large: one row each).
            let argmin = gaps.min { $0.value < $1.value || ($0.value == $1.value && $0.key < $1.key) }?.key
            let ranks = Set(measured.map { Int($0.x) } + (argmin.map { [$0] } ?? [])).sorted()
            // One run per (rank, seed): a planned run at rank r and the fixed-rank r run of the same
            // seed would count twice.
            let perSeed = Dictionary(
                measured.map { (Int($0.x), Dictionary($0.runs.map { ($0.seed, $0) }) { a, _ in a }) }
            ) { a, _ in a }
            for r in ranks {
                let runs = Array(perSeed[r]?.values ?? [:].values)
                let loss = format(Self.stats(runs.map { $0.summary.finalHeldoutLoss }), "%.4f")
                let gap =
                    gaps[r].map { String(format: "%.4f", $0) }
                    ?? (gaps.isEmpty ? "(no planned run)" : "— (beyond r_max)")
                md += "| \(series) | \(r) | \(runs.count) | \(loss) | \(gap) |\n"
            }
            if let argmin, let top = gaps.keys.max() {
                md += "| \(series) | G(r) over r = 1…\(top) is smallest at r = \(argmin) | | | |\n"
            }
            // Per seed (seeds differ far more than ranks do): the planned rank against the rank whose
            // run of that seed reached the lowest held-out loss.
            let planned = variants.indices.filter { variants[$0].series == series && variants[$0].x == "rank" }.flatMap
            { runs[$0] }
            .sorted { $0.seed < $1.seed }
            var chosen = [String]()
            var best = [String]()
            var hits = 0
            for run in planned {
                let candidates = perSeed.compactMap { r, bySeed in
                    bySeed[run.seed].map { (rank: r, loss: $0.summary.finalHeldoutLoss) }
                }.filter { $0.loss.isFinite }
                guard
                    let lowest = candidates.min(by: { $0.loss < $1.loss || ($0.loss == $1.loss && $0.rank < $1.rank) })
                else { continue }
                chosen.append(String(run.summary.rank))
                best.append(String(lowest.rank))
                if lowest.rank == run.summary.rank { hits += 1 }
            }
            if !chosen.isEmpty {
                md +=
                    "\n**\(series):** planned rank \(chosen.joined(separator: "/")) (seeds "
                    + "\(planned.map { String($0.seed) }.joined(separator: "/"))); "
                md +=
                    "the lowest measured loss of each seed at rank \(best.joined(separator: "/")): the planner chose "
                    + "the best measured rank on \(hits) of \(chosen.count) seeds.\n\n"
            }
        }
        return md
    }
}
