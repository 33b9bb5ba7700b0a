import CommandLineSupport
import Foundation
import HardwareProfiles
import LanguageModel
import LinearAlgebra
import Logging
import Radio
import Wire

/// What a round is played for.
enum RoundPurpose: Equatable {
    /// A training round: its aggregate moves the global adapter.
    case training
    /// The rank planner's pilot round: its aggregate is measured, never kept.
    case pilot
}

/// How a round ended, for the global metrics row and the log.
enum RoundOutcome {
    /// The aggregate was accepted: the global adapter moves to `updated` (D reals, flattened).
    case committed(updated: [Float])
    /// No node delivered an update; the global adapter is unchanged.
    case noUpdates
    /// No AirComp design (a deep fade, a bad budget); unchanged.
    case designRejected(String)
    /// No participant's transmission arrived complete; unchanged.
    case noTransmissions
    /// Fewer whole transmissions than `federation.quorum`; unchanged.
    case belowQuorum(delivered: Int, quorum: Int)
    /// The air or the aggregation failed, or the aggregate was refused (not finite, too large); unchanged.
    case aggregateRejected(String)
    /// The pilot round's aggregate, for the rank planner; unchanged.
    case pilotCaptured(PilotCapture)

    var status: RoundStatus {
        switch self {
        case .committed: return .ok
        case .noUpdates: return .noUpdates
        case .designRejected, .aggregateRejected: return .rejected
        case .noTransmissions: return .noTransmissions
        case .belowQuorum: return .noQuorum
        case .pilotCaptured: return .pilot
        }
    }
}

/// What the rounds leave for the next: the beamformers of the last AirComp design and whom they
/// were for (the manifold solver's warm start when the participants are the same). A value, in
/// every checkpoint.
struct WarmStart: Equatable {
    var participants: [Int] = []
    var beamformers: [ComplexMatrix<Double>]?
}

/// One round of the method over the nodes, in stages: start (the global adapter out, reports in)
/// → plan (weights, scale, design, transmit orders) → collect (symbols in, summed as they arrive)
/// → aggregate (the air) → the outcome. It does not evaluate or keep anything: the run
/// (`FederationServer`) commits an accepted aggregate, evaluates it and checkpoints.
///
/// What it holds: the scenario and the nodes' profiles and shard sizes (fixed), the ingress it
/// talks through, the channel model (moved on each round) and the warm start (replaced by each
/// AirComp design).
final class RoundEngine {
    let scenario: Scenario
    var settings: FederationSettings { scenario.federation }
    /// The scenario's nodes' hardware profiles, by device index (authoritative for the radio budget).
    let profiles: [HardwareProfile]
    /// Training windows of each node's shard: the aggregation weights w_k.
    let shardSizes: [Int]
    let ingress: NodeIngress
    /// The channels' time evolution (`advance` once per round after the first).
    var channelModel: ChannelModel
    var warmStart = WarmStart()
    /// Worker threads of each round's streaming receiver (the result does not depend on it).
    var receiverThreads = ProcessInfo.processInfo.activeProcessorCount
    /// A test seam: the base station dies (throws `SimulatedCrash`) where this says so: at a
    /// round's `.reported` or `.collected` point (the run adds `.checkpointed`).
    var crashPoint: ((_ round: Int, _ point: CrashPoint) -> Bool)?
    /// A test seam: replaces each round's drawn channels (e.g. a deep fade on demand).
    var channelOverride: ((_ round: Int, _ drawn: ChannelTensor) -> ChannelTensor)?

    /// An aggregate whose norm exceeds this many times the largest update any node reported is
    /// refused (no honest weighted average can; only noise or a poisoned node can).
    static let aggregateGuard = 100.0

    init(
        scenario: Scenario, profiles: [HardwareProfile], shardSizes: [Int], channelModel: ChannelModel,
        ingress: NodeIngress
    ) {
        self.scenario = scenario
        self.profiles = profiles
        self.shardSizes = shardSizes
        self.channelModel = channelModel
        self.ingress = ingress
    }

    var nodes: [NodeRegistry.Node] { ingress.nodes }
    var metrics: LiveMetrics { ingress.metrics }
    func progress(_ line: String) { ingress.log.info("\(line)") }

    @discardableResult
    func send(_ frame: Frame, to node: Int) -> Bool { ingress.send(frame, to: node) }

    /// Round `round` played on `adapter`: the channels drawn (and estimated), then the stages. Every
    /// stage that ends the round early says why in the outcome, logged here.
    func play(_ round: Int, adapter: LoRAAdapter, purpose: RoundPurpose) throws -> PlayedRound {
        if round > 1 { channelModel.advance() }
        let drawn = channelModel.frequencyResponse()
        let h = channelOverride?(round, drawn) ?? drawn
        let hHat = h.estimated(nmse: scenario.channel.csiNMSE, seed: scenario.seed, round: round)
        var rows = nodes.indices.map {
            MetricsRow(
                round: round, node: nodes[$0].name, profile: profiles[$0].name,
                status: ingress.registry.isBackedOff($0, in: round) ? .backedOff : .absent, rank: adapter.rank)
        }
        var aggregateRow = MetricsRow(round: round, node: "global", profile: "", status: .ok, rank: adapter.rank)
        let outcome = try stages(
            round, adapter: adapter, purpose: purpose, channels: h, estimate: hHat, rows: &rows,
            aggregateRow: &aggregateRow)
        aggregateRow.status = outcome.status
        switch outcome {
        case .committed, .pilotCaptured: break
        case .noUpdates: progress("  round \(round): no node delivered an update; the global adapter is unchanged")
        case .designRejected(let why):
            progress("  round \(round): no AirComp design (\(why)); the global adapter is unchanged")
        case .noTransmissions:
            progress("  round \(round): no transmission arrived complete; the global adapter is unchanged")
        case .aggregateRejected(let why): progress("  round \(round): \(why); the global adapter is unchanged")
        case .belowQuorum(let delivered, let quorum):
            progress(
                "  round \(round): \(delivered) update\(delivered == 1 ? "" : "s") delivered, the quorum is \(quorum); "
                    + "the global adapter is unchanged")
        }
        return PlayedRound(nodes: rows, global: aggregateRow, outcome: outcome)
    }
}

/// A round's rows (each node's and the global one) and how it ended.
struct PlayedRound {
    var nodes: [MetricsRow]
    var global: MetricsRow
    var outcome: RoundOutcome
    /// What a pilot round that delivered captured for the rank planner.
    var pilot: PilotCapture? {
        if case .pilotCaptured(let capture) = outcome { return capture }
        return nil
    }
}

/// Where `RoundEngine.crashPoint` may stop a run.
enum CrashPoint { case reported, collected, checkpointed }

/// A base station stopped by `crashPoint` (a test's kill, without the process).
struct SimulatedCrash: Error {}

/// A node's frame of another round than the one being played (late, replayed, or from before a
/// restart): dropped and counted as `wrong round`.
struct StaleFrame: Error, CustomStringConvertible {
    /// The frame's round, and the one being played (nil: the run is over).
    let round: UInt32, current: UInt32?
    var description: String {
        "it is of round \(round); \(current.map { "round \($0) is being played" } ?? "the run is over")"
    }
}
