import LinearAlgebra
import Numerics

/// One round's over-the-air aggregation plan: per subcarrier n, the receive beamformer A[n]
/// (N_r × L, Aᴴ A = I), the power-limited scaling η[n], and every device's zero-forcing precoder
///
///   B_k[n] = √η[n] · w_k · H_kᴴ A (Aᴴ H_k H_kᴴ A)⁻¹   (N_t × L),
///
/// so that Aᴴ H_k B_k = √η · w_k · I and Aᴴ y / √η = Σ_k w_k s_k + Aᴴ z / √η exactly.
///
/// Power: with unit-power, uncorrelated symbols (E s sᴴ = I, which the common scale c gives on
/// average) device k radiates E‖B_k s‖² = ‖B_k‖_F² = η w_k² tr((Aᴴ G_k A)⁻¹) on subcarrier n,
/// G_k = H_k H_kᴴ. The budget P_{k,n} = P_k / N_sc (watts) then caps
///   η[n] = min_k P_{k,n} / (w_k² tr((Aᴴ G_k A)⁻¹)),
/// and the aggregation error per subcarrier and OFDM symbol is E‖ŝ − Σ w_k s_k‖² = σ² L / η[n].
///
/// Precoders are designed on the channels the BS knows (Ĥ, possibly imperfect); the air uses the
/// true H. The per-subcarrier algebra runs in Double.
///
/// `PowerControl.minimumMSE` is the baseline that does not zero-force: η[n] is raised above that
/// minimum to where the total error is least, and a device that cannot afford the inversion at
/// that η sends at its full budget, under-scaled (see `PowerControl`).
public struct AirCompDesign: Sendable {
    public let subcarriers: Int
    public let devices: Int
    public let receiveAntennas: Int
    public let transmitAntennas: Int
    public let streams: Int
    /// A[n], N_r × L with orthonormal columns.
    public let beamformers: [ComplexMatrix<Double>]
    /// η[n] (linear, W per unit symbol power).
    public let eta: [Double]
    /// tr((Aᴴ G_k A)⁻¹) for k, n: `traces[n][k]`.
    public let inverseTraces: [[Double]]
    /// Aggregation weights w_k, Σ w_k = 1.
    public let weights: [Double]
    /// Per-subcarrier budget P_{k,n} in watts: `powerPerSubcarrier[k]`.
    public let powerPerSubcarrier: [Double]
    /// B_k[n] in complex64, per device: `SubcarrierBlocks` with N_t rows and L columns.
    public let precoders: [SubcarrierBlocks]

    /// How η[n], the receiver's denoising factor, is chosen.
    public enum PowerControl: Sendable, Equatable {
        /// η = min_k η_k, η_k = P_{k,n}/(w_k² tr((Aᴴ G_k A)⁻¹)): every device inverts its channel
        /// exactly and the error is the noise alone, σ²L/η.
        case zeroForcing
        /// η minimises σ²L/η + L·Σ_{k: η_k < η} w_k² (1 − √(η_k/η))² for noise power σ² (W): a
        /// device with η_k < η transmits at its full budget, B_k = √η_k · w_k · Hᴴ A (Aᴴ G_k A)⁻¹,
        /// and arrives scaled by √(η_k/η) < 1 (misalignment, in the error's CSI part). The optimal
        /// power control of AirComp under a sum-MSE criterion (Cao, Zhu, Xu and Huang, "Optimized
        /// power control for over-the-air computation in fading channels", IEEE TWC 2020), per
        /// subcarrier with the receive beamformer fixed.
        case minimumMSE(noisePowerW: Double)
    }

    /// η_k[n] = P_{k,n} / (w_k² tr((Aᴴ G_k A)⁻¹)): the η device k alone would allow on subcarrier
    /// n (∞ for a zero weight). `deviceEta[n][k]`.
    public var deviceEta: [[Double]] {
        (0..<subcarriers).map { n in
            (0..<devices).map { k in
                weights[k] > 0 ? powerPerSubcarrier[k] / (weights[k] * weights[k] * inverseTraces[n][k]) : .infinity
            }
        }
    }

    /// The misalignment part of the closed-form MSE per subcarrier: L Σ_k w_k² (1 − √(min(η_k, η)/η))²
    /// (zero under zero forcing), in units of symbol power.
    public var misalignmentMSE: [Double] {
        zip(deviceEta, eta).map { etas, eta in
            Double(streams)
                * zip(etas, weights).reduce(0.0) { acc, e in
                    let a = 1 - (min(e.0, eta) / eta).squareRoot()
                    return acc + e.1 * e.1 * a * a
                }
        }
    }

    /// The minimum-MSE η on one subcarrier: over each interval between consecutive sorted η_k the
    /// error is a quadratic in x = 1/√η, minimised at x* = Σ_S w²√η_k / (σ² + Σ_S w² η_k), S the
    /// devices below the interval; the best clamped x* over the intervals.
    static func minimumMSEEta(deviceEta: [Double], weights: [Double], noisePowerW sigma2: Double) -> Double {
        let sorted = zip(deviceEta, weights).filter { $0.1 > 0 }.sorted { $0.0 < $1.0 }
        guard let first = sorted.first?.0 else { return .infinity }
        guard sigma2 > 0 else { return first }
        func error(_ eta: Double) -> Double {
            sigma2 / eta
                + sorted.reduce(0.0) { acc, e in
                    let a = 1 - (min(e.0, eta) / eta).squareRoot()
                    return acc + e.1 * e.1 * a * a
                }
        }
        var best = (eta: first, error: error(first))
        var sumRoot = 0.0
        var sumEta = 0.0
        for i in sorted.indices {
            let (e, w) = sorted[i]
            sumRoot += w * w * e.squareRoot()
            sumEta += w * w * e
            let upper = i + 1 < sorted.count ? sorted[i + 1].0 : .infinity
            let x = sumRoot / (sigma2 + sumEta)
            let candidate = min(max(1 / (x * x), e), upper)
            guard candidate.isFinite else { continue }
            let value = error(candidate)
            if value < best.error { best = (candidate, value) }
        }
        return best.eta
    }

    /// Designs precoders and η for given receive beamformers.
    ///
    /// - Parameters:
    ///   - channels: the channels the BS designs with (N_sc × K × N_r × N_t).
    ///   - beamformers: A[n] for every subcarrier, N_r × L, orthonormal columns (checked to 1e-6).
    ///   - powerW: each device's total transmit power budget P_k in watts, spread evenly over subcarriers.
    ///   - weights: aggregation weights w_k ≥ 0 with Σ w_k = 1 (nil: equal weights 1/K).
    public init(
        channels: ChannelTensor, beamformers: [ComplexMatrix<Double>], powerW: [Double], weights: [Double]? = nil,
        powerControl: PowerControl = .zeroForcing
    ) throws {
        let K = channels.devices
        let N = channels.subcarriers
        let L = beamformers.first?.cols ?? 0
        try AirCompDesign.validate(channels: channels, streams: L, powerW: powerW)
        guard beamformers.count == N else {
            throw AirCompError.shapeMismatch("\(beamformers.count) beamformers for \(N) subcarriers")
        }
        let w = try AirCompDesign.validatedWeights(weights, devices: K)

        let perSubcarrier = powerW.map { $0 / Double(N) }
        var etas = [Double]()
        var traces = [[Double]]()
        var precoders = (0..<K).map { _ in SubcarrierBlocks(subcarriers: N, rows: channels.transmitAntennas, columns: L)
        }
        for n in 0..<N {
            let a = beamformers[n]
            guard a.rows == channels.receiveAntennas, a.cols == L else {
                throw AirCompError.shapeMismatch(
                    "beamformer \(n) is \(a.rows)×\(a.cols), expected \(channels.receiveAntennas)×\(L)")
            }
            let deviation = a.product(a, .adjoint, .none).maxAbsDifference(.identity(L))
            guard deviation < 1e-6 else {
                throw AirCompError.beamformerNotOrthonormal(subcarrier: n, deviation: deviation)
            }
            // Per device: M = Aᴴ H (L × N_t), Q = M Mᴴ, Q⁻¹, and the unscaled precoder Mᴴ Q⁻¹.
            var unscaled = [ComplexMatrix<Double>]()
            var tr = [Double]()
            for k in 0..<K {
                let h = channels.matrix(subcarrier: n, device: k, as: Double.self)
                guard h.isFinite else { throw AirCompError.nonFiniteChannel(device: k, subcarrier: n) }
                let m = a.product(h, .adjoint, .none)
                let q = m.product(m, .none, .adjoint)
                guard let qInv = try? q.inversePositiveDefinite(), qInv.isFinite else {
                    throw AirCompError.singularEffectiveChannel(device: k, subcarrier: n)
                }
                let t = qInv.trace.real
                // A numerically singular Q passes Cholesky with a huge inverse; treat as singular.
                guard t > 0, t.isFinite, t * q.trace.real < 1e12 else {
                    throw AirCompError.singularEffectiveChannel(device: k, subcarrier: n)
                }
                tr.append(t)
                unscaled.append(m.product(qInv, .adjoint, .none))
            }
            let own = (0..<K).map { k in w[k] > 0 ? perSubcarrier[k] / (w[k] * w[k] * tr[k]) : Double.infinity }
            var eta = own.min() ?? .infinity
            if case .minimumMSE(let sigma2) = powerControl {
                eta = AirCompDesign.minimumMSEEta(deviceEta: own, weights: w, noisePowerW: sigma2)
            }
            etas.append(eta)
            traces.append(tr)
            for k in 0..<K {
                let b = (min(own[k], eta).squareRoot() * w[k]) * unscaled[k]
                let o = n * precoders[k].blockSize
                for i in 0..<b.elements.count {
                    precoders[k].elements[o + i] = Complex(Float(b.elements[i].real), Float(b.elements[i].imaginary))
                }
            }
        }
        subcarriers = N
        devices = K
        receiveAntennas = channels.receiveAntennas
        transmitAntennas = channels.transmitAntennas
        streams = L
        self.beamformers = beamformers
        eta = etas
        inverseTraces = traces
        self.weights = w
        powerPerSubcarrier = perSubcarrier
        self.precoders = precoders
    }

    /// Closed-form aggregation MSE per subcarrier, σ² L / η[n], for noise power σ² (W per antenna).
    /// This is E‖ŝ[n,t] − Σ_k w_k s_k[n,t]‖² per OFDM symbol, in units of symbol power.
    public func mse(noisePowerW sigma2: Double) -> [Double] { eta.map { sigma2 * Double(streams) / $0 } }

    /// Expected transmit power ‖B_k[n]‖_F² of device k on subcarrier n, watts.
    public func transmitPower(device k: Int, subcarrier n: Int) -> Double {
        let o = n * precoders[k].blockSize
        return precoders[k].elements[o..<(o + precoders[k].blockSize)].reduce(0) { $0 + Double($1.lengthSquared) }
    }

    /// The checks every AirComp problem shares: at least one device, 1 ≤ L ≤ min(N_t, N_r), one
    /// positive, finite power budget per device.
    static func validate(channels: ChannelTensor, streams: Int, powerW: [Double]) throws {
        guard channels.devices >= 1 else { throw AirCompError.noDevices }
        guard streams >= 1 else { throw AirCompError.invalidStreams(streams) }
        guard streams <= channels.transmitAntennas, streams <= channels.receiveAntennas else {
            throw AirCompError.streamsExceedAntennas(
                streams: streams, transmitAntennas: channels.transmitAntennas, receiveAntennas: channels.receiveAntennas
            )
        }
        guard powerW.count == channels.devices else {
            throw AirCompError.shapeMismatch("\(powerW.count) power budgets for \(channels.devices) devices")
        }
        for (k, p) in powerW.enumerated() where !(p > 0 && p.isFinite) {
            throw AirCompError.invalidPower(device: k, watts: p)
        }
    }

    static func validatedWeights(_ weights: [Double]?, devices k: Int) throws -> [Double] {
        guard let w = weights else { return Array(repeating: 1 / Double(k), count: k) }
        guard w.count == k else { throw AirCompError.invalidWeights("\(w.count) weights for \(k) devices") }
        for (i, v) in w.enumerated() where !(v >= 0 && v.isFinite) {
            throw AirCompError.invalidWeights("weight \(i) = \(v) must be finite and ≥ 0")
        }
        let sum = w.reduce(0, +)
        guard abs(sum - 1) < 1e-6 else { throw AirCompError.invalidWeights("weights sum to \(sum), not 1") }
        return w
    }
}
