import BaseStation
import CommandLineSupport
import Foundation

/// The bound's calibration (docs/optimality-gap.md): the differences G predicts between ranks or
/// powers beside the measured differences of the final held-out loss, seed by seed. G is an upper
/// bound on the loss's excess, so a calibrated bound moves with the loss: same sign, similar size.
extension ExperimentReport {
    /// One comparison: at `x` (a rank, or a power in dB), the predicted G(x) − G(reference) and
    /// the measured loss(x) − loss(reference), one pair per seed.
    struct CalibrationPoint {
        var series: String
        var x: Double
        var pairs: [(seed: UInt64, predicted: Double, measured: Double)]
    }

    /// G(r, A*(r)) of every rank a planned run recorded (`rank_planning.gaps_every_rank`).
    static func gaps(of run: ExperimentRun) -> [Int: Double] {
        run.summary.rankPlanning?.gapByRank ?? [:]
    }

    /// Rank experiment: per series, each fixed rank against the planned run of the same seed, G from
    /// that planned run's own pilot.
    func rankCalibration() -> [CalibrationPoint] {
        seriesNames.flatMap { series -> [CalibrationPoint] in
            let planned = Dictionary(
                variants.indices.filter { variants[$0].series == series && variants[$0].x == "rank" }
                    .flatMap { runs[$0] }.map { ($0.seed, $0) }
            ) { a, _ in a }
            guard !planned.isEmpty else { return [] }
            return points(series).compactMap { p -> CalibrationPoint? in
                let fixed = p.variants.filter { variants[$0].x != "rank" }.flatMap { runs[$0] }
                let pairs = fixed.compactMap { run -> (UInt64, Double, Double)? in
                    guard let reference = planned[run.seed], let g = Self.gaps(of: reference)[Int(p.x)],
                        let g0 = Self.gaps(of: reference)[reference.summary.rank]
                    else { return nil }
                    let measured = run.summary.finalHeldoutLoss - reference.summary.finalHeldoutLoss
                    return measured.isFinite ? (run.seed, g - g0, measured) : nil
                }
                return pairs.isEmpty
                    ? nil : CalibrationPoint(series: series, x: p.x, pairs: pairs.map { ($0.0, $0.1, $0.2) })
            }
        }
    }

    /// Power sweep: the planned series at each power against its own point at the highest power,
    /// G the planner's value at the rank it chose (`rank_planning.gap`).
    func powerCalibration(series: String = "airfl-lora") -> [CalibrationPoint] {
        let pts = points(series)
        guard let top = pts.last else { return [] }
        let reference = Dictionary(top.runs.map { ($0.seed, $0) }) { a, _ in a }
        func gap(_ run: ExperimentRun) -> Double {
            run.summary.rankPlanning?.gap ?? .nan
        }
        return pts.dropLast().compactMap { p in
            let pairs = p.runs.compactMap { run -> (seed: UInt64, predicted: Double, measured: Double)? in
                guard let r = reference[run.seed] else { return nil }
                let predicted = gap(run) - gap(r)
                let measured = run.summary.finalHeldoutLoss - r.summary.finalHeldoutLoss
                return predicted.isFinite && measured.isFinite ? (run.seed, predicted, measured) : nil
            }
            return pairs.isEmpty ? nil : CalibrationPoint(series: series, x: p.x, pairs: pairs)
        }
    }

    /// The calibration table: predicted and measured differences (nats/token), the measured one's
    /// 95 % interval over seeds, and on how many seeds the two agree in sign.
    func calibrationMarkdown(_ points: [CalibrationPoint], xLabel: String, against: String) -> String {
        guard !points.isEmpty else { return "" }
        var md = "## The bound's calibration: predicted against measured differences\n\n"
        md +=
            "Per seed, G's difference (what the planner predicted, nats/token) and the measured final held-out "
            + "loss's difference (nats/token), "
        md +=
            "each against \(against) of the same seed. A calibrated bound moves with the loss: the same sign, a "
            + "similar size.\n\n"
        md +=
            "| series | \(xLabel) | seeds | predicted ΔG | measured Δloss | 95 % interval | same sign |\n| --- | "
            + "---: | ---: | ---: | ---: | ---: | ---: |\n"
        for p in points {
            let predicted = Self.stats(p.pairs.map(\.predicted))
            let measured = Self.stats(p.pairs.map(\.measured))
            let half = Self.halfWidth95(measured)
            let interval =
                measured.count < 2 ? "—" : String(format: "[%+.4f, %+.4f]", measured.mean - half, measured.mean + half)
            let agree = p.pairs.filter { ($0.predicted > 0) == ($0.measured > 0) }.count
            md +=
                "| \(p.series) | \(String(format: "%g", p.x)) | \(p.pairs.count) | "
                + "\(String(format: "%+.4f", predicted.mean)) | "
            md += "\(String(format: "%+.4f", measured.mean)) | \(interval) | \(agree) of \(p.pairs.count) |\n"
        }
        return md + "\n![predicted against measured differences](calibration.svg)\n"
    }

    /// Measured against predicted differences, one line per series (points ordered by the
    /// prediction), beside the diagonal a calibrated bound would lie on.
    func calibrationFigure(_ points: [CalibrationPoint]) -> SVGPlot? {
        guard !points.isEmpty else { return nil }
        var plot = SVGPlot(
            title: "Measured Δ final held-out loss against the bound's predicted ΔG (mean over seeds)",
            xLabel: "predicted ΔG (nats/token)",
            yLabel: "measured Δ loss (nats/token)", series: [], integralX: false)
        var all = [Double]()
        for series in Set(points.map(\.series)).sorted() {
            let line = points.filter { $0.series == series }.map { p in
                (x: Self.stats(p.pairs.map(\.predicted)).mean, y: Self.stats(p.pairs.map(\.measured)).mean)
            }.sorted { $0.x < $1.x }
            all += line.flatMap { [$0.x, $0.y] }
            plot.series.append((series, line))
            plot.bands.append([])
        }
        let low = min(all.min() ?? 0, 0)
        let high = max(all.max() ?? 0, 0)
        plot.series.append(("measured = predicted", [(low, low), (high, high)]))
        plot.bands.append([])
        plot.dashed.insert(plot.series.count - 1)
        return plot
    }
}
