import Dispatch
import LinearAlgebra
import Numerics
import Randomness

/// The over-the-air stages after mapping: precoding at each device, the channel's superposition
/// with thermal noise, and receive combining at the BS.
public enum OverTheAir {
    /// x_k[n] = B_k[n] s_k[n] for every subcarrier: N_t × S per subcarrier (one cgemm each).
    ///
    /// - Parameters:
    ///   - symbols: s_k, L rows × S OFDM symbols per subcarrier.
    ///   - precoder: B_k, N_t rows × L columns per subcarrier.
    public static func precode(_ symbols: SubcarrierBlocks, with precoder: SubcarrierBlocks) throws -> SubcarrierBlocks
    {
        guard symbols.subcarriers == precoder.subcarriers, symbols.rows == precoder.columns else {
            throw AirCompError.shapeMismatch(
                "symbols are \(symbols.subcarriers)×\(symbols.rows)×S, precoder "
                    + "\(precoder.subcarriers)×\(precoder.rows)×\(precoder.columns)"
            )
        }
        let nt = precoder.rows
        let l = precoder.columns
        let s = symbols.columns
        var x = SubcarrierBlocks(subcarriers: symbols.subcarriers, rows: nt, columns: s)
        guard s > 0 else { return x }
        precoder.elements.withUnsafeBufferPointer { pb in
            symbols.elements.withUnsafeBufferPointer { ps in
                x.elements.withUnsafeMutableBufferPointer { px in
                    for n in 0..<symbols.subcarriers {
                        Float.gemm(
                            .none, .none, m: nt, n: s, k: l, alpha: .one, a: pb.baseAddress! + n * nt * l, lda: nt,
                            b: ps.baseAddress! + n * l * s, ldb: l, beta: .zero, c: px.baseAddress! + n * nt * s,
                            ldc: nt)
                    }
                }
            }
        }
        return x
    }

    /// Stacks the devices' transmissions into the air's input: per subcarrier a (K·N_t) × S matrix
    /// whose rows k·N_t ..< (k+1)·N_t are device k's antennas, matching [H_1[n] … H_K[n]].
    public static func stack(_ transmissions: [SubcarrierBlocks]) throws -> SubcarrierBlocks {
        guard let first = transmissions.first else { throw AirCompError.noDevices }
        for (k, x) in transmissions.enumerated()
        where x.subcarriers != first.subcarriers || x.rows != first.rows || x.columns != first.columns {
            throw AirCompError.shapeMismatch(
                "device \(k) sent \(x.subcarriers)×\(x.rows)×\(x.columns), device 0 sent "
                    + "\(first.subcarriers)×\(first.rows)×\(first.columns)"
            )
        }
        let k = transmissions.count
        let nt = first.rows
        let s = first.columns
        var out = SubcarrierBlocks(subcarriers: first.subcarriers, rows: k * nt, columns: s)
        for n in 0..<first.subcarriers {
            for (d, x) in transmissions.enumerated() {
                for t in 0..<s {
                    let src = (n * s + t) * nt
                    let dst = (n * s + t) * k * nt + d * nt
                    for a in 0..<nt { out.elements[dst + a] = x.elements[src + a] }
                }
            }
        }
        return out
    }

    /// The received signal y[n] = Σ_k H_k[n] x_k[n] + z[n], z ~ CN(0, σ² I), N_r × S per subcarrier.
    ///
    /// One cgemm per subcarrier ([H_1 … H_K] times the stacked input) accumulated onto the noise.
    /// Subcarriers are split across `threads` workers, each with its own noise substream per
    /// subcarrier (seed, round, n), so the result does not depend on the thread count.
    ///
    /// - Parameters:
    ///   - channels: the true channels H.
    ///   - stacked: output of `stack`, (K·N_t) × S per subcarrier.
    ///   - noisePowerW: σ², watts per subcarrier and receive antenna; 0 gives the noiseless sum.
    public static func superpose(
        channels: ChannelTensor, stacked: SubcarrierBlocks, noisePowerW: Double, seed: UInt64, round: Int,
        threads: Int = 2
    ) throws -> SubcarrierBlocks {
        var y = SubcarrierBlocks(
            subcarriers: channels.subcarriers, rows: channels.receiveAntennas, columns: stacked.columns)
        try superpose(
            channels: channels, stacked: stacked, noisePowerW: noisePowerW, seed: seed, round: round, threads: threads,
            into: &y)
        return y
    }

    /// `superpose` into a caller-owned buffer (no allocation in the hot loop).
    public static func superpose(
        channels: ChannelTensor, stacked: SubcarrierBlocks, noisePowerW: Double, seed: UInt64, round: Int,
        threads: Int = 2,
        into y: inout SubcarrierBlocks
    ) throws {
        let nr = channels.receiveAntennas
        let kn = channels.devices * channels.transmitAntennas
        guard stacked.subcarriers == channels.subcarriers, stacked.rows == kn else {
            throw AirCompError.shapeMismatch(
                "air input is \(stacked.subcarriers)×\(stacked.rows)×S, channels need \(channels.subcarriers)×\(kn)×S")
        }
        guard y.subcarriers == channels.subcarriers, y.rows == nr, y.columns == stacked.columns else {
            throw AirCompError.shapeMismatch("receive buffer has the wrong shape")
        }
        let s = stacked.columns
        guard s > 0 else { return }
        let sigma = Float((noisePowerW / 2).squareRoot())
        channels.elements.withUnsafeBufferPointer { ph in
            stacked.elements.withUnsafeBufferPointer { px in
                y.elements.withUnsafeMutableBufferPointer { py in
                    let h = ph.baseAddress!
                    let x = px.baseAddress!
                    let out = py.baseAddress!
                    parallelOverSubcarriers(channels.subcarriers, threads: threads) { n in
                        let yn = out + n * nr * s
                        if sigma > 0 {
                            var seeder = SeededGenerator(
                                seed: seed, stream: [RandomStream.noise.rawValue, UInt64(round), UInt64(n)])
                            NoiseGenerator(&seeder).fill(
                                UnsafeMutableRawPointer(yn).assumingMemoryBound(to: Float.self), count: 2 * nr * s,
                                sigma: sigma)
                        }
                        Float.gemm(
                            .none, .none, m: nr, n: s, k: kn, alpha: .one, a: h + n * nr * kn, lda: nr,
                            b: x + n * kn * s, ldb: kn, beta: sigma > 0 ? .one : .zero, c: yn, ldc: nr)
                    }
                }
            }
        }
    }

    /// ŝ[n] = A[n]ᴴ y[n] / √η[n], L × S per subcarrier: the estimate of Σ_k w_k s_k[n].
    public static func combine(_ y: SubcarrierBlocks, design: AirCompDesign, threads: Int = 2) throws
        -> SubcarrierBlocks
    {
        var out = SubcarrierBlocks(subcarriers: y.subcarriers, rows: design.streams, columns: y.columns)
        let combiners = design.combiners()
        try combine(y, combiners: combiners, into: &out, threads: threads)
        return out
    }

    /// `combine` with precomputed combiners A[n]ᴴ/√η[n] (see `AirCompDesign.combiners()`) into a
    /// caller-owned buffer.
    public static func combine(
        _ y: SubcarrierBlocks, combiners: SubcarrierBlocks, into out: inout SubcarrierBlocks, threads: Int = 2
    ) throws {
        let nr = y.rows
        let l = combiners.rows
        let s = y.columns
        guard combiners.subcarriers == y.subcarriers, combiners.columns == nr, out.rows == l, out.columns == s,
            out.subcarriers == y.subcarriers
        else {
            throw AirCompError.shapeMismatch(
                "combiners \(combiners.subcarriers)×\(combiners.rows)×\(combiners.columns) do not fit y "
                    + "\(y.subcarriers)×\(nr)×\(s)"
            )
        }
        guard s > 0 else { return }
        combiners.elements.withUnsafeBufferPointer { pc in
            y.elements.withUnsafeBufferPointer { py in
                out.elements.withUnsafeMutableBufferPointer { po in
                    let c = pc.baseAddress!
                    let yy = py.baseAddress!
                    let o = po.baseAddress!
                    parallelOverSubcarriers(y.subcarriers, threads: threads) { n in
                        Float.gemm(
                            .none, .none, m: l, n: s, k: nr, alpha: .one, a: c + n * l * nr, lda: l,
                            b: yy + n * nr * s, ldb: nr, beta: .zero, c: o + n * l * s, ldc: l)
                    }
                }
            }
        }
    }

    /// The BS's whole receive chain in one pass: ŝ[n] = A[n]ᴴ (Σ_k H_k[n] x_k[n]) / √η[n] + w[n].
    ///
    /// With orthonormal A (which `AirCompDesign` enforces), the combined thermal noise Aᴴ z / √η is
    /// exactly CN(0, σ²/η[n] · I_L), so it is drawn in the L-dimensional combined domain instead of
    /// at all N_r antennas: the same distribution of ŝ as `superpose` + `combine`, with N_r/L times
    /// fewer random draws. Use `superpose` when the received y itself is wanted.
    ///
    /// - Parameters:
    ///   - channels: true H. - stacked: (K·N_t) × S per subcarrier (see `stack`).
    ///   - design: supplies A[n], η[n]. - noisePowerW: σ² per antenna, watts.
    ///   - signal: scratch buffer for the noiseless air sum, N_r × S per subcarrier.
    ///   - out: ŝ, L × S per subcarrier.
    public static func receive(
        channels: ChannelTensor, stacked: SubcarrierBlocks, combiners: SubcarrierBlocks, eta: [Double],
        noisePowerW: Double,
        seed: UInt64, round: Int, threads: Int = 2, signal: inout SubcarrierBlocks, into out: inout SubcarrierBlocks
    ) throws {
        let nr = channels.receiveAntennas
        let kn = channels.devices * channels.transmitAntennas
        let l = combiners.rows
        let s = stacked.columns
        guard stacked.subcarriers == channels.subcarriers, stacked.rows == kn else {
            throw AirCompError.shapeMismatch(
                "air input is \(stacked.subcarriers)×\(stacked.rows)×S, channels need \(channels.subcarriers)×\(kn)×S")
        }
        guard combiners.subcarriers == channels.subcarriers, combiners.columns == nr, eta.count == channels.subcarriers,
            signal.subcarriers == channels.subcarriers, signal.rows == nr, signal.columns == s,
            out.subcarriers == channels.subcarriers, out.rows == l, out.columns == s
        else {
            throw AirCompError.shapeMismatch(
                "receive buffers, combiners or η do not fit \(channels.subcarriers) subcarriers × N_r = \(nr) × S = "
                    + "\(s)"
            )
        }
        guard s > 0 else { return }
        let sigmas = eta.map { Float((noisePowerW / $0 / 2).squareRoot()) }
        channels.elements.withUnsafeBufferPointer { ph in
            stacked.elements.withUnsafeBufferPointer { px in
                combiners.elements.withUnsafeBufferPointer { pc in
                    signal.elements.withUnsafeMutableBufferPointer { py in
                        out.elements.withUnsafeMutableBufferPointer { po in
                            let h = ph.baseAddress!
                            let x = px.baseAddress!
                            let c = pc.baseAddress!
                            let y = py.baseAddress!
                            let o = po.baseAddress!
                            parallelOverSubcarriers(channels.subcarriers, threads: threads) { n in
                                let yn = y + n * nr * s
                                let on = o + n * l * s
                                Float.gemm(
                                    .none, .none, m: nr, n: s, k: kn, alpha: .one, a: h + n * nr * kn, lda: nr,
                                    b: x + n * kn * s, ldb: kn, beta: .zero, c: yn, ldc: nr)
                                let sigma = sigmas[n]
                                if sigma > 0 {
                                    var seeder = SeededGenerator(
                                        seed: seed,
                                        stream: [RandomStream.combinedNoise.rawValue, UInt64(round), UInt64(n)])
                                    NoiseGenerator(&seeder).fill(
                                        UnsafeMutableRawPointer(on).assumingMemoryBound(to: Float.self),
                                        count: 2 * l * s, sigma: sigma)
                                }
                                Float.gemm(
                                    .none, .none, m: l, n: s, k: nr, alpha: .one, a: c + n * l * nr, lda: l,
                                    b: yn, ldb: nr, beta: sigma > 0 ? .one : .zero, c: on, ldc: l)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Runs `body(n)` for n in 0..<count on `threads` workers in contiguous chunks, OpenBLAS held
    /// to one thread meanwhile (the workers are the parallelism).
    static func parallelOverSubcarriers(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        let workers = max(1, min(threads, count))
        if workers == 1 {
            for n in 0..<count { body(n) }
            return
        }
        let previous = BLASRuntime.threads
        BLASRuntime.threads = 1
        defer { BLASRuntime.threads = previous }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = count * w / workers
            let hi = count * (w + 1) / workers
            for n in lo..<hi { body(n) }
        }
    }
}

extension AirCompDesign {
    /// A[n]ᴴ / √η[n] for every subcarrier, complex64, L × N_r each.
    public func combiners() -> SubcarrierBlocks {
        var out = SubcarrierBlocks(subcarriers: subcarriers, rows: streams, columns: receiveAntennas)
        for n in 0..<subcarriers {
            let scale = 1 / eta[n].squareRoot()
            let a = beamformers[n]
            for r in 0..<receiveAntennas {
                for l in 0..<streams {
                    let v = a[r, l].conjugate * Complex(scale)
                    out[n, l, r] = Complex(Float(v.real), Float(v.imaginary))
                }
            }
        }
        return out
    }
}
