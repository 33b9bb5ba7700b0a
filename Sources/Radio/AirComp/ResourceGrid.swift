import Numerics

/// How a real update is laid on the OFDM resources of one round: N_sc subcarriers × L streams ×
/// S OFDM symbols, two reals per complex symbol.
///
/// The j-th complex symbol (Δ[2j] + iΔ[2j+1]) / c goes to OFDM symbol t, subcarrier n, stream l
/// with j = (t·N_sc + n)·L + l: frequency first, as LTE/NR map resource elements, so an update's
/// consecutive entries spread across the band. The tail of the last OFDM symbol is zero padding.
public struct ResourceGrid: Equatable, Sendable {
    /// N_sc.
    public let subcarriers: Int
    /// L, streams per subcarrier.
    public let streams: Int

    public init(subcarriers: Int, streams: Int) throws {
        guard streams >= 1 else { throw AirCompError.invalidStreams(streams) }
        guard subcarriers >= 1 else {
            throw AirCompError.shapeMismatch("a resource grid needs at least one subcarrier")
        }
        self.subcarriers = subcarriers
        self.streams = streams
    }

    /// Complex symbols per OFDM symbol, L·N_sc.
    public var symbolsPerOFDMSymbol: Int { subcarriers * streams }

    /// S = ⌈D / (2·L·N_sc)⌉ OFDM symbols for an update of D reals.
    public func ofdmSymbols(forReals d: Int) -> Int {
        (d + 2 * symbolsPerOFDMSymbol - 1) / (2 * symbolsPerOFDMSymbol)
    }

    /// The common scale c: the largest per-device RMS magnitude per complex symbol,
    /// c = max_k √(‖Δ_k‖² / ⌈D/2⌉), so every device's symbols have mean power ≤ 1 (1 for the
    /// device that sets it). The BS announces c; an all-zero round gets c = 1.
    ///
    /// - Parameters:
    ///   - energies: ‖Δ_k‖² of each device's update (non-finite or negative entries are ignored).
    ///   - reals: D, reals per update.
    public static func commonScale(energies: [Double], reals: Int) -> Float {
        let symbols = Double(max(1, (reals + 1) / 2))
        let best = energies.filter { $0.isFinite && $0 >= 0 }.map { ($0 / symbols).squareRoot() }.max() ?? 0
        let c = Float(best)
        return c > 0 && c.isFinite ? c : 1
    }

    /// `commonScale(energies:reals:)` of the updates themselves.
    ///
    /// - Throws: `AirCompError.nonFiniteUpdate` naming the first NaN/Inf element.
    public static func commonScale(updates: [[Float]]) throws -> Float {
        var energies = [Double]()
        for (k, u) in updates.enumerated() {
            var energy = 0.0
            for (i, v) in u.enumerated() {
                guard v.isFinite else { throw AirCompError.nonFiniteUpdate(device: k, index: i) }
                energy += Double(v) * Double(v)
            }
            energies.append(energy)
        }
        return commonScale(energies: energies, reals: updates.map(\.count).max() ?? 0)
    }

    /// The update's symbols s[n, t] ∈ C^L: `SubcarrierBlocks` with L rows and S columns.
    ///
    /// - Throws: `AirCompError.nonFiniteUpdate` naming the first NaN/Inf element (device `device`).
    public func map(update: [Float], scale c: Float, device: Int = 0) throws -> SubcarrierBlocks {
        let s = ofdmSymbols(forReals: update.count)
        var block = SubcarrierBlocks(subcarriers: subcarriers, rows: streams, columns: s)
        let inv = 1 / c
        let complexCount = (update.count + 1) / 2
        for j in 0..<complexCount {
            let re = update[2 * j]
            let im = 2 * j + 1 < update.count ? update[2 * j + 1] : 0
            guard re.isFinite else { throw AirCompError.nonFiniteUpdate(device: device, index: 2 * j) }
            guard im.isFinite else { throw AirCompError.nonFiniteUpdate(device: device, index: 2 * j + 1) }
            block.elements[position(ofSymbol: j, ofdmSymbols: s)] = Complex(re * inv, im * inv)
        }
        return block
    }

    /// The exact inverse of `map`: D reals from an L-row symbol block, multiplied back by c.
    public func demap(_ block: SubcarrierBlocks, scale c: Float, reals d: Int) throws -> [Float] {
        try demap(block, scale: c, reals: d, dividingOFDMSymbolsBy: nil)
    }

    /// `demap`, and then each OFDM symbol t's reals divided by `divisors[t]` (0 where it is ≤ 0):
    /// the receiver's rescaling by the weight that arrived, in the same pass.
    ///
    /// Walks tiles of `tile` OFDM symbols × every subcarrier, so the block (read along t) and the
    /// reals (written along n) both stay in L1; index arithmetic without divisions (this runs on
    /// every round's D reals).
    public func demap(
        _ block: SubcarrierBlocks, scale c: Float, reals d: Int, dividingOFDMSymbolsBy divisors: [Double]?
    ) throws -> [Float] {
        let s = ofdmSymbols(forReals: d)
        guard block.rows == streams, block.subcarriers == subcarriers, block.columns == s else {
            throw AirCompError.shapeMismatch(
                "symbol block is \(block.subcarriers)×\(block.rows)×\(block.columns), an update of \(d) reals needs "
                    + "\(subcarriers)×\(streams)×\(s)"
            )
        }
        guard divisors == nil || divisors!.count == s else {
            throw AirCompError.shapeMismatch("\(divisors!.count) divisors for \(s) OFDM symbols")
        }
        let nsc = subcarriers
        let l2 = 2 * streams
        let tile = 8
        return [Float](unsafeUninitializedCapacity: d) { out, initialized in
            block.elements.withUnsafeBytes { raw in
                let from = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                let to = out.baseAddress!
                for t0 in stride(from: 0, to: s, by: tile) {
                    for n in 0..<nsc {
                        for t in t0..<min(t0 + tile, s) {
                            let src = from + (n &* s &+ t) &* l2
                            let dst = to + (t &* nsc &+ n) &* l2
                            // the last OFDM symbol's padding is not a real sample
                            let count = min(l2, d - (t &* nsc &+ n) &* l2)
                            guard count > 0 else { continue }
                            guard let divisors else {
                                for i in 0..<count { dst[i] = src[i] * c }
                                continue
                            }
                            let w = divisors[t]
                            guard w > 0 else {
                                dst.update(repeating: 0, count: count)
                                continue
                            }
                            let fw = Float(w)
                            for i in 0..<count { dst[i] = src[i] * c / fw }
                        }
                    }
                }
            }
            initialized = d
        }
    }

    /// Where complex symbol j goes: subcarrier n, OFDM symbol t, stream l.
    @inline(__always) func coordinates(ofSymbol j: Int) -> (n: Int, t: Int, l: Int) {
        ((j / streams) % subcarriers, j / symbolsPerOFDMSymbol, j % streams)
    }

    /// Index in `SubcarrierBlocks.elements` of complex symbol j (see the type's documentation).
    @inline(__always) func position(ofSymbol j: Int, ofdmSymbols s: Int) -> Int {
        let (n, t, l) = coordinates(ofSymbol: j)
        return (n * s + t) * streams + l
    }
}
