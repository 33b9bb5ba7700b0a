import Foundation
import LanguageModel
import LinearAlgebra
import Radio
import Wire

extension FederationServer {
    /// An aggregate whose norm exceeds this many times the largest update any node reported is
    /// refused (no honest weighted average can; only noise or a poisoned node can).
    static let aggregateGuard = 100.0

    /// One round: start → local training → design → transmission → air → aggregation → evaluation.
    func runRound(_ round: Int) throws -> (nodes: [MetricsRow], global: MetricsRow) {
        let s = settings, r32 = UInt32(round), K = nodes.count
        if round > 1 { channelModel.advance() }
        let h = channelModel.frequencyResponse()
        let hHat = h.estimated(nmse: scenario.channel.csiNMSE, seed: scenario.seed, round: round)
        var rows = nodes.map { MetricsRow(round: round, node: $0.name, profile: $0.profile.name, status: "absent", rank: global.rank) }

        // Start: the global adapter to every active node.
        let flat = global.flattened()
        let start = RoundStart(rank: global.rank, alpha: global.alpha, targets: global.targets.map(\.rawValue).joined(separator: ","),
                               localSteps: s.localSteps, adapter: flat)
        let asked = nodes.indices.filter { nodes[$0].active }
        for k in asked { send(start.frame(round: r32, node: UInt32(k)), to: k) }

        // Local training: collect every node's report.
        var ready = [Int: UpdateReady]()
        try pump(for: s.roundTimeoutS, { k, f in
            guard f.type == .updateReady, f.round == r32, asked.contains(k) else { return }
            ready[k] = try UpdateReady(frame: f)
        }, done: { asked.allSatisfy { ready[$0] != nil || !nodes[$0].active } })
        for k in asked where ready[k] == nil {
            progress("  \(nodes[k].name) did not report within \(s.roundTimeoutS) s; left out of round \(round)")
            nodes[k].active = false
        }
        for (k, u) in ready {
            rows[k].trainLoss = u.loss
            rows[k].steps = u.steps
            rows[k].flops = u.flops
            rows[k].computeS = u.computeSeconds
            rows[k].energyJ = u.energyJ
            rows[k].status = u.steps > 0 ? "ok" : "sat-out"
        }
        let participants = ready.filter { $0.value.steps > 0 && $0.value.reals == flat.count && $0.value.updateEnergy.isFinite && $0.value.updateEnergy >= 0 }
            .keys.sorted()
        var aggregateRow = MetricsRow(round: round, node: "global", profile: "", status: "ok", rank: global.rank)
        guard !participants.isEmpty else {
            progress("  round \(round): no node delivered an update; the global adapter is unchanged")
            aggregateRow.status = "no-updates"
            (aggregateRow.heldOutLoss, aggregateRow.heldOutPerplexity) = try evaluate()
            return (rows, aggregateRow)
        }

        // Design: weights by shard size, common scale, beamformers and precoders (aircomp).
        let total = participants.reduce(0.0) { $0 + Double(shardSizes[$1]) }
        let weights = participants.map { Double(shardSizes[$0]) / total }
        let symbolsPerUpdate = max(1, (flat.count + 1) / 2)
        let scale = Float(participants.map { (ready[$0]!.updateEnergy / Double(symbolsPerUpdate)).squareRoot() }.max() ?? 1)
        let c = scale > 0 && scale.isFinite ? scale : 1
        let L = scenario.aircomp.streams, N = h.subcarriers, Nt = h.transmitAntennas
        // The scenario's profiles are authoritative for the radio budget (a node's hello is not trusted with it).
        let power = participants.map { nodes[$0].profile.txPowerW }
        let noise = scenario.aircomp.noisePowerDBm.map { PowerUnits.watts(dBm: $0) } ?? scenario.channel.noisePowerW
        var design: AirCompDesign?
        if s.aggregation == "aircomp" {
          do {
            let estimate = hHat.selecting(devices: participants)
            let method: ReceiveBeamformer.Method = s.beamforming == "eigen" ? .eigen : .manifold
            let warm = participants == previousParticipants ? previousBeamformers : nil
            let solved = try ReceiveBeamformer.solve(channels: estimate, streams: L, powerW: power, weights: weights, method: method,
                                                     warmStart: warm, seed: scenario.seed &+ UInt64(round))
            previousBeamformers = solved.beamformers
            previousParticipants = participants
            design = try AirCompDesign(channels: estimate, beamformers: solved.beamformers, powerW: power, weights: weights)
            aggregateRow.msePredicted = design!.mse(noisePowerW: noise).reduce(0, +) / Double(N)
          } catch {
            // A deep fade (a singular effective channel) or a bad budget skips the round, not the run.
            progress("  round \(round): no AirComp design (\(error)); the global adapter is unchanged")
            aggregateRow.status = "rejected"
            (aggregateRow.heldOutLoss, aggregateRow.heldOutPerplexity) = try evaluate()
            return (rows, aggregateRow)
          }
        }
        for (j, k) in participants.enumerated() {
            let precoders = design.map { $0.precoders[j].interleaved } ?? []
            send(Transmit(mode: s.aggregation, scale: c, subcarriers: N, streams: L, antennas: Nt, precoders: precoders, digitalBits: s.digitalBits, sampleFormat: s.sampleFormat)
                    .frame(round: r32, node: UInt32(k)), to: k)
        }

        // Transmission: assemble every participant's symbols.
        let grid = try ResourceGrid(subcarriers: N, streams: L)
        let S = grid.ofdmSymbols(forReals: flat.count)
        var assemblies = [Int: SymbolAssembly]()
        for k in participants { assemblies[k] = SymbolAssembly(subcarriers: N, rows: s.aggregation == "aircomp" ? Nt : L, symbols: S) }
        try pump(for: s.roundTimeoutS, { k, f in
            guard f.round == r32, assemblies[k] != nil else { return }
            switch f.type {
            case .symbols: try assemblies[k]!.add(f)
            case .roundEnd: assemblies[k]!.end = try RoundEnd(frame: f)
            default: break
            }
        }, done: { participants.allSatisfy { assemblies[$0]!.ended || !nodes[$0].active } })
        var delivered = [Int]()
        for (j, k) in participants.enumerated() {
            if assemblies[k]!.complete { delivered.append(j) } else {
                progress("  \(nodes[k].name)'s transmission is incomplete; summing without it")
                rows[k].status = "dropped"
                if !assemblies[k]!.ended { nodes[k].active = false }
            }
        }
        guard !delivered.isEmpty else {
            aggregateRow.status = "no-transmissions"
            (aggregateRow.heldOutLoss, aggregateRow.heldOutPerplexity) = try evaluate()
            return (rows, aggregateRow)
        }

        // The air and the aggregate (an error here skips the round, not the run).
        let symbolSeconds = scenario.plan.symbolDurationS
        let present = delivered.reduce(0.0) { $0 + weights[$1] }
        var sum: [Float]
        do {
        switch s.aggregation {
        case "aircomp":
            let result = try RoundAir.aircomp(channels: h, delivered: delivered.map { (participants[$0], assemblies[participants[$0]]!.block, weights[$0]) },
                                              design: design!, noisePowerW: noise, scale: c, reals: flat.count, seed: scenario.seed, round: round)
            sum = result.sum
            // Errors of Σ_delivered w_k s_k, scaled like the aggregate by 1/Σ_delivered w_k.
            aggregateRow.mse = result.mse / (present * present)
            aggregateRow.msePredicted /= present * present
            aggregateRow.airtimeS = Double(S) * symbolSeconds
            for j in delivered {
                let radiated = (0..<N).reduce(0.0) { $0 + design!.transmitPower(device: j, subcarrier: $1) }
                rows[participants[j]].airtimeS = aggregateRow.airtimeS
                rows[participants[j]].energyJ += radiated * aggregateRow.airtimeS
            }
        default:
            sum = try RoundAir.exact(delivered: delivered.map { (assemblies[participants[$0]]!.block, weights[$0]) }, streams: L, scale: c, reals: flat.count)
            // Ideal is exact; digital's error is the nodes' quantisation, which the BS cannot see.
            aggregateRow.mse = s.aggregation == "ideal" ? 0 : .nan
            if s.aggregation == "digital" {
                let rates = try DigitalUplink.rates(channels: h.selecting(devices: participants), powerW: power, noisePowerW: noise,
                                                    subcarrierSpacingHz: scenario.channel.subcarrierSpacingHz)
                for j in delivered {
                    let seconds = Double(flat.count * s.digitalBits) / max(rates[j], 1e-9)
                    rows[participants[j]].airtimeS = seconds
                    rows[participants[j]].energyJ += power[j] * seconds
                    aggregateRow.airtimeS = max(aggregateRow.airtimeS, seconds)
                }
            }
        }
        } catch {
            progress("  round \(round): aggregation failed (\(error)); the global adapter is unchanged")
            aggregateRow.status = "rejected"
            (aggregateRow.heldOutLoss, aggregateRow.heldOutPerplexity) = try evaluate()
            return (rows, aggregateRow)
        }
        for j in delivered where rows[participants[j]].status == "ok" { rows[participants[j]].mse = aggregateRow.mse }

        // The global adapter moves only to finite parameters, by an aggregate no larger than
        // `aggregateGuard` × the largest update a node reported (a poisoned or noise-swamped sum).
        let updated = zip(flat, sum).map { $0 + $1 }
        let norm = sum.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let largest = delivered.map { ready[participants[$0]]!.updateEnergy.squareRoot() }.max() ?? 0
        if let bad = updated.firstIndex(where: { !$0.isFinite }) {
            progress("  round \(round): the updated adapter is not finite at element \(bad); the global adapter is unchanged")
            aggregateRow.status = "rejected"
        } else if !(norm <= Self.aggregateGuard * largest) {
            progress(String(format: "  round %d: the aggregate's norm %.3g exceeds %.0f× the largest reported update (%.3g); the global adapter is unchanged",
                            round, norm, Self.aggregateGuard, largest))
            aggregateRow.status = "rejected"
        } else {
            try self.global.assign(flattened: updated)
        }
        (aggregateRow.heldOutLoss, aggregateRow.heldOutPerplexity) = try evaluate()
        return (rows, aggregateRow)
    }
}
