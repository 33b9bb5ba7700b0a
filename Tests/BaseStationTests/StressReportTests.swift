import CommandLineSupport
import XCTest

@testable import BaseStation

/// How `stress-report` gathers a point's repeated runs (`launch/stress.sh --reps N`).
final class StressReportTests: XCTestCase {
    func testRepetitionSuffixIsTheOnlyPartDropped() {
        XCTAssertEqual(StressReportCommand.pointName("k4-f64k-cf32-r2"), "k4-f64k-cf32")
        XCTAssertEqual(StressReportCommand.pointName("k4-f64k-cf32-curve-r10"), "k4-f64k-cf32-curve")
        XCTAssertEqual(StressReportCommand.pointName("k4-f64k-cf32-curve"), "k4-f64k-cf32-curve")
        XCTAssertEqual(StressReportCommand.pointName("k4-f64k-cf32"), "k4-f64k-cf32")
        XCTAssertEqual(StressReportCommand.pointName("k4-f64k-cf32-r"), "k4-f64k-cf32-r", "no number: not a repetition")
        XCTAssertEqual(StressReportCommand.pointName("k4-f64k-cf32-rx"), "k4-f64k-cf32-rx")
    }

    /// A stray file in the points folder is named in an error, not read as a point (nor a crash).
    func testFrameSizeComesFromThePointNameOrTheFileIsRefused() throws {
        XCTAssertEqual(try StressReportCommand.frameKiB("k16-f64k-cf32-curve"), 64)
        XCTAssertEqual(try StressReportCommand.frameKiB("k1-f256k-ci16"), 256)
        for stray in ["notes", "k4", "k4-64k-cf32", "k4-fxk-cf32", "k4-f64-cf32"] {
            XCTAssertThrowsError(try StressReportCommand.frameKiB(stray), stray) { error in
                XCTAssertTrue("\(error)".contains("\(stray).json"), "\(error)")
            }
        }
    }

    /// The row is the run with the median ratio, whole (its own raw peer and RSS), with every run
    /// listed and the ratio's range; an even count takes the lower median.
    func testRowIsTheMedianRunWithEveryRunBesideIt() throws {
        func run(_ ours: Double, _ raw: Double, rss: Int) -> StressReportRow {
            StressReportRow(
                point: .fixture(mbPerS: ours, peakRssBytes: rss), rawZmq: .fixture(mbPerS: raw), frameKib: 64)
        }
        let runs = [run(300, 1000, rss: 10), run(500, 1000, rss: 30), run(400, 1000, rss: 20)]
        let row = StressReportCommand.combine(runs)
        XCTAssertEqual(row.point.mbPerS, 400)
        XCTAssertEqual(row.point.peakRssBytes, 20, "every figure from the median run")
        XCTAssertEqual(row.reps, 3)
        XCTAssertEqual(row.ratioMin, 0.3)
        XCTAssertEqual(row.ratioMax, 0.5)
        XCTAssertEqual(row.peakRssBytesMax, 30)
        XCTAssertEqual(row.runs?.map(\.mbPerS), [300, 500, 400], "in the order measured")

        XCTAssertEqual(StressReportCommand.combine(Array(runs.prefix(2))).point.mbPerS, 300, "lower median of two")
        let single = StressReportCommand.combine([runs[1]])
        XCTAssertEqual(single.reps, 1)
        XCTAssertNil(single.runs, "one run: nothing to list")
    }

    /// A row is written with the point's keys at its top level, as `stress --json` wrote them, and
    /// read back as the same row; the ratio's split multiplies back to the ratio.
    func testRowRoundTripsWithThePointsKeysAtTheTop() throws {
        var point = StressPoint.fixture(mbPerS: 600, peakRssBytes: 5)
        point.machineCoresBusy = 1.5
        point.machineCpuNsPerByte = 2.5
        var raw = WireProbeResult.fixture(mbPerS: 1200)
        raw.machineCoresBusy = 1.8
        raw.machineCpuNsPerByte = 1.5
        let row = StressReportRow(point: point, rawZmq: raw, frameKib: 64)
        let data = try JSONRecord.encoded(row)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["mb_per_s"] as? Double, 600)
        XCTAssertEqual((object["raw_zmq"] as? [String: Any])?["mb_per_s"] as? Double, 1200)
        XCTAssertEqual(object["ratio_to_raw_zmq"] as? Double, 0.5)
        XCTAssertTrue(object["flood_cores_busy"] is NSNull, "an unmeasured figure is null, its key present")
        let back = try JSONDecoder().decode(StressReportRow.self, from: data)
        XCTAssertEqual(back.point, point)
        XCTAssertEqual(back.rawZmq, raw)
        XCTAssertEqual(try XCTUnwrap(row.costRatio) * XCTUnwrap(row.busyRatio), 0.5, accuracy: 1e-12)
    }
}

extension StressPoint {
    static func fixture(mbPerS: Double, peakRssBytes: Int) -> StressPoint {
        StressPoint(
            nodes: 4, rxAntennas: 16, txAntennas: 2, streams: 2, subcarriers: 64, roundSymbols: 10, format: "cf32",
            threads: 2, queueDepth: 4, highWaterMark: 16, windowFrames: 0, receiver: "combiner", summing: "workers",
            rounds: 3, incompleteRounds: 0, seconds: 1, framesIn: 10, bytesIn: 1000, framesPerS: 10, mbPerS: mbPerS,
            samplesIngestedPerS: 0, symbolsCombinedPerS: 0, subcarrierSpacingHz: 30e3, airSamplesPerS: 1,
            realTimeFactor: 0, latencyMs: .init(p50: 1, p99: 2, max: 3), cpuSeconds: 1,
            cpuCoresBusy: 1, peakRssBytes: peakRssBytes, cpusAllowed: "0-1", dropped: [:], sendsFailed: [:],
            nodesLeftOut: 0, machineCoresBusy: nil, machineCpuNsPerByte: nil, security: "plaintext",
            roundEnd: "serial")
    }
}

extension WireProbeResult {
    static func fixture(mbPerS: Double) -> WireProbeResult {
        WireProbeResult(
            frames: 10, bytes: 1000, seconds: 1, framesPerS: 10, mbPerS: mbPerS, cpuCoresBusy: 1, peakRssBytes: 1,
            security: "plaintext", cpusAllowed: "0-1", machineCoresBusy: nil, machineCpuNsPerByte: nil,
            floodCoresBusy: nil)
    }
}
