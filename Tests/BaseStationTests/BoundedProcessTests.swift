import XCTest

/// The runner every launch-script test goes through: it must return when the script ends, even
/// when a daemon the script started still holds its output, and end a script that overruns.
final class BoundedProcessTests: XCTestCase {
    func testADaemonHoldingTheOutputDoesNotKeepTheRunnerWaiting() throws {
        let start = Date()
        let run = try runScript("(sleep 30 &) ; echo started", timeoutSeconds: 60)
        XCTAssertEqual(run.status, 0)
        XCTAssertEqual(run.output, "started\n")
        XCTAssertLessThan(Date().timeIntervalSince(start), 10, "the runner waited for the background sleep")
    }

    func testAnOverrunningScriptIsKilledWithItsGroupAndSaysSo() throws {
        let run = try runScript("sleep 60 & wait", timeoutSeconds: 1)
        XCTAssertEqual(run.status, 124)
        XCTAssertTrue(run.output.contains("killed after 1 s"), run.output)
        XCTAssertEqual(try runScript("exit 3").status, 3)
    }
}
