import Foundation
import LinearAlgebra
import Radio
import Wire

/// One round's transmissions collected from the wire: a symbol block per node, filled frame by
/// frame and checked for completeness.
struct SymbolAssembly {
    let rows: Int
    let symbols: Int
    var block: SubcarrierBlocks
    var received = [Bool]()
    var frames = 0
    /// The node's round end, when it arrived.
    var end: RoundEnd?
    var ended: Bool { end != nil }

    init(subcarriers: Int, rows: Int, symbols: Int) {
        self.rows = rows
        self.symbols = symbols
        block = SubcarrierBlocks(subcarriers: subcarriers, rows: rows, columns: symbols)
        received = [Bool](repeating: false, count: symbols)
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

    /// Every symbol arrived, and as many frames and symbols as the node says it sent.
    var complete: Bool { end.map { $0.frames == frames && $0.ofdmSymbols == symbols } == true && !received.contains(false) }
}

/// The base station's side of the air for one round.
enum RoundAir {
    /// AirComp: y = Σ_k H_k x_k + z at every BS antenna (true channels of the nodes that delivered),
    /// ŝ = A[n]ᴴ y / √η[n], Σ w_k Δ_k = c·demap(ŝ), rescaled by 1/Σ_{delivered} w_k. Also the measured
    /// thermal-noise MSE per subcarrier and symbol (ŝ against the same air without noise).
    static func aircomp(channels: ChannelTensor, delivered: [(channelIndex: Int, x: SubcarrierBlocks, weight: Double)], design: AirCompDesign,
                        noisePowerW: Double, scale: Float, reals: Int, seed: UInt64, round: Int) throws -> (sum: [Float], mse: Double) {
        let h = channels.selecting(devices: delivered.map(\.channelIndex))
        let stacked = try OverTheAir.stack(delivered.map(\.x))
        let y = try OverTheAir.superpose(channels: h, stacked: stacked, noisePowerW: noisePowerW, seed: seed, round: round)
        let clean = try OverTheAir.superpose(channels: h, stacked: stacked, noisePowerW: 0, seed: seed, round: round)
        let combined = try OverTheAir.combine(y, design: design), reference = try OverTheAir.combine(clean, design: design)
        var error = 0.0
        for i in combined.elements.indices { error += Double((combined.elements[i] - reference.elements[i]).lengthSquared) }
        let mse = error / Double(max(1, combined.subcarriers * combined.columns))
        let grid = try ResourceGrid(subcarriers: channels.subcarriers, streams: design.streams)
        var sum = try grid.demap(combined, scale: scale, reals: reals)
        let present = delivered.reduce(0) { $0 + $1.weight }
        for i in sum.indices { sum[i] /= Float(present) }
        return (sum, mse)
    }

    /// Ideal and digital: the symbols carry Δ_k / c (digital: already quantised); the exact
    /// weighted sum, rescaled over the nodes that delivered.
    static func exact(delivered: [(x: SubcarrierBlocks, weight: Double)], streams: Int, scale: Float, reals: Int) throws -> [Float] {
        var sum = [Float](repeating: 0, count: reals)
        let present = delivered.reduce(0) { $0 + $1.weight }
        for d in delivered {
            let grid = try ResourceGrid(subcarriers: d.x.subcarriers, streams: streams)
            let delta = try grid.demap(d.x, scale: scale, reals: reals)
            let w = Float(d.weight / present)
            for i in 0..<reals { sum[i] += w * delta[i] }
        }
        return sum
    }
}
