import CommandLineSupport
import Foundation
import LanguageModel
import LinearAlgebra
import Radio
import Randomness
import Wire

extension RoundEngine {
    /// The stages of round `round` on `adapter`, each node's row and the global one filled as they go.
    func stages(
        _ round: Int, adapter: LoRAAdapter, purpose: RoundPurpose, channels h: ChannelTensor,
        estimate hHat: ChannelTensor, rows: inout [MetricsRow], aggregateRow: inout MetricsRow
    ) throws -> RoundOutcome {
        let flat = adapter.flattened()
        let (ready, epoch) = try startRound(round, adapter: adapter, flat: flat)
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
            // A transmission that stopped short without its round end is a missed round (straggler policy).
            if !collection.ended(j) && !collection.registeredAgain[j] { backOff(k, round: round) }
        }
        for j in delivered { ingress.registry.delivered(plan.participants[j]) }
        guard !delivered.isEmpty else {
            collection.receiver.drain()
            return .noTransmissions
        }
        guard delivered.count >= s.quorum else {
            collection.receiver.drain()
            return .belowQuorum(delivered: delivered.count, quorum: s.quorum)
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
        // E‖e‖² over the ⌈D/2⌉ symbols the update fills (not the padding): c² · ⌈D/2⌉/L · Σ_n per-stream MSE.
        let filled = Double((plan.reals + 1) / 2) / Double(plan.grid.streams)
        let thermal =
            aggregateRow.msePredicted.isFinite
            ? Double(plan.scale * plan.scale) * filled * aggregateRow.msePredicted : 0
        let energy = checkEnergy(
            round, of: result.sum, thermal: thermal, row: &aggregateRow,
            reported: delivered.map { (plan.weights[$0], ready[plan.participants[$0]]!.updateEnergy) })
        let largest = delivered.map { ready[plan.participants[$0]]!.updateEnergy.squareRoot() }.max() ?? 0
        let updated = zip(flat, result.sum).map { $0 + $1 }
        if let refused = refusal(norm: energy.measured.squareRoot(), updated: updated, largestReportedNorm: largest) {
            return refused
        }
        switch purpose {
        case .training:
            return .committed(updated: updated)
        case .pilot:
            let reports = delivered.map {
                (weight: plan.weights[$0] / result.deliveredWeight, energy: ready[plan.participants[$0]]!.updateEnergy)
            }
            return .pilotCaptured(PilotCapture(aggregate: result.sum, reports: reports, noiseEnergy: thermal))
        }
    }

    /// The aggregate's energy against what the reports and the closed form allow
    /// (`AggregateEnergyCheck`), recorded in the global row and the live metrics, and logged when flagged.
    private func checkEnergy(
        _ round: Int, of aggregate: [Float], thermal: Double, row: inout MetricsRow,
        reported: [(weight: Double, energy: Double)]
    ) -> AggregateEnergyCheck {
        let noise: Double?
        switch settings.scheme {
        case .aircomp: noise = row.msePredicted.isFinite ? thermal : nil
        case .ideal: noise = 0
        case .digital: noise = nil
        }
        let check = AggregateEnergyCheck(aggregate: aggregate, reported: reported, noiseEnergy: noise)
        row.aggregateEnergy = check.measured
        row.aggregateEnergyBound = check.bound ?? .nan
        metrics.aggregateEnergy(check)
        guard check.flagged, let bound = check.bound else { return check }
        progress(
            String(
                format:
                    "  round %d: the aggregate's energy %.3g is %.3g× what the nodes' reports and the closed form "
                    + "allow (%.3g); flagged",
                round, check.measured, check.measured / bound, bound))
        return check
    }

    /// Start: the global adapter to every active node, then every node's report (or its silence).
    /// Also returns the registration count of every node when the round began.
    private func startRound(_ round: Int, adapter: LoRAAdapter, flat: [Float]) throws -> (
        ready: [Int: UpdateReady], epoch: [Int]
    ) {
        let s = settings
        let r32 = UInt32(round)
        let start = RoundStart(
            rank: adapter.rank, alpha: adapter.alpha, targets: adapter.targets.map(\.rawValue),
            localSteps: s.localSteps, adapter: flat)
        let asked = nodes.indices.filter { nodes[$0].active && !ingress.registry.isBackedOff($0, in: round) }
        let epoch = nodes.map(\.registrations)
        for k in asked { send(start.frame(round: r32, node: UInt32(k)), to: k) }
        // A node left out earlier that is still there rejoins for the next round its backoff allows, not after
        // its silence timeout.
        ingress.askToRegister(
            nodes.indices.filter {
                !nodes[$0].active && nodes[$0].hello != nil && !ingress.registry.isBackedOff($0, in: round + 1)
            },
            "you were left out of a round; register to rejoin")
        var ready = [Int: UpdateReady]()
        try ingress.pump(
            for: s.roundTimeoutS,
            { k, f in
                guard case .updateReady(let report) = f.message else { return }
                guard f.round == r32 else { throw StaleFrame(round: f.round, current: r32) }
                if asked.contains(k) { ready[k] = report }
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
            if nodes[k].registrations == epoch[k] { backOff(k, round: round) }
        }
        return (ready, epoch)
    }

    /// Node k missed round `round`: it sits out the rounds the straggler policy gives it.
    private func backOff(_ k: Int, round: Int) {
        let rounds = ingress.registry.missed(k, round: round)
        progress(
            "  \(nodes[k].name) missed round \(round) (\(nodes[k].missesInARow) in a row): it sits out \(rounds) "
                + "round\(rounds == 1 ? "" : "s") before it is asked back")
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
        try ingress.pump(
            for: settings.roundTimeoutS,
            { k, f in
                guard f.round == r32 else { throw StaleFrame(round: f.round, current: r32) }
                guard let j = slot[k] else { return }
                switch f.message {
                case .symbols: try receiver.add(symbols: f.frame, device: j)
                case .reference(let r): try receiver.addReference(device: j, offset: r.offset, values: r.values)
                case .roundEnd(let end): ends[j] = end
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
    /// (`norm`: the aggregate's, measured once by `AggregateEnergyCheck`.)
    private func refusal(norm: Double, updated: [Float], largestReportedNorm largest: Double) -> RoundOutcome? {
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
