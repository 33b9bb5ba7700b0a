import Foundation
import LinearAlgebra
import Numerics
import Radio
import Wire

/// One round's transmission from one node, collected from the wire: its symbol block filled frame
/// by frame, the reference update it meant to send, and its round end.
struct SymbolAssembly {
    let rows: Int
    let symbols: Int
    var block: SubcarrierBlocks
    var received = [Bool]()
    var frames = 0
    /// Δ_k as the node says it meant to send it (measurement only), and how many reals arrived.
    var reference: [Float]
    var referenceReceived = [Bool]()
    /// The node's round end, when it arrived.
    var end: RoundEnd?
    /// The node registered again while the round collected (its transmission will not come).
    var registeredAgain = false
    var ended: Bool { end != nil }

    init(subcarriers: Int, rows: Int, symbols: Int, reals: Int) {
        self.rows = rows
        self.symbols = symbols
        block = SubcarrierBlocks(subcarriers: subcarriers, rows: rows, columns: symbols)
        received = [Bool](repeating: false, count: symbols)
        reference = [Float](repeating: 0, count: reals)
        referenceReceived = [Bool](repeating: false, count: reals)
    }

    /// Adds a symbols frame after checking it belongs to this transmission.
    mutating func add(_ f: Frame) throws {
        guard Int(f.subcarriers) == block.subcarriers, Int(f.antennas) == rows else {
            throw FrameError(offset: 24, problem: "frame is \(f.subcarriers) subcarriers × \(f.antennas) rows, the round expects \(block.subcarriers) × \(rows)")
        }
        let first = Int(f.firstSymbol), count = Int(f.symbolCount)
        guard first + count <= symbols else { throw FrameError(offset: 16, problem: "symbols \(first)..<\(first + count) beyond the round's \(symbols)") }
        let samples = f.samples()
        for (i, v) in samples.enumerated() where !v.isFinite { throw FrameError(offset: Frame.headerSize + 4 * i, problem: "sample is not finite") }
        try block.setSymbols(first: first, count: count, from: samples)
        for t in first..<(first + count) { received[t] = true }
        frames += 1
    }

    /// Adds a run of the reference update after checking it lies inside the update.
    mutating func add(_ r: UpdateReference) throws {
        guard r.offset >= 0, r.offset <= reference.count, r.values.count <= reference.count - r.offset else {
            throw FrameError(offset: Frame.headerSize, problem: "\(r.values.count) reference reals from \(r.offset) lie beyond the update's \(reference.count)")
        }
        for (i, v) in r.values.enumerated() {
            reference[r.offset + i] = v
            referenceReceived[r.offset + i] = true
        }
    }

    /// Every symbol arrived, and as many frames and symbols as the node says it sent.
    var complete: Bool { end.map { $0.frames == frames && $0.ofdmSymbols == symbols } == true && !received.contains(false) }

    /// The whole reference arrived, and it is finite (else the round's error is not measured).
    var referenceComplete: Bool { !referenceReceived.contains(false) && reference.allSatisfy(\.isFinite) }
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

extension FederationServer {
    /// Aggregate: the air for AirComp (`ReceiveChain`, true channels of the nodes that delivered),
    /// or the exact weighted sum of the symbols for ideal and digital; the error measured against
    /// the reference updates where every delivered node sent its reference.
    func aggregate(_ round: Int, plan: RoundPlan, assemblies: [SymbolAssembly], delivered: [Int], channels h: ChannelTensor) throws -> RoundAggregate {
        let present = delivered.reduce(0.0) { $0 + plan.weights[$1] }
        let measured = delivered.allSatisfy { assemblies[$0].referenceComplete }
        if !measured { progress("  round \(round): a reference update is missing or not finite; the aggregation error is not measured") }
        let intended = measured ? try delivered.map { try plan.grid.map(update: assemblies[$0].reference, scale: plan.scale) } : nil
        guard let design = plan.design else {
            return try exactAggregate(plan: plan, assemblies: assemblies, delivered: delivered, channels: h, present: present, intended: intended)
        }
        let chain = try ReceiveChain(channels: h.selecting(devices: delivered.map { plan.participants[$0] }), design: design, devices: delivered,
                                     noisePowerW: scenario.noisePowerW)
        let reception = try chain.receive(delivered.map { assemblies[$0].block }, intended: intended, scale: plan.scale, reals: plan.reals,
                                          seed: scenario.seed, round: round)
        let airtime = Double(plan.symbols) * scenario.plan.symbolDurationS
        let transmissions = delivered.map { j in
            (j, airtime, (0..<design.subcarriers).reduce(0.0) { $0 + design.transmitPower(device: j, subcarrier: $1) } * airtime)
        }
        return RoundAggregate(sum: reception.aggregate, deliveredWeight: present, error: reception.error?.scaled(by: 1 / (present * present)),
                              airtimeS: airtime, transmissions: transmissions)
    }

    /// Ideal and digital: the symbols carry Δ_k / c (digital: already quantised); the exact
    /// weighted sum, rescaled over the nodes that delivered. Its whole error is quantisation.
    private func exactAggregate(plan: RoundPlan, assemblies: [SymbolAssembly], delivered: [Int], channels h: ChannelTensor,
                                present: Double, intended: [SubcarrierBlocks]?) throws -> RoundAggregate {
        var sum = [Float](repeating: 0, count: plan.reals)
        var symbols = SubcarrierBlocks(subcarriers: plan.grid.subcarriers, rows: plan.grid.streams, columns: plan.symbols)
        var target = symbols
        for (i, j) in delivered.enumerated() {
            let w = plan.weights[j] / present
            let delta = try plan.grid.demap(assemblies[j].block, scale: plan.scale, reals: plan.reals)
            for r in 0..<plan.reals { sum[r] += Float(w) * delta[r] }
            for e in symbols.elements.indices {
                symbols.elements[e] += Complex(Float(w)) * assemblies[j].block.elements[e]
                if let s = intended { target.elements[e] += Complex(Float(w)) * s[i].elements[e] }
            }
        }
        let error = intended.map { _ in AggregationError(exactSum: symbols, target: target, quantized: settings.aggregation == .digital) }
        var transmissions = [(participant: Int, airtimeS: Double, energyJ: Double)]()
        if settings.aggregation == .digital {
            let rates = try DigitalUplink.rates(channels: h.selecting(devices: plan.participants), powerW: plan.power,
                                                noisePowerW: scenario.noisePowerW, subcarrierSpacingHz: scenario.channel.subcarrierSpacingHz)
            for j in delivered {
                let seconds = Double(plan.reals * plan.digitalBits[j]) / max(rates[j], 1e-9)
                transmissions.append((j, seconds, plan.power[j] * seconds))
            }
        }
        return RoundAggregate(sum: sum, deliveredWeight: present, error: error,
                              airtimeS: transmissions.map(\.airtimeS).max() ?? 0, transmissions: transmissions)
    }
}

extension AggregationError {
    /// The error of an exactly computed sum (no air): all of it is the nodes' quantisation when
    /// they quantised (digital), float rounding otherwise (ideal).
    init(exactSum sum: SubcarrierBlocks, target: SubcarrierBlocks, quantized: Bool) {
        let total = ReceiveChain.meanSquaredDifference(sum, target)
        let none = [Double](repeating: 0, count: total.count)
        self.init(total: total, thermal: none, csi: none, quantization: quantized ? total : none)
    }
}
