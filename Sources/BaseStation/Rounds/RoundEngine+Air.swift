import CommandLineSupport
import Foundation
import LinearAlgebra
import Numerics
import Radio
import Wire

/// One round's transmissions as they were collected: the streaming receiver that summed every
/// participant's frames as they arrived, and each participant's round end.
struct RoundCollection {
    let receiver: StreamingReceiver
    /// Per participant j: its round end, when it arrived.
    var ends: [RoundEnd?]
    /// Per participant j: it registered again while the round collected (its transmission will not come).
    var registeredAgain: [Bool]

    /// Every OFDM symbol of participant j arrived (duplicates are refused, so it is whole).
    func delivered(_ j: Int) -> Bool { receiver.isComplete(device: j) }
    func ended(_ j: Int) -> Bool { ends[j] != nil }
}

/// What the aggregation stage produced.
struct RoundAggregate {
    /// Σ_k w_k Δ_k over the nodes that delivered, rescaled by 1/Σ_{delivered} w_k (D reals).
    let sum: [Float]
    /// Σ_{delivered} w_k.
    let deliveredWeight: Double
    /// The aggregate's error against the reference updates, per subcarrier and OFDM symbol, already
    /// rescaled like the aggregate by 1/(Σ_{delivered} w_k)² (nil: some reference missing).
    let error: AggregationError?
    /// The round's airtime, seconds.
    let airtimeS: Double
    /// Per delivered participant j: its airtime (s) and radiated energy (J).
    let transmissions: [(participant: Int, airtimeS: Double, energyJ: Double)]
}

extension RoundEngine {
    /// The receiver for a round's plan: the air (true channels of every participant) for AirComp,
    /// the exact weighted sum of the symbols for ideal and digital.
    func makeReceiver(_ round: Int, plan: RoundPlan, channels h: ChannelTensor) throws -> StreamingReceiver {
        let air: AirSum
        switch settings.scheme {
        case .aircomp:
            guard let design = plan.design else {
                throw CommandError("round \(round): AirComp without a receive design")
            }
            air = .overTheAir(
                channels: h.selecting(devices: plan.participants), design: design, noisePowerW: scenario.noisePowerW,
                noiseDomain: .receiveAntennas)
        case .ideal: air = .exact(weights: plan.weights, grid: plan.grid, quantized: false)
        case .digital: air = .exact(weights: plan.weights, grid: plan.grid, quantized: true)
        }
        return try StreamingReceiver(
            air: air, symbols: plan.symbols, reals: plan.reals, scale: plan.scale, seed: scenario.seed, round: round,
            threads: receiverThreads, space: scenario.aircomp.receiver)
    }

    /// Aggregate: noise, combining and reconstruction of what the receiver summed; the error
    /// measured where every participant that transmitted sent all of its symbols and reference.
    func aggregate(
        _ round: Int, plan: RoundPlan, collection: RoundCollection, delivered: [Int], channels h: ChannelTensor
    ) throws -> RoundAggregate {
        let present = delivered.reduce(0.0) { $0 + plan.weights[$1] }
        let reception = collection.receiver.finish()
        metrics.combined(symbols: plan.grid.streams * plan.grid.subcarriers * plan.symbols)
        if reception.error == nil {
            progress(
                "  round \(round): a transmission or reference update is incomplete or refused; the aggregation "
                    + "error is not measured"
            )
        }
        let error = reception.error?.scaled(by: 1 / (present * present))
        var transmissions = [(participant: Int, airtimeS: Double, energyJ: Double)]()
        switch settings.scheme {
        case .aircomp:
            guard let design = plan.design else {
                throw CommandError("round \(round): AirComp without a receive design")
            }
            let airtime = Double(plan.symbols) * scenario.plan.symbolDurationS
            transmissions = delivered.map { j in
                (
                    j, airtime,
                    (0..<design.subcarriers).reduce(0.0) { $0 + design.transmitPower(device: j, subcarrier: $1) }
                        * airtime
                )
            }
            return RoundAggregate(
                sum: reception.aggregate, deliveredWeight: present, error: error, airtimeS: airtime,
                transmissions: transmissions)
        case .ideal: break // no air: no airtime, no energy
        case .digital:
            let rates = try DigitalUplink.rates(
                channels: h.selecting(devices: plan.participants), powerW: plan.power,
                noisePowerW: scenario.noisePowerW, subcarrierSpacingHz: scenario.channel.subcarrierSpacingHz)
            for j in delivered {
                let seconds = DigitalUplink.airtime(
                    budgetBits: plan.digitalBudgets[j], reals: plan.reals, rate: rates[j])
                transmissions.append((j, seconds, plan.power[j] * seconds))
            }
        }
        return RoundAggregate(
            sum: reception.aggregate, deliveredWeight: present, error: error,
            airtimeS: transmissions.map(\.airtimeS).max() ?? 0, transmissions: transmissions)
    }
}
