import XCTest

@testable import BaseStation
@testable import ExperimentReports

/// The sweep report's arithmetic on made-up runs: points by x, the knee, differences paired by
/// seed, the rank table's verdict, and log-axis ticks.
final class SweepReportTests: XCTestCase {
    func run(_ seed: UInt64, perplexity: Double, rank: Int = 4, loss: Double = 3, gaps: [String: Double]? = nil)
        -> ExperimentRun
    {
        ExperimentRun(
            seed: seed,
            summary: .fixture(perplexity: perplexity, heldOutLoss: loss, rank: rank, gapsEveryRank: gaps))
    }

    func sweep(_ curve: [(x: Double, ideal: [Double], method: [Double])]) -> ExperimentReport {
        var variants = [ExperimentVariant]()
        var runs = [[ExperimentRun]]()
        for p in curve {
            variants.append(
                ExperimentVariant(name: "ideal-\(p.x)", description: "", options: "", series: "ideal", x: "\(p.x)"))
            runs.append(p.ideal.enumerated().map { run(UInt64($0.offset + 1), perplexity: $0.element) })
            variants.append(
                ExperimentVariant(name: "m-\(p.x)", description: "", options: "", series: "airfl-lora", x: "\(p.x)"))
            runs.append(p.method.enumerated().map { run(UInt64($0.offset + 1), perplexity: $0.element) })
        }
        return ExperimentReport(name: "power", scenario: "s.toml", seeds: [1, 2], variants: variants, runs: runs)
    }

    func testKneeIsTheHighestPowerThatIsClearlyWorse() {
        let report = sweep([
            (0, [40, 41], [40.1, 41.0]), (-20, [40, 41], [40.9, 41.5]), (-40, [40, 41], [45, 46]),
        ])
        XCTAssertEqual(report.points("airfl-lora").map(\.x), [-40, -20, 0])
        XCTAssertEqual(report.knee(), -20, "−20 dB is 1.7 % worse, 0 dB only 0.1 %")
        XCTAssertEqual(
            sweep([(0, [40, 41], [40, 41]), (-20, [40, 41], [40.1, 41])]).knee(), -20, "none worse: the lowest power")
        let difference = try! XCTUnwrap(report.differenceFigure(xLabel: "dB", xLog: false))
        XCTAssertEqual(difference.series[0].points.map(\.y), [5, 0.7, 0.05].map { $0 }, accuracy: 1e-9)
        XCTAssertTrue(
            report.sweepMarkdown(xLabel: "dB").contains(
                "| airfl-lora | -40 | +5.000 ± 0.000 | +12.35 % | worse than ideal FL |"))
    }

    func testRankVerdictComparesThePlannedRankWithTheLowestMeasuredLoss() {
        let gaps = ["1": 3.0, "2": 2.0, "3": 2.5]
        let variants = [
            ExperimentVariant(name: "r1", description: "", options: "", series: "low", x: "1"),
            ExperimentVariant(name: "planned", description: "", options: "", series: "low", x: "rank"),
        ]
        let runs = [
            [run(1, perplexity: 30, rank: 1, loss: 3.4), run(2, perplexity: 30, rank: 1, loss: 3.4)],
            [
                run(1, perplexity: 30, rank: 2, loss: 3.5, gaps: gaps),
                run(2, perplexity: 30, rank: 2, loss: 3.5, gaps: gaps),
            ],
        ]
        let md = ExperimentReport(name: "rank", scenario: "s.toml", seeds: [1, 2], variants: variants, runs: runs)
            .rankMarkdown()
        XCTAssertTrue(md.contains("G(r) over r = 1…3 is smallest at r = 2"), md)
        XCTAssertTrue(
            md.contains(
                "planned rank 2/2 (seeds 1/2); the lowest measured loss of each seed at rank 1/1: the planner chose "
                    + "the best measured rank on 0 of 2 seeds."
            ), md)
    }

    /// The calibration pairs each fixed rank with the planned run of its seed: ΔG from that run's
    /// own gaps, Δloss measured; the sign agreement counted per seed.
    func testRankCalibrationPairsPredictedAndMeasuredDifferencesBySeed() {
        let gaps = ["1": 3.0, "2": 2.0, "3": 2.5]
        let variants = [
            ExperimentVariant(name: "r1", description: "", options: "", series: "low", x: "1"),
            ExperimentVariant(name: "r3", description: "", options: "", series: "low", x: "3"),
            ExperimentVariant(name: "planned", description: "", options: "", series: "low", x: "rank"),
        ]
        let runs = [
            [run(1, perplexity: 30, rank: 1, loss: 3.6), run(2, perplexity: 30, rank: 1, loss: 3.4)],
            [run(1, perplexity: 30, rank: 3, loss: 3.45), run(2, perplexity: 30, rank: 3, loss: 3.55)],
            [
                run(1, perplexity: 30, rank: 2, loss: 3.5, gaps: gaps),
                run(2, perplexity: 30, rank: 2, loss: 3.5, gaps: gaps),
            ],
        ]
        let report = ExperimentReport(name: "rank", scenario: "s.toml", seeds: [1, 2], variants: variants, runs: runs)
        let points = report.rankCalibration()
        XCTAssertEqual(points.map(\.x), [1, 3], "the planned run is the reference, not a point")
        XCTAssertEqual(points[0].pairs.map(\.predicted), [1, 1])
        XCTAssertEqual(points[0].pairs.map(\.measured), [0.1, -0.1], accuracy: 1e-12)
        XCTAssertEqual(points[1].pairs.map(\.predicted), [0.5, 0.5])
        let md = report.calibrationMarkdown(points, xLabel: "rank", against: "the planned run")
        XCTAssertTrue(md.contains("| low | 1 | 2 | +1.0000 | +0.0000 |"), md)
        XCTAssertTrue(md.contains("| 1 of 2 |"), md)
        XCTAssertNotNil(report.calibrationFigure(points))
    }

    func testLogTicks() {
        XCTAssertEqual(
            SVGPlot.logTicks(from: -3, to: -1), [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1].map { $0 }, accuracy: 1e-15
        )
        XCTAssertEqual(SVGPlot.logTicks(from: -6.2, to: -0.5), [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1], accuracy: 1e-18)
        let svg = SVGPlot(
            title: "t", xLabel: "x", yLabel: "y", series: [("a", [(4, 1e-3), (8, 1e-5)]), ("none", [(4, 0)])],
            xLog: true, yLog: true
        ).render()
        XCTAssertTrue(svg.contains(">a</text>") && !svg.contains(">none</text>"), "the legend names only what is drawn")
        // A log axis too narrow for 1-2-5 ticks still gets labels (0.012…0.018: none of 0.01, 0.02, 0.05 inside).
        let narrow = SVGPlot(
            title: "t", xLabel: "x", yLabel: "y", series: [("a", [(1, 0.0125), (2, 0.0175)])], yLog: true
        ).render()
        XCTAssertTrue(narrow.contains(">0.014</text>") || narrow.contains(">0.015</text>"), narrow)
    }
}

private func XCTAssertEqual(
    _ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line
) {
    XCTAssertEqual(a.count, b.count, "\(a) vs \(b)", file: file, line: line)
    for (x, y) in zip(a, b) {
        XCTAssertEqual(x, y, accuracy: accuracy * max(1, abs(y)), "\(a) vs \(b)", file: file, line: line)
    }
}
