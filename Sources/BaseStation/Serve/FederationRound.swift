import Foundation
import LanguageModel
import LinearAlgebra
import Radio
import Wire

extension FederationServer {
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
        let participants = ready.filter { $0.value.steps > 0 && $0.value.reals == flat.count && $0.value.updateEnergy.isFinite }.keys.sorted()
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
        let power = participants.map { nodes[$0].hello?.txPowerW ?? nodes[$0].profile.txPowerW }
        let noise = scenario.aircomp.noisePowerDBm.map { PowerUnits.watts(dBm: $0) } ?? scenario.channel.noisePowerW
        var design: AirCompDesign?
        if s.aggregation == "aircomp" {
            let estimate = hHat.selecting(devices: participants)
            let method: ReceiveBeamformer.Method = s.beamforming == "eigen" ? .eigen : .manifold
            let warm = participants == previousParticipants ? previousBeamformers : nil
            let solved = try ReceiveBeamformer.solve(channels: estimate, streams: L, powerW: power, weights: weights, method: method,
                                                     warmStart: warm, seed: scenario.seed &+ UInt64(round))
            previousBeamformers = solved.beamformers
            previousParticipants = participants
            design = try AirCompDesign(channels: estimate, beamformers: solved.beamformers, powerW: power, weights: weights)
            aggregateRow.msePredicted = design!.mse(noisePowerW: noise).reduce(0, +) / Double(N)
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
            case .roundEnd: assemblies[k]!.ended = true
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

        // The air and the aggregate.
        let symbolSeconds = scenario.plan.symbolDurationS
        var sum: [Float]
        switch s.aggregation {
        case "aircomp":
            let result = try RoundAir.aircomp(channels: h, delivered: delivered.map { (participants[$0], assemblies[participants[$0]]!.block, weights[$0]) },
                                              design: design!, noisePowerW: noise, scale: c, reals: flat.count, seed: scenario.seed, round: round)
            sum = result.sum
            aggregateRow.mse = result.mse
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
        for j in delivered where rows[participants[j]].status == "ok" { rows[participants[j]].mse = aggregateRow.mse }

        // The global adapter moves only by a finite aggregate.
        if let bad = sum.firstIndex(where: { !$0.isFinite }) {
            progress("  round \(round): the aggregate is not finite at element \(bad); the global adapter is unchanged")
            aggregateRow.status = "rejected"
        } else {
            try self.global.assign(flattened: zip(flat, sum).map { $0 + $1 })
        }
        (aggregateRow.heldOutLoss, aggregateRow.heldOutPerplexity) = try evaluate()
        return (rows, aggregateRow)
    }
}
