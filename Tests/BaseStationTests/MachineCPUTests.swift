import CommandLineSupport
import Foundation
import XCTest

@testable import BaseStation

/// The whole machine's busy time, as stress points record it: the right columns of /proc/stat, and
/// live, it covers this process's own CPU time and never more than every core for the whole span.
final class MachineCPUTests: XCTestCase {
    func testBusyTicksAreUserNiceSystemIrqAndSoftirq() {
        let stat = """
            cpu  100 2 30 4000 5 6 7 8 0 0
            cpu0 50 1 15 2000 2 3 3 4 0 0
            intr 12345
            """
        XCTAssertEqual(
            MachineCPU.busyTicks(procStat: stat), 145, "idle, iowait and steal left out; the per-core lines ignored")
        XCTAssertNil(MachineCPU.busyTicks(procStat: "cpu0 1 2 3 4 5 6 7\n"), "no all-cores line")
        XCTAssertNil(MachineCPU.busyTicks(procStat: "cpu  1 2 3\n"), "too few columns")
    }

    func testBusyTimeCoversThisProcessAndNoMoreThanEveryCore() throws {
        var span = MachineCPU.Span()
        span.sample()
        let ownStart = ProcessUsage.cpuSeconds()
        let wallStart = Date()
        var x = 1.0
        while ProcessUsage.cpuSeconds() - ownStart < 0.4 { x = (x * 1.000001).truncatingRemainder(dividingBy: 7) }
        span.sample()
        let own = ProcessUsage.cpuSeconds() - ownStart
        let wall = Date().timeIntervalSince(wallStart)
        let busy = try XCTUnwrap(span.coresBusy, "two samples give a rate (x = \(x))")
        // /proc/stat counts in ticks (1/100 s), and on a VM the hypervisor's steal is not busy
        // time while it can be in the process's: allow two ticks and a fifth.
        XCTAssertGreaterThanOrEqual(
            busy * wall, 0.8 * own - 0.02, "the machine was busy at least while this process spun")
        XCTAssertLessThanOrEqual(busy, Double(ProcessInfo.processInfo.activeProcessorCount) + 0.02 / wall)
    }

    func testCostPerByteIsBusyCoreNanosecondsOverBytes() throws {
        let cost = try XCTUnwrap(MachineCost(coresBusy: 1.5, bytes: 3_000_000_000, seconds: 2))
        XCTAssertEqual(cost.nsPerByte, 1.0, accuracy: 1e-12)
        XCTAssertEqual(cost.coresBusy, 1.5)
        XCTAssertNil(MachineCost(coresBusy: nil, bytes: 1, seconds: 1))
        XCTAssertNil(MachineCost(coresBusy: 1, bytes: 0, seconds: 1), "no bytes: no cost per byte")
    }
}
