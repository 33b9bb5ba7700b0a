import CommandLineSupport
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
                HTTPResponse(
                    statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
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
        guard !fresh || FileManager.default.createFile(atPath: path, contents: nil),
            let handle = FileHandle(forWritingAtPath: path)
        else {
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
        let record = LiveMetricsLine(
            time: ISO8601DateFormatter().string(from: Date()), elapsedS: Date().timeIntervalSince(started),
            rounds: v.rounds, framesIn: v.framesIn, bytesIn: v.bytesIn, framesDropped: v.dropped,
            symbolsCombined: v.symbolsCombined, lastRoundS: v.lastRoundSeconds, aggregationMse: v.mse,
            heldoutLoss: v.heldOutLoss, nodesRegistered: v.nodes, aggregateEnergyRatio: v.aggregateEnergyRatio,
            roundsEnergyFlagged: v.roundsEnergyFlagged)
        guard var line = try? JSONRecord.line(record) else { return }
        line.append(0x0A)
        try? handle.write(contentsOf: line)
    }
}

struct MetricsError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One line of live-metrics.jsonl: the live figures at a moment (seconds since the log opened, the
/// last round's wall time in seconds, the aggregation MSE per unit-power symbol, the held-out loss
/// in nats/token; null until measured).
struct LiveMetricsLine: Codable {
    var time: String
    var elapsedS: Double
    /// Rounds finished, by `RoundStatus`.
    var rounds: [String: Int]
    var framesIn: Int
    var bytesIn: Int
    /// By `DropReason` label.
    var framesDropped: [String: Int]
    var symbolsCombined: Int
    @Measured var lastRoundS: Double
    @Measured var aggregationMse: Double
    @Measured var heldoutLoss: Double
    var nodesRegistered: Int
    /// The last aggregate's energy over its bound, and the rounds flagged so far (`AggregateEnergyCheck`).
    @Measured var aggregateEnergyRatio: Double
    var roundsEnergyFlagged: Int

    enum CodingKeys: String, CodingKey {
        case time
        case elapsedS = "elapsed_s"
        case rounds
        case framesIn = "frames_in"
        case bytesIn = "bytes_in"
        case framesDropped = "frames_dropped"
        case symbolsCombined = "symbols_combined"
        case lastRoundS = "last_round_s"
        case aggregationMse = "aggregation_mse"
        case heldoutLoss = "heldout_loss"
        case nodesRegistered = "nodes_registered"
        case aggregateEnergyRatio = "aggregate_energy_ratio"
        case roundsEnergyFlagged = "rounds_energy_flagged"
    }
}
