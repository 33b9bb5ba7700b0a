import Foundation
import Prometheus
import Wire

/// The base station's live figures, for `serve` and `stress` alike: kept in a swift-prometheus
/// registry (scraped at `/metrics`, `MetricsEndpoint`) and in plain values for the JSONL file
/// written each second (`MetricsLog`). The receiving loop updates them; the HTTP server and the
/// log read them from their own threads.
///
/// Names (Prometheus conventions: base units, `_total` counters):
///
///     airfl_rounds_total{status}            rounds finished, by outcome (ok, rejected, …)
///     airfl_frames_received_total           frames in, every type
///     airfl_bytes_received_total            bytes in
///     airfl_frames_dropped_total{reason}    frames dropped, by reason
///     airfl_symbols_combined_total          complex symbols out of the combiner
///     airfl_round_duration_seconds          round-completion latency (histogram)
///     airfl_aggregation_mse                 the last round's measured MSE per unit-power symbol
///     airfl_heldout_loss                    the last held-out loss, nats per token
///     airfl_nodes_registered                nodes registered
///     airfl_aggregate_energy_ratio          the last aggregate's ‖â‖² over its bound (AggregateEnergyCheck)
///     airfl_rounds_energy_flagged_total     rounds whose aggregate exceeded 1.5× that bound
final class LiveMetrics: @unchecked Sendable {
    let registry = PrometheusCollectorRegistry()
    private let lock = NSLock()
    private var values = Values()
    private let framesIn: Counter, bytesIn: Counter, symbolsCombined: Counter
    private let roundDuration: DurationHistogram
    private let mse: Gauge, heldOutLoss: Gauge, nodes: Gauge, energyRatio: Gauge
    private let energyFlagged: Counter
    private var roundCounters: [RoundStatus: Counter] = [:], dropCounters: [DropReason: Counter] = [:]

    /// The plain values (what the JSONL log writes).
    struct Values {
        var rounds: [String: Int] = [:]
        var framesIn = 0, bytesIn = 0, symbolsCombined = 0
        var dropped: [String: Int] = [:]
        var lastRoundSeconds = Double.nan, mse = Double.nan, heldOutLoss = Double.nan
        var nodes = 0
        var aggregateEnergyRatio = Double.nan
        var roundsEnergyFlagged = 0
    }

    init() {
        framesIn = registry.makeCounter(
            name: "airfl_frames_received_total", help: "Frames received by the base station, every type.")
        bytesIn = registry.makeCounter(name: "airfl_bytes_received_total", help: "Bytes received by the base station.")
        symbolsCombined = registry.makeCounter(
            name: "airfl_symbols_combined_total", help: "Complex symbols out of the receive combiner.")
        let buckets: [Duration] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
            .map { .microseconds(Int64($0 * 1e6)) }
        roundDuration = registry.makeDurationHistogram(
            name: "airfl_round_duration_seconds", buckets: buckets,
            help: "Round-completion latency: from the round's start to its aggregate.")
        mse = registry.makeGauge(
            name: "airfl_aggregation_mse", help: "The last aggregated round's measured MSE per unit-power symbol.")
        heldOutLoss = registry.makeGauge(name: "airfl_heldout_loss", help: "The last held-out loss, nats per token.")
        nodes = registry.makeGauge(name: "airfl_nodes_registered", help: "Nodes registered with the base station.")
        energyRatio = registry.makeGauge(
            name: "airfl_aggregate_energy_ratio",
            help: "The last aggregate's energy over what the nodes' reports and the closed form allow.")
        energyFlagged = registry.makeCounter(
            name: "airfl_rounds_energy_flagged_total",
            help: "Rounds whose aggregate carried more than 1.5x the energy the reports and the closed form allow.")
        // Not measured yet (or never, in stress mode): NaN, not a misleading 0.
        mse.set(.nan)
        heldOutLoss.set(.nan)
        energyRatio.set(.nan)
    }

    func received(bytes: Int) {
        framesIn.increment()
        bytesIn.increment(by: Int64(bytes))
        locked {
            $0.framesIn += 1
            $0.bytesIn += bytes
        }
    }

    func dropped(_ reason: DropReason) {
        let counter = locked { v -> Counter in
            v.dropped[reason.label, default: 0] += 1
            if let c = dropCounters[reason] { return c }
            let c = registry.makeCounter(
                name: "airfl_frames_dropped_total", labels: [("reason", reason.label)],
                help: "Frames dropped, by reason.")
            dropCounters[reason] = c
            return c
        }
        counter.increment()
    }

    func combined(symbols: Int) {
        symbolsCombined.increment(by: Int64(symbols))
        locked { $0.symbolsCombined += symbols }
    }

    func roundFinished(status: RoundStatus, seconds: Double) {
        roundDuration.record(.nanoseconds(Int64(seconds * 1e9)))
        let counter = locked { v -> Counter in
            v.rounds[status.rawValue, default: 0] += 1
            v.lastRoundSeconds = seconds
            if let c = roundCounters[status] { return c }
            let c = registry.makeCounter(
                name: "airfl_rounds_total", labels: [("status", status.rawValue)], help: "Rounds finished, by outcome.")
            roundCounters[status] = c
            return c
        }
        counter.increment()
    }

    func aggregationMSE(_ value: Double) {
        guard value.isFinite else { return }
        mse.set(value)
        locked { $0.mse = value }
    }

    func heldOut(loss: Double) {
        guard loss.isFinite else { return }
        heldOutLoss.set(loss)
        locked { $0.heldOutLoss = loss }
    }

    func aggregateEnergy(_ check: AggregateEnergyCheck) {
        if let ratio = check.ratio, ratio.isFinite {
            energyRatio.set(ratio)
            locked { $0.aggregateEnergyRatio = ratio }
        }
        guard check.flagged else { return }
        energyFlagged.increment()
        locked { $0.roundsEnergyFlagged += 1 }
    }

    func registered(nodes count: Int) {
        nodes.set(Double(count))
        locked { $0.nodes = count }
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> String { registry.emitToString() }

    /// A copy of the plain values.
    var snapshot: Values { locked { $0 } }

    private func locked<T>(_ body: (inout Values) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&values)
    }
}
