import Numerics
import Randomness

/// Where the receiver sums the devices' samples on the air.
///
/// The base station only ever uses ŝ = Aᴴy/√η, and the round's combiner A is designed on the
/// channel estimate before any frame arrives. So ŝ = Σ_k (Aᴴ H_k/√η) x_k + Aᴴz/√η can be summed in
/// the combiner's space directly: Aᴴ H_k/√η is L × N_t per subcarrier instead of H_k's N_r × N_t,
/// N_r / L times fewer multiply-adds and nothing of size N_r per sample held, and Aᴴz/√η is drawn
/// as what it is, circular Gaussian with covariance σ²AᴴA/η. The same law as the antennas' path
/// (`StreamingReceiverCombinerSpaceTests` compares the two paths' error parts over many rounds).
public enum ReceiverSpace: String, Sendable, CaseIterable {
    /// Σ_k (Aᴴ H_k/√η) x_k, L rows: `serve`'s and `stress`'s default, since their combiner is
    /// known before the frames.
    case combiner
    /// Σ_k H_k x_k + z, N_r rows, the received samples per antenna, then combined: for whoever
    /// wants per-antenna samples (`aircomp.receiver = "antennas"` in a scenario, `stress
    /// --receiver antennas`; `bench-air` times both paths).
    case antennas
}

extension ColumnTransform {
    /// Every device's transform of the air in `space`: A[n]ᴴH_k[n]/√η[n] or H_k[n].
    static func airChannels(_ h: ChannelTensor, _ design: AirCompDesign, space: ReceiverSpace, lsb: [Float])
        -> [ColumnTransform]
    {
        switch space {
        case .combiner: (0..<h.devices).map { combinedChannel(h, design, device: $0, lsb: lsb) }
        case .antennas: channels(h, lsb: lsb)
        }
    }

    /// G = A[n]ᴴ H_k[n] / √η[n] (L × N_t): device k's samples as the combiner sees them. Products
    /// in Double from the design's own A and η, rounded to Float once.
    public static func combinedChannel(_ h: ChannelTensor, _ design: AirCompDesign, device k: Int, lsb: [Float])
        -> ColumnTransform
    {
        let nt = h.transmitAntennas
        return combined(design, subcarriers: h.subcarriers, receiveAntennas: h.receiveAntennas, inputs: nt, lsb: lsb) {
            n, m in
            for r in 0..<h.receiveAntennas {
                for a in 0..<nt {
                    let v = h[n, k, r, a]
                    m[r * nt + a] = Complex(Double(v.real), Double(v.imaginary))
                }
            }
        }
    }

    /// G = A[n]ᴴ H_k[n] B_k[n] / √η[n] (L × L): device k's intended symbols, unquantised, as the
    /// combiner sees them (the measurement's noiseless reference in the combiner's space).
    public static func combinedEffective(_ h: ChannelTensor, _ design: AirCompDesign, device k: Int, lsb: [Float])
        -> ColumnTransform
    {
        let b = design.precoders[k]
        let nr = h.receiveAntennas
        let nt = h.transmitAntennas
        let l = design.streams
        return combined(design, subcarriers: h.subcarriers, receiveAntennas: nr, inputs: l, lsb: lsb) { n, m in
            for r in 0..<nr {
                for c in 0..<l {
                    var v = Complex<Double>.zero
                    for a in 0..<nt {
                        let hv = h[n, k, r, a]
                        let bv = b[n, a, c]
                        v +=
                            Complex(Double(hv.real), Double(hv.imaginary))
                            * Complex(Double(bv.real), Double(bv.imaginary))
                    }
                    m[r * l + c] = v
                }
            }
        }
    }

    /// Aᴴ M[n] / √η[n] for the N_r × `inputs` matrices M[n] (row-major) that `fill(n, m)` writes.
    /// Made every round for every device: plain loops over raw storage, the columns side by side
    /// (independent sums, each over r in order).
    private static func combined(
        _ design: AirCompDesign, subcarriers: Int, receiveAntennas nr: Int, inputs: Int, lsb: [Float],
        fill: (_ n: Int, _ m: UnsafeMutablePointer<Complex<Double>>) -> Void
    ) -> ColumnTransform {
        let l = design.streams
        var g = [Complex<Float>](repeating: .zero, count: subcarriers * l * inputs)
        let m = UnsafeMutablePointer<Complex<Double>>.allocate(capacity: nr * inputs)
        let sums = UnsafeMutablePointer<Complex<Double>>.allocate(capacity: inputs)
        defer {
            m.deallocate()
            sums.deallocate()
        }
        g.withUnsafeMutableBufferPointer { g in
            for n in 0..<subcarriers {
                fill(n, m)
                let scale = 1 / design.eta[n].squareRoot()
                // A column-major: A[r, row] at row·N_r + r
                design.beamformers[n].elements.withUnsafeBufferPointer { a in
                    for row in 0..<l {
                        for column in 0..<inputs { sums[column] = .zero }
                        for r in 0..<nr {
                            let av = a[row &* nr &+ r]
                            for column in 0..<inputs {
                                let mv = m[r &* inputs &+ column]
                                sums[column] = Complex(
                                    sums[column].real + (av.real * mv.real + av.imaginary * mv.imaginary),
                                    sums[column].imaginary + (av.real * mv.imaginary - av.imaginary * mv.real))
                            }
                        }
                        for column in 0..<inputs {
                            g[(n &* l &+ row) &* inputs &+ column] = Complex(
                                Float(sums[column].real * scale), Float(sums[column].imaginary * scale))
                        }
                    }
                }
            }
        }
        return ColumnTransform(subcarriers: subcarriers, rows: l, inputs: inputs, lsb: lsb) { n, row, column in
            let v = g[(n * l + row) * inputs + column]
            return (v.real, v.imaginary)
        }
    }
}

/// The combiner-space thermal noise Aᴴz/√η, z ~ CN(0, σ²I): per subcarrier, F[n] with
/// F Fᴴ = σ²A[n]ᴴA[n]/η[n] (Cholesky, L × L lower triangular), applied to i.i.d. CN(0, 1) draws.
/// A Grassmann combiner has AᴴA = I, so F = σ/√η·I there; the factor keeps any other combiner's
/// correlation.
struct CombinerNoise: Sendable {
    let streams: Int
    /// F[n], row-major L × L per subcarrier.
    let factors: [Complex<Double>]

    init(design: AirCompDesign, noisePowerW sigma2: Double) {
        let l = design.streams
        let nr = design.receiveAntennas
        var factors = [Complex<Double>](repeating: .zero, count: design.subcarriers * l * l)
        for n in 0..<design.subcarriers {
            let a = design.beamformers[n]
            let scale = sigma2 / design.eta[n]
            var m = [Complex<Double>](repeating: .zero, count: l * l)
            for i in 0..<l {
                for j in 0..<l {
                    var v = Complex<Double>.zero
                    for r in 0..<nr { v += a[r, i].conjugate * a[r, j] }
                    m[i * l + j] = v * Complex(scale)
                }
            }
            let f = Self.cholesky(m, size: l)
            for i in 0..<(l * l) { factors[n * l * l + i] = f[i] }
        }
        streams = l
        self.factors = factors
    }

    /// The lower-triangular F with F Fᴴ = m (Hermitian, positive semi-definite, row-major): a
    /// direction m does not reach (a pivot below 1e-12 of the trace) gets a zero column.
    static func cholesky(_ m: [Complex<Double>], size l: Int) -> [Complex<Double>] {
        var f = [Complex<Double>](repeating: .zero, count: l * l)
        let floor = 1e-12 * (0..<l).reduce(0.0) { $0 + m[$1 * l + $1].real }
        for j in 0..<l {
            var d = m[j * l + j].real
            for k in 0..<j { d -= f[j * l + k].lengthSquared }
            guard d > floor else { continue }
            let pivot = d.squareRoot()
            f[j * l + j] = Complex(pivot)
            for i in (j + 1)..<l {
                var v = m[i * l + j]
                for k in 0..<j { v -= f[i * l + k] * f[j * l + k].conjugate }
                f[i * l + j] = v / Complex(pivot)
            }
        }
        return f
    }

    /// out (L × S interleaved, column-major) += F[n]·w_t for S columns, w drawn from (seed,
    /// `combinerNoise`, round, n): the same bits for any thread and band split.
    func add(
        subcarrier n: Int, seed: UInt64, round: Int, columns: Int, draws: inout [Float],
        into out: UnsafeMutablePointer<Float>
    ) {
        let l = streams
        let count = 2 * l * columns
        var seeder = SeededGenerator(
            seed: seed, stream: [RandomStream.combinerNoise.rawValue, UInt64(round), UInt64(n)])
        if draws.count < count { draws = [Float](repeating: 0, count: count) }
        draws.withUnsafeMutableBufferPointer {
            NoiseGenerator(&seeder).fill($0.baseAddress!, count: count, sigma: Float(0.5.squareRoot()))
        }
        factors.withUnsafeBufferPointer { factors in
            let f = factors.baseAddress! + n * l * l
            for t in 0..<columns {
                let w = 2 * t * l
                for i in 0..<l {
                    var v = Complex<Double>.zero
                    for k in 0...i {
                        v += f[i * l + k] * Complex(Double(draws[w + 2 * k]), Double(draws[w + 2 * k + 1]))
                    }
                    out[w + 2 * i] += Float(v.real)
                    out[w + 2 * i + 1] += Float(v.imaginary)
                }
            }
        }
    }
}
