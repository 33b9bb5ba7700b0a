import CommandLineSupport
import Foundation
import Logging
import XCTest

/// A line a peer can cause over and over: one per kind per interval, with the count held back.
final class RateLimitedLogTests: XCTestCase {
    final class Lines: @unchecked Sendable {
        let lock = NSLock()
        var all: [String] = []
        func add(_ s: String) {
            lock.lock()
            all.append(s)
            lock.unlock()
        }
    }

    struct Handler: LogHandler {
        let lines: Lines
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { lines.add("\(event.message)") }
    }

    final class Clock: @unchecked Sendable {
        var now: UInt64 = 0
    }

    func testOneLinePerKindPerIntervalWithTheCountHeldBack() {
        let lines = Lines()
        let clock = Clock()
        let log = Logger(label: "t") { _ in Handler(lines: lines) }
        let limited = RateLimitedLog(log: log, interval: 10, now: { clock.now })
        for _ in 0..<2000 { limited.warning(kind: "hello x", "registered x") }
        limited.warning(kind: "hello y", "registered y")
        XCTAssertEqual(lines.all, ["registered x", "registered y"])
        clock.now = 10_000_000_000
        limited.warning(kind: "hello x", "registered x")
        XCTAssertEqual(lines.all.last, "registered x (and 1999 more like it since the last)")
        // Kinds beyond the cap share one.
        for i in 0..<(2 * RateLimitedLog.maximumKinds) { limited.info(kind: "k\(i)", "line \(i)") }
        XCTAssertLessThanOrEqual(lines.all.count, 3 + RateLimitedLog.maximumKinds)
    }

    func testTheOpenFileLimitIsRaisedToTheHardLimit() throws {
        var hard = rlimit()
        XCTAssertEqual(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &hard), 0)
        let raised = try XCTUnwrap(OpenFileLimit.raiseToHardLimit())
        XCTAssertEqual(raised.after, UInt64(hard.rlim_max))
        XCTAssertEqual(OpenFileLimit.current, UInt64(hard.rlim_max))
        XCTAssertTrue(OpenFileLimit.describeRaise(raised).contains("\(raised.after)"))
    }
}
