import Dispatch
import XCTest

@testable import LinkEmulator

/// One direction of `lab link`: seeded loss at the asked rate, serialisation at the line
/// rate plus the delay, the queue limit, and a cut that drops what is queued and what arrives.
final class LinkDirectionTests: XCTestCase {
    func testLossIsSeededAndAtTheAskedRate() {
        func delivered(seed: UInt64) -> Int {
            let line = LinkDirection(
                name: "t", delayMs: 0, bitsPerSecond: 1e12, loss: 0.05, queueLimit: 100_000, seed: seed, stream: 0)
            for _ in 0..<20_000 { line.offer([0], now: 0) }
            return line.snapshot.lost
        }
        let lost = delivered(seed: 1)
        XCTAssertEqual(lost, delivered(seed: 1), "the same seed loses the same packets")
        XCTAssertNotEqual(lost, delivered(seed: 2))
        // 20,000 Bernoulli(0.05) draws: 1000 ± 31 (one σ); 5 σ either way.
        XCTAssertEqual(Double(lost), 1000, accuracy: 155)
    }

    func testPacketsLeaveAfterSerialisationAndTheDelayInOrder() {
        // 1 Mbit/s: a 1250-byte packet takes 10 ms on the line; then 30 ms of delay.
        let line = LinkDirection(
            name: "t", delayMs: 30, bitsPerSecond: 1e6, loss: 0, queueLimit: 10, seed: 1, stream: 0)
        let start = DispatchTime.now().uptimeNanoseconds
        for i in 0..<3 { line.offer([UInt8](repeating: UInt8(i), count: 1250), now: start) }
        var times: [Double] = []
        for i in 0..<3 {
            XCTAssertEqual(line.nextDue().first, UInt8(i))
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        for (i, t) in times.enumerated() {
            XCTAssertGreaterThanOrEqual(t, Double(10 * (i + 1) + 30) - 0.01, "packet \(i) left at \(t) ms")
        }
    }

    func testAFullQueueDropsTheNewestAndACutDropsEverything() {
        let line = LinkDirection(
            name: "t", delayMs: 10_000, bitsPerSecond: 1e9, loss: 0, queueLimit: 4, seed: 1, stream: 0)
        for _ in 0..<6 { line.offer([1, 2, 3]) }
        XCTAssertEqual(line.snapshot.overflowed, 2)
        line.setCut(true)
        line.offer([4])
        XCTAssertEqual(line.snapshot.cut, 5, "the 4 queued and the one that arrived while cut")
        line.setCut(false)
        let open = LinkDirection(name: "t", delayMs: 0, bitsPerSecond: 1e9, loss: 0, queueLimit: 4, seed: 1, stream: 0)
        open.offer([9])
        XCTAssertEqual(open.nextDue(), [9])
        XCTAssertEqual(open.snapshot.delivered, 1)
    }

    func testLineRatesInTcUnits() {
        XCTAssertEqual(parseLineRate("100mbit"), 1e8)
        XCTAssertEqual(parseLineRate("500kbit"), 5e5)
        XCTAssertEqual(parseLineRate("1gbit"), 1e9)
        XCTAssertEqual(parseLineRate("9600bit"), 9600)
        XCTAssertNil(parseLineRate("100mb"))
        XCTAssertNil(parseLineRate("-5mbit"))
        XCTAssertNil(parseLineRate("mbit"))
    }
}
