import Dispatch
import FlyingFox
import Foundation

/// `--metrics-listen HOST:PORT`: the live metrics over HTTP at `/metrics` in Prometheus' text
/// exposition format (FlyingFox's server on its own tasks, beside the receiving loop).
final class MetricsEndpoint: @unchecked Sendable {
    private let server: HTTPServer
    private let task: Task<Void, Never>
    /// Where it listens, as bound.
    let address: String

    /// Binds and starts serving; throws when the address cannot be bound (in use, not local).
    init(listen: String, metrics: LiveMetrics) throws {
        let parts = listen.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let port = UInt16(parts[1]), !parts[0].isEmpty else {
            throw MetricsError("--metrics-listen '\(listen)' is not HOST:PORT (e.g. 127.0.0.1:9464)")
        }
        let server = HTTPServer(address: try .inet(ip4: String(parts[0]), port: port), logger: .disabled)
        self.server = server
        let started = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        task = Task.detached {
            await server.appendRoute("GET /metrics") { _ in
                HTTPResponse(statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                             body: Data(metrics.exposition().utf8))
            }
            let listening = Task {
                try? await server.waitUntilListening(timeout: 10)
                outcome.listening = await server.listeningAddress != nil
                started.signal()
            }
            do { try await server.run() } catch {
                outcome.error = "\(error)"
                listening.cancel()
                started.signal()
            }
        }
        started.wait()
        guard outcome.listening, outcome.error == nil else {
            task.cancel()
            throw MetricsError("cannot serve metrics on \(listen): \(outcome.error ?? "not listening")")
        }
        address = listen
    }

    deinit { task.cancel() }

    private final class Outcome: @unchecked Sendable {
        var listening = false
        var error: String?
    }
}

/// The live metrics as JSON lines, one object a second (and one at the end): the same figures as
/// `/metrics`, for runs nobody scrapes.
final class MetricsLog: @unchecked Sendable {
    private let timer: DispatchSourceTimer
    private let handle: FileHandle
    private let metrics: LiveMetrics
    private let started = Date()
    private let queue = DispatchQueue(label: "airfl.metrics.log")

    /// `appending`: after the lines already there (a resumed run's earlier sittings).
    init(path: String, metrics: LiveMetrics, appending: Bool = false) throws {
        let fresh = !appending || !FileManager.default.fileExists(atPath: path)
        guard !fresh || FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw MetricsError("cannot write the metrics log \(path)")
        }
        if !fresh { handle.seekToEndOfFile() }
        self.handle = handle
        self.metrics = metrics
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { [weak self] in self?.writeLine() }
        timer.resume()
    }

    /// The last line, then the file closed.
    func close() {
        timer.cancel()
        queue.sync { writeLine() }
        try? handle.close()
    }

    private func writeLine() {
        let v = metrics.snapshot
        func finite(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
        let object: [String: Any] = [
            "time": ISO8601DateFormatter().string(from: Date()), "elapsed_s": Date().timeIntervalSince(started),
            "rounds": v.rounds, "frames_in": v.framesIn, "bytes_in": v.bytesIn, "frames_dropped": v.dropped,
            "symbols_combined": v.symbolsCombined, "last_round_s": finite(v.lastRoundSeconds), "aggregation_mse": finite(v.mse),
            "heldout_loss": finite(v.heldOutLoss), "nodes_registered": v.nodes,
        ]
        guard var line = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
        line.append(0x0A)
        try? handle.write(contentsOf: line)
    }
}

struct MetricsError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
