import CommandLineSupport
import Foundation
import LanguageModel
import LinearAlgebra
import Radio
import Randomness
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
    /// The aggregate moved the global adapter.
    case committed
    /// No node delivered an update; the global adapter is unchanged.
    case noUpdates
    /// No AirComp design (a deep fade, a bad budget); unchanged.
    case designRejected(String)
    /// No participant's transmission arrived complete; unchanged.
    case noTransmissions
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
        case .pilotCaptured: return .pilot
        }
    }
}

extension FederationServer {
    /// An aggregate whose norm exceeds this many times the largest update any node reported is
    /// refused (no honest weighted average can; only noise or a poisoned node can).
    static let aggregateGuard = 100.0

    /// One round in stages: start (the global adapter out, reports in) → plan (weights, scale,
    /// design, transmit orders) → collect (symbols in) → aggregate (the air) → commit. Every
    /// stage that ends the round early says why in a `RoundOutcome`; the rows are finished in one place.
    func runRound(_ round: Int, purpose: RoundPurpose = .training) throws -> PlayedRound {
        if round > 1 { channelModel.advance() }
        let drawn = channelModel.frequencyResponse()
        let h = channelOverride?(round, drawn) ?? drawn
        let hHat = h.estimated(nmse: scenario.channel.csiNMSE, seed: scenario.seed, round: round)
        var rows = nodes.map {
            MetricsRow(round: round, node: $0.name, profile: $0.profile.name, status: .absent, rank: global.rank)
        }
        var aggregateRow = MetricsRow(round: round, node: "global", profile: "", status: .ok, rank: global.rank)
        let before = global
        let outcome = try playRound(
            round, purpose: purpose, channels: h, estimate: hHat, rows: &rows, aggregateRow: &aggregateRow)
        aggregateRow.status = outcome.status
        switch outcome {
        case .committed, .pilotCaptured: break
        case .noUpdates: progress("  round \(round): no node delivered an update; the global adapter is unchanged")
        case .designRejected(let why):
            progress("  round \(round): no AirComp design (\(why)); the global adapter is unchanged")
        case .noTransmissions:
            progress("  round \(round): no transmission arrived complete; the global adapter is unchanged")
        case .aggregateRejected(let why): progress("  round \(round): \(why); the global adapter is unchanged")
        }
        // A pilot round leaves the global adapter as it was (the base model, evaluated as round 0).
        if purpose == .training, settings.evaluatesHeldOut(after: round) {
            aggregateRow.heldOut = try evaluator.score(global)
            // An adapter whose held-out loss is not finite is never kept: the round is undone.
            if !aggregateRow.heldOutLoss.isFinite, case .committed = outcome {
                progress("  round \(round): the held-out loss of the new adapter is not finite; the round is undone")
                global = before
                aggregateRow.status = .rejected
                aggregateRow.heldOut = try evaluator.score(global)
            }
        }
        if case .pilotCaptured(let capture) = outcome {
            return PlayedRound(nodes: rows, global: aggregateRow, pilot: capture)
        }
        return PlayedRound(nodes: rows, global: aggregateRow, pilot: nil)
    }

    private func playRound(
        _ round: Int, purpose: RoundPurpose, channels h: ChannelTensor, estimate hHat: ChannelTensor,
        rows: inout [MetricsRow], aggregateRow: inout MetricsRow
    ) throws -> RoundOutcome {
        let flat = global.flattened()
        let (ready, epoch) = try startRound(round, adapter: flat)
        if crashPoint?(round, .reported) == true { throw SimulatedCrash() }
        let s = settings
        let bound = UpdateBound.maximumEnergy(
            optimizer: s.optimizer, learningRate: s.learningRate, clip: s.clip, weightDecay: s.weightDecay,
            steps: s.localSteps, adapter: flat)
        let usable = { (u: UpdateReady) in
            u.steps > 0 && u.reals == flat.count && u.updateEnergy.isFinite && u.updateEnergy >= 0
                && u.updateEnergy <= bound
        }
        for (k, u) in ready where u.steps > 0 && u.updateEnergy > bound {
            progress(
                String(
                    format:
                        "  %@ reported ‖Δ‖² = %.3g, beyond the %.3g its round's training allows; left out of round %d",
                    nodes[k].name, u.updateEnergy, bound, round))
        }
        for (k, u) in ready {
            rows[k].trainLoss = u.loss
            rows[k].steps = u.steps
            rows[k].flops = u.flops
            rows[k].computeS = u.computeSeconds
            rows[k].energyJ = u.energyJ
            rows[k].status = u.steps == 0 ? .satOut : usable(u) ? .ok : .excluded
        }
        let participants = ready.filter { usable($0.value) }.keys.sorted()
        guard !participants.isEmpty else { return .noUpdates }
        let plan: RoundPlan
        do {
            plan = try planRound(round, participants: participants, reports: ready, estimate: hHat, reals: flat.count)
        } catch {
            return .designRejected("\(error)")
        }
        for k in plan.unscheduled { rows[k].status = .unscheduled }
        let predicted =
            plan.design.map { $0.mse(noisePowerW: scenario.noisePowerW).reduce(0, +) / Double(h.subcarriers) } ?? .nan
        let collection = try collect(round, plan: plan, epoch: epoch, channels: h)
        if crashPoint?(round, .collected) == true { throw SimulatedCrash() }
        let delivered = plan.participants.indices.filter { collection.delivered($0) }
        for (j, k) in plan.participants.enumerated() where !collection.delivered(j) {
            let arrived = collection.receiver.symbolsArrived(device: j)
            progress(
                "  \(nodes[k].name)'s transmission is incomplete (\(arrived) of \(plan.symbols) OFDM symbols)"
                    + (arrived > 0
                        ? "; the symbols that arrived are in the sum, each rescaled by the weight present on it"
                        : "; summing without it"))
            rows[k].status = .dropped
            if !collection.ended(j) && !collection.registeredAgain[j] { registry.leaveOut(k) }
        }
        guard !delivered.isEmpty else {
            collection.receiver.drain()
            return .noTransmissions
        }
        let result: RoundAggregate
        do {
            result = try aggregate(round, plan: plan, collection: collection, delivered: delivered, channels: h)
        } catch {
            return .aggregateRejected("aggregation failed (\(error))")
        }
        aggregateRow.record(result, predicted: predicted, scale: plan.scale, streams: plan.grid.streams)
        for (j, airtime, energy) in result.transmissions {
            let k = plan.participants[j]
            rows[k].airtimeS = airtime
            rows[k].energyJ += energy
            if rows[k].status == .ok { rows[k].mse = aggregateRow.mse }
        }
        let largest = delivered.map { ready[plan.participants[$0]]!.updateEnergy.squareRoot() }.max() ?? 0
        let updated = zip(flat, result.sum).map { $0 + $1 }
        if let refused = refusal(of: result.sum, updated: updated, largestReportedNorm: largest) { return refused }
        switch purpose {
        case .training:
            try global.assign(flattened: updated)
            return .committed
        case .pilot:
            let reports = delivered.map {
                (weight: plan.weights[$0] / result.deliveredWeight, energy: ready[plan.participants[$0]]!.updateEnergy)
            }
            // E‖e‖² over the ⌈D/2⌉ symbols the update fills (not the padding): c² · ⌈D/2⌉/L · Σ_n per-stream MSE.
            let filled = Double((plan.reals + 1) / 2) / Double(plan.grid.streams)
            let noise =
                aggregateRow.msePredicted.isFinite
                ? Double(plan.scale * plan.scale) * filled * aggregateRow.msePredicted : 0
            return .pilotCaptured(PilotCapture(aggregate: result.sum, reports: reports, noiseEnergy: noise))
        }
    }

    /// Start: the global adapter to every active node, then every node's report (or its silence).
    /// Also returns the registration count of every node when the round began.
    private func startRound(_ round: Int, adapter flat: [Float]) throws -> (ready: [Int: UpdateReady], epoch: [Int]) {
        let s = settings
        let r32 = UInt32(round)
        let start = RoundStart(
            rank: global.rank, alpha: global.alpha, targets: global.targets.map(\.rawValue),
            localSteps: s.localSteps, adapter: flat)
        let asked = nodes.indices.filter { nodes[$0].active }
        let epoch = nodes.map(\.registrations)
        for k in asked { send(start.frame(round: r32, node: UInt32(k)), to: k) }
        // A node left out earlier that is still there rejoins for the next round, not after its silence timeout.
        askToRegister(
            nodes.indices.filter { !nodes[$0].active && nodes[$0].hello != nil },
            "you were left out of a round; register to rejoin")
        var ready = [Int: UpdateReady]()
        try pump(
            for: s.roundTimeoutS,
            { k, f in
                guard f.round == r32 || f.type != .updateReady else { throw StaleFrame(round: f.round, current: r32) }
                guard f.type == .updateReady, asked.contains(k) else { return }
                ready[k] = try UpdateReady(frame: f)
            },
            done: { asked.allSatisfy { ready[$0] != nil || !nodes[$0].active || nodes[$0].registrations != epoch[$0] } }
        )
        // A node that registered again after reporting is a new process without that update.
        for k in asked where nodes[k].registrations != epoch[k] && ready[k] != nil {
            progress("  \(nodes[k].name) registered again after its report; its update is not in round \(round)")
            ready[k] = nil
        }
        for k in asked where ready[k] == nil {
            progress("  \(nodes[k].name) did not report within \(s.roundTimeoutS) s; left out of round \(round)")
            // One that registered again meanwhile never saw this round's start: it stays for the next.
            if nodes[k].registrations == epoch[k] { registry.leaveOut(k) }
        }
        return (ready, epoch)
    }

    /// Collect: every participant's symbols (summed as they arrive), reference and round end,
    /// until all ended or the deadline.
    private func collect(_ round: Int, plan: RoundPlan, epoch: [Int], channels h: ChannelTensor) throws
        -> RoundCollection
    {
        let r32 = UInt32(round)
        let receiver = try makeReceiver(round, plan: plan, channels: h)
        var ends = [RoundEnd?](repeating: nil, count: plan.participants.count)
        let slot = Dictionary(uniqueKeysWithValues: plan.participants.enumerated().map { ($1, $0) })
        let grid = receiver.grid
        try pump(
            for: settings.roundTimeoutS,
            { k, f in
                guard f.round == r32 else { throw StaleFrame(round: f.round, current: r32) }
                guard let j = slot[k] else { return }
                switch f.type {
                case .symbols:
                    guard Int(f.subcarriers) == grid.subcarriers, Int(f.antennas) == receiver.inputRows else {
                        throw FrameError(
                            offset: 24,
                            problem:
                                "frame is \(f.subcarriers) subcarriers × \(f.antennas) rows, the round expects "
                                + "\(grid.subcarriers) × \(receiver.inputRows)",
                            reason: .wrongShape)
                    }
                    try receiver.add(
                        device: j, first: Int(f.firstSymbol), count: Int(f.symbolCount), received: f.receivedSamples)
                case .reference:
                    let r = try UpdateReference(frame: f)
                    try receiver.addReference(device: j, offset: r.offset, values: r.values)
                case .roundEnd: ends[j] = try RoundEnd(frame: f)
                default: break
                }
            },
            done: {
                plan.participants.indices.allSatisfy { j in
                    let k = plan.participants[j]
                    return ends[j] != nil || !nodes[k].active || nodes[k].registrations != epoch[k]
                }
            })
        let again = plan.participants.map { nodes[$0].registrations != epoch[$0] }
        return RoundCollection(receiver: receiver, ends: ends, registeredAgain: again)
    }

    /// Why the aggregate cannot be committed, or nil: the global adapter moves only to finite
    /// parameters, by an aggregate no larger than `aggregateGuard` × the largest update a node
    /// reported (a poisoned or noise-swamped sum).
    private func refusal(of sum: [Float], updated: [Float], largestReportedNorm largest: Double) -> RoundOutcome? {
        let norm = sum.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        if let bad = updated.firstIndex(where: { !$0.isFinite }) {
            return .aggregateRejected("the updated adapter is not finite at element \(bad)")
        }
        guard norm <= Self.aggregateGuard * largest else {
            return .aggregateRejected(
                String(
                    format: "the aggregate's norm %.3g exceeds %.0f× the largest reported update (%.3g)",
                    norm, Self.aggregateGuard, largest))
        }
        return nil
    }
}

/// A round's rows (each node's and the global one) and, for a pilot round that delivered, what it
/// captured for the rank planner.
struct PlayedRound {
    var nodes: [MetricsRow]
    var global: MetricsRow
    var pilot: PilotCapture?
}

/// A node's frame of another round than the one being played (late, replayed, or from before a
/// restart): dropped and counted as `wrong round`.
struct StaleFrame: Error, CustomStringConvertible {
    /// The frame's round, and the one being played (nil: the run is over).
    let round: UInt32, current: UInt32?
    var description: String {
        "it is of round \(round); \(current.map { "round \($0) is being played" } ?? "the run is over")"
    }
}
