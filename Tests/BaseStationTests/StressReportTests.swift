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
        func run(_ ours: Double, _ raw: Double, rss: Int) -> [String: Any] {
            ["mb_per_s": ours, "raw_zmq": ["mb_per_s": raw], "ratio_to_raw_zmq": ours / raw, "peak_rss_bytes": rss]
        }
        let runs = [run(300, 1000, rss: 10), run(500, 1000, rss: 30), run(400, 1000, rss: 20)]
        let row = StressReportCommand.combine(runs)
        XCTAssertEqual(row["mb_per_s"] as? Double, 400)
        XCTAssertEqual(row["peak_rss_bytes"] as? Int, 20, "every figure from the median run")
        XCTAssertEqual(row["reps"] as? Int, 3)
        XCTAssertEqual(row["ratio_min"] as? Double, 0.3)
        XCTAssertEqual(row["ratio_max"] as? Double, 0.5)
        XCTAssertEqual(row["peak_rss_bytes_max"] as? Int, 30)
        XCTAssertEqual((row["runs"] as? [[String: Any]])?.compactMap { $0["mb_per_s"] as? Double }, [300, 500, 400], "in the order measured")

        XCTAssertEqual(StressReportCommand.combine(Array(runs.prefix(2)))["mb_per_s"] as? Double, 300, "lower median of two")
        let single = StressReportCommand.combine([runs[1]])
        XCTAssertEqual(single["reps"] as? Int, 1)
        XCTAssertNil(single["runs"], "one run: nothing to list")
    }
}
