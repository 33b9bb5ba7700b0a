import CommandLineSupport
import Foundation
import LinearAlgebra
import Radio
import Randomness
import Wire

/// What the design stage decided for one round's participants (node indices, ascending).
struct RoundPlan {
    let participants: [Int]
    /// Nodes that reported a usable update but were not scheduled (digital: a rate that fits no
    /// payload in the round's airtime).
    let unscheduled: [Int]
    /// w_k by shard size over the participants, Σ = 1.
    let weights: [Double]
    /// P_k, watts, from the scenario's profiles.
    let power: [Double]
    /// The common scale c.
    let scale: Float
    let grid: ResourceGrid
    /// D, reals per update.
    let reals: Int
    /// The AirComp design over the participants (aircomp only).
    let design: AirCompDesign?
    /// B_k, the value bits of each participant's digital update (digital only; `DigitalUplink`).
    let digitalBudgets: [Int]
    var symbols: Int { grid.ofdmSymbols(forReals: reals) }
}

extension RoundEngine {
    /// Plan: weights by shard size, the common scale from the reported energies, and for AirComp
    /// the beamformers and precoders on the estimated channels; then the transmit orders.
    func planRound(
        _ round: Int, participants reported: [Int], reports: [Int: UpdateReady], estimate hHat: ChannelTensor,
        reals: Int
    ) throws -> RoundPlan {
        let s = settings
        let L = scenario.aircomp.streams
        let grid = try ResourceGrid(subcarriers: hHat.subcarriers, streams: L)
        // The scenario's profiles are authoritative for the radio budget (a node's hello is not trusted
        // with it): peak power, held to the energy per round over the round's airtime S·T_sym (AirComp
        // and digital in its airtime; digital at fixed resolution sends at peak power).
        let airtime = Double(grid.ofdmSymbols(forReals: reals)) * scenario.plan.symbolDurationS
        let atPeakPower: Bool
        switch s.scheme {
        case .digital(_, let sameAirtime): atPeakPower = !sameAirtime
        case .aircomp, .ideal: atPeakPower = false
        }
        let powerOf = { (k: Int) -> Double in
            let p = self.profiles[k]
            return atPeakPower
                ? p.txPowerW
                : UplinkBudget.averagePower(peakW: p.txPowerW, energyJ: p.txEnergyPerRoundJ, airtimeS: airtime)
        }
        var budgets = try digitalBudgets(
            participants: reported, power: reported.map(powerOf), estimate: hHat, grid: grid, reals: reals)
        // A node whose rate cannot carry even the full scale and one bit in the round's airtime is not scheduled.
        var participants = reported.indices.filter { budgets[$0] >= 1 }.map { reported[$0] }
        budgets = budgets.filter { $0 >= 1 }
        for k in reported where !participants.contains(k) {
            progress("  \(nodes[k].name)'s rate fits nothing in AirComp's airtime; it sits round \(round) out")
        }
        guard !participants.isEmpty else {
            throw CommandError("no participant's rate fits a payload in AirComp's airtime")
        }
        var design: AirCompDesign?
        switch s.scheme {
        case .ideal, .digital: break
        case .aircomp:
            design = try designAirComp(
                round, participants: participants, power: participants.map(powerOf), estimate: hHat)
            if let cut = scenario.aircomp.truncationDB, let kept = Self.truncated(design!, belowMedianDB: cut),
                kept.count < participants.count
            {
                for (j, k) in participants.enumerated() where !kept.contains(j) {
                    progress(
                        "  \(nodes[k].name)'s channel is more than \(cut) dB below the median; it sits round "
                            + "\(round) out (truncation)"
                    )
                }
                participants = kept.map { participants[$0] }
                design = try designAirComp(
                    round, participants: participants, power: participants.map(powerOf), estimate: hHat)
            }
        }
        let plan = RoundPlan(
            participants: participants, unscheduled: reported.filter { !participants.contains($0) },
            weights: participantWeights(participants), power: participants.map(powerOf),
            scale: ResourceGrid.commonScale(energies: participants.map { reports[$0]!.updateEnergy }, reals: reals),
            grid: grid, reals: reals, design: design, digitalBudgets: budgets)
        for (j, k) in participants.enumerated() {
            let precoders = design.map { $0.precoders[j].interleaved } ?? []
            var seeds = SeededGenerator(seed: scenario.seed, stream: [0x6469_6769, UInt64(round), UInt64(k)]) // "digi"
            send(
                Transmit(
                    mode: s.aggregation, scale: plan.scale, subcarriers: hHat.subcarriers, streams: L,
                    antennas: hHat.transmitAntennas,
                    precoders: precoders, digitalBudgetBits: budgets[j], digitalSeed: seeds.next(),
                    sampleFormat: s.sampleFormat
                )
                .frame(round: UInt32(round), node: UInt32(k)), to: k)
        }
        return plan
    }

    /// w_k by shard size over `participants`, Σ = 1.
    func participantWeights(_ participants: [Int]) -> [Double] {
        let total = participants.reduce(0.0) { $0 + Double(shardSizes[$1]) }
        return participants.map { Double(shardSizes[$0]) / total }
    }

    /// The AirComp design over `participants` on the estimate: receive beamformers by the scenario's
    /// method (warm-started when the participants are last round's), precoders and η by its power control.
    func designAirComp(_ round: Int, participants: [Int], power: [Double], estimate hHat: ChannelTensor) throws
        -> AirCompDesign
    {
        let estimate = hHat.selecting(devices: participants)
        let weights = participantWeights(participants)
        let warm = participants == warmStart.participants ? warmStart.beamformers : nil
        let solved = try ReceiveBeamformer.solve(
            channels: estimate, streams: scenario.aircomp.streams, powerW: power, weights: weights,
            method: settings.beamforming, warmStart: warm, seed: scenario.seed &+ UInt64(round))
        warmStart = WarmStart(participants: participants, beamformers: solved.beamformers)
        return try AirCompDesign(
            channels: estimate, beamformers: solved.beamformers, powerW: power, weights: weights,
            powerControl: scenario.aircomp.powerControl.design(noisePowerW: scenario.noisePowerW))
    }

    /// Truncated channel inversion's scheduling: the indices j of the design's devices whose η_j
    /// (the η each alone would allow, in dB averaged over subcarriers) is within `belowMedianDB` of
    /// the median device's; nil when every device is.
    static func truncated(_ design: AirCompDesign, belowMedianDB cut: Double) -> [Int]? {
        let etas = design.deviceEta
        let strength = (0..<design.devices).map { j in
            etas.reduce(0.0) { $0 + 10 * Foundation.log10($1[j]) } / Double(etas.count)
        }
        let sorted = strength.sorted()
        let median =
            sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let kept = strength.indices.filter { strength[$0] >= median - cut }
        return kept.count == design.devices ? nil : kept
    }

    /// B_k per participant: `digital_bits` per real, or with `digital_same_airtime` the value bits
    /// that fill AirComp's airtime for this update at the node's rate, S·T_sym = (B_k + 32)/R_k
    /// (rates on the estimate Ĥ, as a scheduler would have them).
    /// A budget below 1 bit: the node's rate does not carry the full scale in that time.
    func digitalBudgets(
        participants: [Int], power: [Double], estimate hHat: ChannelTensor, grid: ResourceGrid,
        reals: Int
    ) throws -> [Int] {
        switch settings.scheme {
        case .digital(_, sameAirtime: true): break
        case .digital(let bits, sameAirtime: false):
            return participants.map { _ in DigitalUplink.budget(bitsPerReal: bits, reals: reals) }
        // AirComp and ideal FL send no bits; their orders carry digital_bits' budget, which no node reads.
        case .aircomp, .ideal:
            return participants.map { _ in DigitalUplink.budget(bitsPerReal: settings.digitalBits, reals: reals) }
        }
        let airtime = Double(grid.ofdmSymbols(forReals: reals)) * scenario.plan.symbolDurationS
        let rates = try DigitalUplink.rates(
            channels: hHat.selecting(devices: participants), powerW: power, noisePowerW: scenario.noisePowerW,
            subcarrierSpacingHz: scenario.channel.subcarrierSpacingHz)
        let budgets = DigitalUplink.budgets(airtimeS: airtime, rates: rates)
        let perReal = zip(participants, budgets).map {
            String(format: "%@ %.3g", nodes[$0].name, Double($1) / Double(max(reals, 1)))
        }
        progress(
            "  digital in AirComp's airtime (\(String(format: "%.3g", airtime)) s): bits per real "
                + "\(perReal.joined(separator: ", "))"
        )
        return budgets
    }
}
