import Foundation
import XCTest

@testable import BaseStation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The live metrics of a running base station: `/metrics` scraped during a run of the tiny fleet
/// and checked by Prometheus' own `promtool check metrics`, and the JSONL log beside it.
final class LiveMetricsTests: XCTestCase {
    func testMetricsScrapedDuringARunPassPromtoolAndTheLogAgrees() throws {
        let pi4 = InMemoryFleet.profile("raspberry-pi-4")
        let pi5 = InMemoryFleet.profile("raspberry-pi-5")
        let directory = try temporaryDirectory(self)
        let fleet = try InMemoryFleet(in: directory, nodes: [("a", pi4), ("b", pi5)], rounds: 3)
        let port = 19_400 + Int.random(in: 0..<500)
        let endpoint = try MetricsEndpoint(listen: "127.0.0.1:\(port)", metrics: fleet.server.metrics)
        XCTAssertThrowsError(
            try MetricsEndpoint(listen: "127.0.0.1:\(port)", metrics: fleet.server.metrics), "the port is taken")
        XCTAssertThrowsError(try MetricsEndpoint(listen: "no-port", metrics: fleet.server.metrics))
        let logPath = directory.appendingPathComponent("live-metrics.jsonl").path
        let log = try MetricsLog(path: logPath, metrics: fleet.server.metrics)

        // Scrape every 100 ms while the run goes on; keep every body.
        let scrapes = Scrapes()
        let stop = DispatchSemaphore(value: 0)
        let scraper = Thread {
            while stop.wait(timeout: .now() + 0.1) == .timedOut {
                if let body = Self.get("http://127.0.0.1:\(port)/metrics") { scrapes.add(body) }
            }
        }
        scraper.start()
        try fleet.startFirmware("a", profile: pi4)
        try fleet.startFirmware("b", profile: pi5)
        _ = try fleet.run()
        Thread.sleep(forTimeInterval: 0.3)
        stop.signal()
        log.close()
        withExtendedLifetime(endpoint) {}

        let bodies = scrapes.all
        XCTAssertGreaterThan(bodies.count, 3, "scraped while the run went on")
        let during = try XCTUnwrap(
            bodies.first { $0.contains("airfl_rounds_total") && !$0.contains("airfl_rounds_total{status=\"ok\"} 3") },
            "a scrape taken mid-run")
        let last = try XCTUnwrap(bodies.last)
        for body in [during, last] {
            let (status, output) = try Self.promtool(body)
            XCTAssertEqual(status, 0, "promtool check metrics: \(output)")
            XCTAssertFalse(output.contains("error"), output)
        }
        XCTAssertTrue(last.contains("airfl_rounds_total{status=\"ok\"} 3"), last)
        XCTAssertTrue(last.contains("airfl_round_duration_seconds_count 3"), last)
        for name in [
            "airfl_frames_received_total", "airfl_bytes_received_total", "airfl_symbols_combined_total",
            "airfl_aggregation_mse",
            "airfl_heldout_loss", "airfl_nodes_registered 2",
        ] {
            XCTAssertTrue(last.contains(name), "\(name) in \(last)")
        }

        let lines = try String(contentsOfFile: logPath, encoding: .utf8).split(separator: "\n")
        let final = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(lines.last).utf8)) as? [String: Any])
        let elapsed = try XCTUnwrap(final["elapsed_s"] as? Double)
        XCTAssertGreaterThanOrEqual(lines.count, Int(elapsed), "one line a second (\(elapsed) s) and one at the end")
        XCTAssertEqual((final["rounds"] as? [String: Int])?["ok"], 3)
        XCTAssertEqual(final["nodes_registered"] as? Int, 2)
        let frames = try XCTUnwrap(final["frames_in"] as? Int)
        XCTAssertTrue(
            last.contains("airfl_frames_received_total \(frames)"), "the log and /metrics agree on \(frames) frames")
    }

    private final class Scrapes: @unchecked Sendable {
        private let lock = NSLock()
        private var bodies = [String]()
        func add(_ body: String) {
            lock.lock()
            bodies.append(body)
            lock.unlock()
        }
        var all: [String] {
            lock.lock()
            defer { lock.unlock() }
            return bodies
        }
    }

    static func get(_ url: String) -> String? {
        let done = DispatchSemaphore(value: 0)
        // A box under a lock: a reply after the 5 s wait must not race the read below.
        let body = Scrapes()
        URLSession.shared.dataTask(with: URL(string: url)!) { data, response, _ in
            if (response as? HTTPURLResponse)?.statusCode == 200, let data {
                body.add(String(decoding: data, as: UTF8.self))
            }
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 5)
        return body.all.first
    }

    /// `promtool check metrics` on `body` (stdin): its status and output. Debian's `prometheus`
    /// package, which `launch/test.sh` installs.
    static func promtool(_ body: String) throws -> (Int32, String) {
        guard
            let tool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first(where: {
                FileManager.default.isExecutableFile(atPath: $0)
            })
        else {
            XCTFail("promtool is missing: install Debian's prometheus package (launch/test.sh does)")
            return (-1, "")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = output
        try p.run()
        input.fileHandleForWriting.write(Data(body.utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }
}
