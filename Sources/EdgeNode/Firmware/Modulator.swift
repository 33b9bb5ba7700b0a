import Radio
import Wire

/// The firmware's transmitter: one round's update turned into the frames the base station asked
/// for, with no I/O of its own (the state loop sends them).
///
/// AirComp: s = map(Δ, c) (L × S per subcarrier), x = B_k s (N_t × S), quantised by the profile's
/// DAC, sent as `sampleFormat` samples. Ideal: s as cf32. Digital: map(C(Δ), c) as cf32, C the
/// unbiased compressor into the order's bit budget, as the base station decodes it. Every mode then sends the reference
/// Δ (measurement only) and a round end.
struct Modulator {
    /// The device's DAC resolution, bits per I/Q component.
    let dacBits: Int
    /// OFDM symbols per symbols frame (capped so a frame stays under the wire's payload limit).
    let frameSymbols: Int

    /// Range checks on a transmit order against the update it is for, before anything is sized from it.
    static func validate(_ t: Transmit, reals: Int) throws {
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw FrameError(offset: 0, problem: "transmit: \(what)") }
        }
        try check(
            (1...65_536).contains(t.subcarriers) && (1...64).contains(t.streams) && (1...64).contains(t.antennas),
            "grid \(t.subcarriers)×\(t.streams), \(t.antennas) antennas")
        try check(t.scale.isFinite && t.scale > 0, "scale \(t.scale)")
        try check(t.mode != .digital || t.digitalBudgetBits >= 1, "a digital budget of \(t.digitalBudgetBits) bits")
        try check(
            t.mode != .aircomp || t.precoders.count == 2 * t.subcarriers * t.antennas * t.streams,
            "\(t.precoders.count / 2) precoder entries")
        try check(t.precoders.allSatisfy(\.isFinite), "non-finite precoder")
        let symbols = try ResourceGrid(subcarriers: t.subcarriers, streams: t.streams).ofdmSymbols(forReals: reals)
        try check(
            symbols * t.subcarriers * max(t.antennas, t.streams) <= 1 << 28,
            "a transmission of \(symbols) OFDM symbols is too large")
    }

    /// The round's frames in sending order: symbols, reference, round end.
    func frames(for update: [Float], order t: Transmit, round: UInt32, node: UInt32) throws -> [Frame] {
        try Self.validate(t, reals: update.count)
        let grid = try ResourceGrid(subcarriers: t.subcarriers, streams: t.streams)
        var block: SubcarrierBlocks
        var format = SampleFormat.cf32
        var step: Float = 1
        switch t.mode {
        case .aircomp:
            let s = try grid.map(update: update, scale: t.scale, device: Int(node))
            let b = try SubcarrierBlocks(
                subcarriers: t.subcarriers, rows: t.antennas, columns: t.streams, interleaved: t.precoders)
            block = try OverTheAir.precode(s, with: b)
            step = try DAC(bits: dacBits).quantize(&block)
            format = t.sampleFormat
        case .ideal:
            block = try grid.map(update: update, scale: t.scale, device: Int(node))
        case .digital:
            let payload = UnbiasedCompressor.compress(update, budgetBits: t.digitalBudgetBits, seed: t.digitalSeed)
            block = try grid.map(update: payload.decoded, scale: t.scale, device: Int(node))
        }
        var out = symbolFrames(block, format: format, step: step, round: round, node: node)
        let symbolFrameCount = out.count
        for first in stride(from: 0, to: update.count, by: UpdateReference.maximumValues) {
            let values = Array(update[first..<min(update.count, first + UpdateReference.maximumValues)])
            out.append(UpdateReference(offset: first, values: values).frame(round: round, node: node))
        }
        out.append(RoundEnd(frames: symbolFrameCount, ofdmSymbols: block.columns).frame(round: round, node: node))
        return out
    }

    /// The block's OFDM symbols in runs of at most `frameSymbols`, each frame under the payload limit.
    private func symbolFrames(_ block: SubcarrierBlocks, format: SampleFormat, step: Float, round: UInt32, node: UInt32)
        -> [Frame]
    {
        let symbols = block.columns
        let perSymbol = 2 * block.subcarriers * block.rows
        let samples = block.symbolMajorSamples(0..<symbols)
        let fitting = max(1, Frame.maximumPayload / (perSymbol / 2 * format.bytesPerSample))
        let chunk = min(frameSymbols, fitting)
        return stride(from: 0, to: symbols, by: chunk).map { first in
            let count = min(chunk, symbols - first)
            return Frame.symbols(
                round: round, node: node, firstSymbol: UInt32(first), symbolCount: UInt32(count),
                subcarriers: UInt32(block.subcarriers), antennas: UInt32(block.rows),
                samples: samples[(first * perSymbol)..<((first + count) * perSymbol)], format: format, step: step)
        }
    }
}
