import LinearAlgebra
import Numerics

/// Where the emulator draws the thermal noise: at every BS antenna (y = Σ H x + z, then
/// combining) or directly in the combined domain (exact for orthonormal A; N_r/L times fewer draws).
public enum NoiseDomain: String, Sendable, CaseIterable {
    case receiveAntennas = "antennas"
    case combinedStreams = "combined"
}

/// The base station's receive chain for one AirComp round, in four stages that `basestation
/// demo`, the tests and `basestation serve` all run:
///
///     superpose    y[n] = Σ_k H_k[n] x_k[n] + z[n]             N_r × S per subcarrier
///     combine      ŝ[n] = A[n]ᴴ y[n] / √η[n]                   L × S per subcarrier
///     reconstruct  Σ_k w_k Δ_k ≈ c · demap(ŝ) / Σ_{delivered} w_k   D reals
///     measure      ŝ − Σ_k w_k s_k, split into thermal noise, CSI misalignment and quantisation
///
/// `x_k` are the samples as they left device k (after its DAC, if it has one); `s_k` the symbols it
/// meant to send, `grid.map(Δ_k, c)`. H is the true channel; the design (A, η, B_k) was made on
/// the estimate Ĥ. With the noise drawn from (seed, round, subcarrier) substreams, the result is the
/// same for any thread count.
public struct ReceiveChain: Sendable {
    /// The true channels of the devices that transmitted, in `devices` order.
    public let channels: ChannelTensor
    public let design: AirCompDesign
    /// Indices into the design's devices (its weights and precoders) of those that transmitted.
    public let devices: [Int]
    /// σ², watts per subcarrier and receive antenna.
    public let noisePowerW: Double
    public let noiseDomain: NoiseDomain
    public let threads: Int

    public init(channels: ChannelTensor, design: AirCompDesign, devices: [Int]? = nil, noisePowerW: Double,
                noiseDomain: NoiseDomain = .receiveAntennas, threads: Int = 2) throws {
        let chosen = devices ?? Array(0..<design.devices)
        guard !chosen.isEmpty else { throw AirCompError.noDevices }
        guard chosen.count == channels.devices, chosen.allSatisfy({ (0..<design.devices).contains($0) }) else {
            throw AirCompError.shapeMismatch("\(chosen.count) transmitting devices \(chosen) for \(channels.devices) channels and a design of \(design.devices)")
        }
        guard channels.subcarriers == design.subcarriers, channels.receiveAntennas == design.receiveAntennas,
              channels.transmitAntennas == design.transmitAntennas else {
            throw AirCompError.shapeMismatch("channels \(channels.subcarriers)×\(channels.receiveAntennas)×\(channels.transmitAntennas) do not fit the design's \(design.subcarriers)×\(design.receiveAntennas)×\(design.transmitAntennas)")
        }
        guard noisePowerW >= 0, noisePowerW.isFinite else { throw AirCompError.shapeMismatch("noise power \(noisePowerW) W must be finite and ≥ 0") }
        self.channels = channels
        self.design = design
        self.devices = chosen
        self.noisePowerW = noisePowerW
        self.noiseDomain = noiseDomain
        self.threads = threads
    }

    /// Stages 1 and 2: the air and the combiner. ŝ (L × S per subcarrier) for the transmitted
    /// samples `x` (N_t × S each, `devices` order), with thermal noise at σ² `noisePowerW`.
    public func superposeAndCombine(_ x: [SubcarrierBlocks], noisePowerW sigma2: Double, seed: UInt64, round: Int) throws -> SubcarrierBlocks {
        let stacked = try OverTheAir.stack(x)
        switch noiseDomain {
        case .receiveAntennas:
            let y = try OverTheAir.superpose(channels: channels, stacked: stacked, noisePowerW: sigma2, seed: seed, round: round, threads: threads)
            return try OverTheAir.combine(y, design: design, threads: threads)
        case .combinedStreams:
            var signal = SubcarrierBlocks(subcarriers: channels.subcarriers, rows: channels.receiveAntennas, columns: stacked.columns)
            var combined = SubcarrierBlocks(subcarriers: channels.subcarriers, rows: design.streams, columns: stacked.columns)
            try OverTheAir.receive(channels: channels, stacked: stacked, combiners: design.combiners(), eta: design.eta, noisePowerW: sigma2,
                                   seed: seed, round: round, threads: threads, signal: &signal, into: &combined)
            return combined
        }
    }

    /// Stage 3: D reals of Σ_k w_k Δ_k from ŝ, rescaled by 1/Σ_{delivered} w_k (the devices that
    /// did not deliver are missing from the sum, so it is an average over those that did).
    public func reconstruct(_ combined: SubcarrierBlocks, scale c: Float, reals: Int) throws -> [Float] {
        let grid = try ResourceGrid(subcarriers: combined.subcarriers, streams: design.streams)
        var sum = try grid.demap(combined, scale: c, reals: reals)
        let present = Float(deliveredWeight)
        for i in sum.indices { sum[i] /= present }
        return sum
    }

    /// Σ_{delivered} w_k.
    public var deliveredWeight: Double { devices.reduce(0) { $0 + design.weights[$1] } }

    /// All four stages. `intended` (s_k, L × S each, `devices` order) is what the devices meant to
    /// send; without it the error is not measured.
    public func receive(_ x: [SubcarrierBlocks], intended: [SubcarrierBlocks]?, scale c: Float, reals: Int,
                        seed: UInt64, round: Int) throws -> AirCompReception {
        let combined = try superposeAndCombine(x, noisePowerW: noisePowerW, seed: seed, round: round)
        let aggregate = try reconstruct(combined, scale: c, reals: reals)
        let error = try intended.map { try measure(combined, transmitted: x, intended: $0, seed: seed, round: round) }
        return AirCompReception(combined: combined, aggregate: aggregate, error: error)
    }

    /// Stage 4: the error of ŝ against Σ_{delivered} w_k s_k, per subcarrier, split by telescoping
    ///
    ///     ŝ − Σ w s = (ŝ − ŝ₀) + (ŝ₀ − ŝ₁) + (ŝ₁ − Σ w s)
    ///                 thermal    quantisation  CSI misalignment
    ///
    /// with ŝ₀ the same air without noise and ŝ₁ the noiseless air of the unquantised B_k s_k.
    /// The parts' squared norms add up to the total's only on average (their cross terms are
    /// zero-mean), so `total` is measured, not summed.
    public func measure(_ combined: SubcarrierBlocks, transmitted x: [SubcarrierBlocks], intended s: [SubcarrierBlocks],
                        seed: UInt64, round: Int) throws -> AggregationError {
        guard s.count == devices.count else { throw AirCompError.shapeMismatch("\(s.count) intended symbol blocks for \(devices.count) devices") }
        var target = SubcarrierBlocks(subcarriers: combined.subcarriers, rows: combined.rows, columns: combined.columns)
        for (j, k) in devices.enumerated() {
            guard s[j].subcarriers == target.subcarriers, s[j].rows == target.rows, s[j].columns == target.columns else {
                throw AirCompError.shapeMismatch("intended symbols of device \(k) are \(s[j].subcarriers)×\(s[j].rows)×\(s[j].columns), ŝ is \(target.subcarriers)×\(target.rows)×\(target.columns)")
            }
            let w = Complex(Float(design.weights[k]))
            for i in target.elements.indices { target.elements[i] += w * s[j].elements[i] }
        }
        let clean = noisePowerW > 0 ? try superposeAndCombine(x, noisePowerW: 0, seed: seed, round: round) : combined
        let unquantised = try zip(devices, s).map { k, sk in try OverTheAir.precode(sk, with: design.precoders[k]) }
        let exact = unquantised == x ? clean : try superposeAndCombine(unquantised, noisePowerW: 0, seed: seed, round: round)
        return AggregationError(
            total: Self.meanSquaredDifference(combined, target), thermal: Self.meanSquaredDifference(combined, clean),
            csi: Self.meanSquaredDifference(exact, target), quantization: Self.meanSquaredDifference(clean, exact))
    }

    /// Per subcarrier n: the mean over OFDM symbols of ‖a[n,t] − b[n,t]‖² (same shapes).
    public static func meanSquaredDifference(_ a: SubcarrierBlocks, _ b: SubcarrierBlocks) -> [Double] {
        (0..<a.subcarriers).map { n in
            guard a.columns > 0 else { return 0 }
            let o = n * a.blockSize
            var e = 0.0
            for i in o..<(o + a.blockSize) { e += Double((a.elements[i] - b.elements[i]).lengthSquared) }
            return e / Double(a.columns)
        }
    }
}

/// What the receive chain produced in one round.
public struct AirCompReception: Sendable {
    /// ŝ, L × S per subcarrier: the estimate of Σ_{delivered} w_k s_k.
    public let combined: SubcarrierBlocks
    /// Σ_k w_k Δ_k / Σ_{delivered} w_k, D reals.
    public let aggregate: [Float]
    /// The error of ŝ split by cause (nil when the intended symbols were not known).
    public let error: AggregationError?
}

/// The aggregation error of one round by cause. Each array holds, per subcarrier n, the mean over
/// OFDM symbols of ‖e[n,t]‖² in units of symbol power (the closed form of `thermal` is σ²L/η[n]).
public struct AggregationError: Sendable, Equatable {
    /// ŝ against Σ_k w_k s_k: everything.
    public var total: [Double]
    /// The receiver's thermal noise Aᴴz/√η.
    public var thermal: [Double]
    /// Zero-forcing on Ĥ ≠ H: Σ_k (Aᴴ H_k B_k/√η − w_k I) s_k.
    public var csi: [Double]
    /// The devices' quantisation (DAC codes for AirComp, b-bit payloads for digital).
    public var quantization: [Double]

    public init(total: [Double], thermal: [Double], csi: [Double], quantization: [Double]) {
        self.total = total
        self.thermal = thermal
        self.csi = csi
        self.quantization = quantization
    }

    /// Every part multiplied by `factor` (an aggregate divided by ρ has its error divided by ρ²).
    public func scaled(by factor: Double) -> AggregationError {
        AggregationError(total: total.map { $0 * factor }, thermal: thermal.map { $0 * factor }, csi: csi.map { $0 * factor },
                         quantization: quantization.map { $0 * factor })
    }

    /// Each part's mean over subcarriers: (total, thermal, csi, quantization).
    public var means: (total: Double, thermal: Double, csi: Double, quantization: Double) {
        func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
        return (mean(total), mean(thermal), mean(csi), mean(quantization))
    }
}
