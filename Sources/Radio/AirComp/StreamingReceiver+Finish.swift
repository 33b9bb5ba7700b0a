import Dispatch
import Numerics
import Randomness

/// What the receive chain produced in one round.
public struct StreamingReception: Sendable {
    /// ŝ, L × S per subcarrier: the estimate of Σ_j w_j s_j over the devices that transmitted.
    public let combined: SubcarrierBlocks
    /// D reals: c · demap(ŝ), OFDM symbol t divided by W_t (0 where nothing arrived).
    public let aggregate: [Float]
    /// W_t per OFDM symbol: Σ w_j over the devices whose symbol t arrived.
    public let presentWeight: [Double]
    /// The error of ŝ against Σ w_j s_j (not rescaled by W), split by cause; nil when some device
    /// that transmitted did not send its whole transmission and reference, or without measuring.
    public let error: AggregationError?
}

extension StreamingReceiver {
    /// Waits for the queued frames, then per subcarrier band: thermal noise, combining, the error
    /// by cause; then the reconstruction. The receiver is spent afterwards.
    public func finish() -> StreamingReception {
        drain()
        let present = (0..<symbols).map { t in (0..<devices).reduce(0.0) { $0 + (arrived[$1][t] ? weights[$1] : 0) } }
        let measured =
            target != nil
            && (0..<devices).allSatisfy { j in
                let sent = arrived[j].contains(true) || !referenceRanges[j].isEmpty
                return !sent || (isComplete(device: j) && isReferenceComplete(device: j))
            }
        let nsc = grid.subcarriers
        let l = grid.streams
        var combined = SubcarrierBlocks(subcarriers: nsc, rows: l, columns: symbols)
        var total = [Double](repeating: 0, count: nsc)
        var thermal = total
        var csi = total
        var quantization = total
        var signalPower = total
        combined.elements.withUnsafeMutableBufferPointer { out in
            let floats = UnsafeMutableRawPointer(out.baseAddress!).assumingMemoryBound(to: Float.self)
            total.withUnsafeMutableBufferPointer { total in
                thermal.withUnsafeMutableBufferPointer { thermal in
                    csi.withUnsafeMutableBufferPointer { csi in
                        quantization.withUnsafeMutableBufferPointer { quantization in
                            signalPower.withUnsafeMutableBufferPointer { signalPower in
                                let errors = ErrorParts(
                                    total: total.baseAddress!, thermal: thermal.baseAddress!, csi: csi.baseAddress!,
                                    quantization: quantization.baseAddress!, signal: signalPower.baseAddress!)
                                let combiners = space == .antennas ? self.combiningTransform() : nil
                                let noise = self.combinerNoise()
                                DispatchQueue.concurrentPerform(iterations: bands.count) { b in
                                    var scratch = BandScratch(rows: signal.rows, streams: l, columns: symbols)
                                    for n in bands[b] {
                                        if space == .combiner, air.radio != nil {
                                            finishCombined(
                                                n, noise: noise, measured: measured, scratch: &scratch,
                                                out: floats + 2 * n * l * symbols, errors: errors)
                                        } else {
                                            finishSubcarrier(
                                                n, combiners: combiners, measured: measured, scratch: &scratch,
                                                out: floats + 2 * n * l * symbols, errors: errors)
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let error =
            measured
            ? AggregationError(
                total: total, thermal: thermal, csi: csi, quantization: quantization, signal: signalPower) : nil
        return StreamingReception(
            combined: combined, aggregate: reconstruct(combined, present: present), presentWeight: present, error: error
        )
    }

    /// A[n]ᴴ/√η[n] as a float transform (LSB 1: no rounding grid), air only.
    func combiningTransform() -> ColumnTransform? {
        guard let design = air.radio?.design else { return nil }
        let c = design.combiners()
        return ColumnTransform(
            subcarriers: grid.subcarriers, rows: grid.streams, inputs: design.receiveAntennas,
            lsb: [Float](repeating: 1, count: grid.subcarriers)
        ) { n, l, r in
            let v = c[n, l, r]
            return (v.real, v.imaginary)
        }
    }

    /// The combiner-space noise's factors, when the air is summed there with noise at the antennas.
    func combinerNoise() -> CombinerNoise? {
        guard space == .combiner, let (design, sigma2, domain) = air.radio, domain == .receiveAntennas, sigma2 > 0
        else { return nil }
        return CombinerNoise(design: design, noisePowerW: sigma2)
    }

    /// Subcarrier n of an air summed in the combiner's space: ŝ is the sum plus Aᴴz/√η (or, with
    /// the noise in the combined streams, i.i.d. σ²/η per stream, as the antennas' path draws it).
    private func finishCombined(
        _ n: Int, noise: CombinerNoise?, measured: Bool, scratch s: inout BandScratch,
        out: UnsafeMutablePointer<Float>, errors: ErrorParts
    ) {
        guard let (design, sigma2, domain) = air.radio else { return }
        let l = grid.streams
        let cols = symbols
        let count = l * cols
        signal.values(subcarrier: n, into: out)
        if measured { for i in 0..<(2 * count) { s.clean[i] = out[i] } }
        switch domain {
        case .receiveAntennas:
            noise?.add(subcarrier: n, seed: seed, round: round, columns: cols, draws: &s.noise, into: out)
        case .combinedStreams:
            addCombinedStreamNoise(n, sigma2: sigma2, eta: design.eta[n], scratch: &s, into: out)
        }
        guard measured, let target, let noiseless else { return }
        noiseless.values(subcarrier: n, into: &s.exact)
        target.values(subcarrier: n, into: &s.target)
        recordErrors(n, out: out, scratch: s, errors: errors)
    }

    /// i.i.d. CN(0, σ²/η[n]) per stream and OFDM symbol, from (seed, `combinedNoise`, round, n).
    private func addCombinedStreamNoise(
        _ n: Int, sigma2: Double, eta: Double, scratch s: inout BandScratch, into out: UnsafeMutablePointer<Float>
    ) {
        let count = 2 * grid.streams * symbols
        let sigma = Float((sigma2 / eta / 2).squareRoot())
        guard sigma > 0 else { return }
        var seeder = SeededGenerator(
            seed: seed, stream: [RandomStream.combinedNoise.rawValue, UInt64(round), UInt64(n)])
        NoiseGenerator(&seeder).fill(&s.noise, count: count, sigma: sigma)
        for i in 0..<count { out[i] += s.noise[i] }
    }

    /// The error parts of subcarrier n from ŝ (`out`), its noiseless sum (`clean`), the sum of the
    /// unquantised intended symbols (`exact`) and Σ w s (`target`).
    private func recordErrors(_ n: Int, out: UnsafeMutablePointer<Float>, scratch s: BandScratch, errors: ErrorParts) {
        let cols = symbols
        let count = grid.streams * cols
        errors.total[n] = Self.meanSquaredDifference(out, s.target, count: count, columns: cols)
        errors.thermal[n] = Self.meanSquaredDifference(out, s.clean, count: count, columns: cols)
        errors.csi[n] = Self.meanSquaredDifference(s.exact, s.target, count: count, columns: cols)
        errors.quantization[n] = Self.meanSquaredDifference(s.clean, s.exact, count: count, columns: cols)
        errors.signal[n] = Self.meanSquare(s.target, count: count, columns: cols)
    }

    /// Subcarrier n: ŝ into `out` (L × S interleaved) and the four error parts at index n.
    private func finishSubcarrier(
        _ n: Int, combiners: ColumnTransform?, measured: Bool, scratch s: inout BandScratch,
        out: UnsafeMutablePointer<Float>, errors: ErrorParts
    ) {
        let l = grid.streams
        let cols = symbols
        guard let (design, sigma2, domain) = air.radio, let combiners else {
            // An exact sum: ŝ is the sum itself; all its error is the devices' quantisation, if any.
            signal.values(subcarrier: n, into: out)
            guard measured, let target, case .exact(_, _, let quantized) = air else { return }
            target.values(subcarrier: n, into: &s.target)
            let total = Self.meanSquaredDifference(out, s.target, count: l * cols, columns: cols)
            (errors.total[n], errors.quantization[n]) = (total, quantized ? total : 0)
            errors.signal[n] = Self.meanSquare(s.target, count: l * cols, columns: cols)
            return
        }
        let nr = signal.rows
        signal.values(subcarrier: n, into: &s.signal)
        switch domain {
        case .receiveAntennas:
            s.received = s.signal
            if sigma2 > 0 {
                var seeder = SeededGenerator(
                    seed: seed, stream: [RandomStream.noise.rawValue, UInt64(round), UInt64(n)])
                NoiseGenerator(&seeder).fill(&s.noise, count: 2 * nr * cols, sigma: Float((sigma2 / 2).squareRoot()))
                for i in 0..<(2 * nr * cols) { s.received[i] += s.noise[i] }
            }
            combiners.apply(subcarrier: n, x: s.received, stride: nr, count: cols, into: out)
        case .combinedStreams:
            combiners.apply(subcarrier: n, x: s.signal, stride: nr, count: cols, into: out)
            addCombinedStreamNoise(n, sigma2: sigma2, eta: design.eta[n], scratch: &s, into: out)
        }
        guard measured, let target, let noiseless else { return }
        // ŝ − Σ w s = (ŝ − ŝ₀) + (ŝ₀ − ŝ₁) + (ŝ₁ − Σ w s): thermal, quantisation, CSI misalignment,
        // with ŝ₀ the noiseless air of what was sent and ŝ₁ that of the unquantised B_j s_j.
        combiners.apply(subcarrier: n, x: s.signal, stride: nr, count: cols, into: &s.clean)
        noiseless.values(subcarrier: n, into: &s.signal)
        combiners.apply(subcarrier: n, x: s.signal, stride: nr, count: cols, into: &s.exact)
        target.values(subcarrier: n, into: &s.target)
        recordErrors(n, out: out, scratch: s, errors: errors)
    }

    /// D reals from ŝ: c · demap, OFDM symbol t divided by W_t (0 where no device's symbol arrived).
    func reconstruct(_ combined: SubcarrierBlocks, present: [Double]) -> [Float] {
        // The grid fits by construction (the receiver's own S and D).
        (try? grid.demap(combined, scale: scale, reals: reals, dividingOFDMSymbolsBy: present)) ?? []
    }

    /// Σ|a|² over `count` complex values (interleaved), divided by `columns`.
    static func meanSquare(_ a: UnsafePointer<Float>, count: Int, columns: Int) -> Double {
        guard columns > 0 else { return 0 }
        var e = 0.0
        for i in 0..<(2 * count) { e += Double(a[i]) * Double(a[i]) }
        return e / Double(columns)
    }

    /// Σ|a − b|² over `count` complex values (interleaved), divided by `columns`.
    static func meanSquaredDifference(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int, columns: Int)
        -> Double
    {
        guard columns > 0 else { return 0 }
        var e = 0.0
        for i in 0..<(2 * count) {
            let d = Double(a[i] - b[i])
            e += d * d
        }
        return e / Double(columns)
    }
}

/// Where each subcarrier's error parts go (disjoint indices per worker).
private struct ErrorParts: @unchecked Sendable {
    let total: UnsafeMutablePointer<Double>, thermal: UnsafeMutablePointer<Double>
    let csi: UnsafeMutablePointer<Double>, quantization: UnsafeMutablePointer<Double>
    let signal: UnsafeMutablePointer<Double>
}

/// One worker's buffers for a subcarrier (interleaved complex, column-major).
private struct BandScratch {
    var signal: [Float], received: [Float], noise: [Float]
    var clean: [Float], exact: [Float], target: [Float]

    init(rows: Int, streams: Int, columns: Int) {
        let wide = 2 * max(rows, streams) * columns
        let narrow = 2 * streams * columns
        (signal, received, noise) = (
            [Float](repeating: 0, count: wide), [Float](repeating: 0, count: wide), [Float](repeating: 0, count: wide)
        )
        (clean, exact, target) = (
            [Float](repeating: 0, count: narrow), [Float](repeating: 0, count: narrow),
            [Float](repeating: 0, count: narrow)
        )
    }
}
