import LinearAlgebra
import Numerics

/// One complete over-the-air aggregation of K real updates: common scale, mapping to OFDM
/// symbols, zero-forcing precoding (designed on the BS's channel estimate), the air (true channels
/// plus noise), combining and reconstruction of Σ_k w_k Δ_k.
///
/// The device-side stages and the base station's `ReceiveChain` are the same functions the
/// processes call; this type runs them in one address space for `basestation demo`, the tests and
/// the Monte Carlo MSE check.
public struct AirCompRound: Sendable {
    /// The reconstruction of Σ_k w_k Δ_k (D reals).
    public let estimate: [Float]
    /// The exact Σ_k w_k Δ_k, for comparison.
    public let target: [Float]
    /// Common scale c announced for the round.
    public let scale: Float
    /// S, OFDM symbols used.
    public let ofdmSymbols: Int
    /// The measured error of ŝ against Σ_k w_k s_k by cause (`ReceiveChain.measure`).
    public let error: AggregationError
    /// Closed-form σ² L / η[n] per subcarrier.
    public let predictedMSE: [Double]
    /// The design used (η, precoders, beamformers).
    public let design: AirCompDesign

    /// Runs one round.
    ///
    /// - Parameters:
    ///   - updates: Δ_k, K arrays of D reals each.
    ///   - channels: the true H (N_sc × K × N_r × N_t).
    ///   - estimate: the channels the BS designs with (nil: perfect CSI, Ĥ = H).
    ///   - beamformers: A[n], N_r × L with orthonormal columns.
    ///   - powerW: P_k in watts per device (spread evenly over subcarriers).
    ///   - weights: w_k (nil: 1/K each).
    ///   - noisePowerW: σ² per subcarrier and receive antenna, watts.
    ///   - dac: each device's DAC, quantising its precoded samples (nil: ideal analog front ends).
    ///   - powerControl: how η is chosen (zero forcing, the method's; or minimum MSE).
    public init(
        updates: [[Float]], channels: ChannelTensor, estimate: ChannelTensor? = nil,
        beamformers: [ComplexMatrix<Double>],
        powerW: [Double], weights: [Double]? = nil, noisePowerW: Double, seed: UInt64, round: Int, threads: Int = 2,
        noiseDomain: NoiseDomain = .combinedStreams, dac: UniformQuantizer? = nil,
        powerControl: AirCompDesign.PowerControl = .zeroForcing
    ) throws {
        guard !updates.isEmpty else { throw AirCompError.noDevices }
        guard updates.count == channels.devices else {
            throw AirCompError.shapeMismatch("\(updates.count) updates for \(channels.devices) devices")
        }
        let d = updates[0].count
        for (k, u) in updates.enumerated() where u.count != d {
            throw AirCompError.shapeMismatch("device \(k) sent \(u.count) reals, device 0 sent \(d)")
        }
        let design = try AirCompDesign(
            channels: estimate ?? channels, beamformers: beamformers, powerW: powerW, weights: weights,
            powerControl: powerControl)
        let grid = try ResourceGrid(subcarriers: channels.subcarriers, streams: design.streams)
        let c = try ResourceGrid.commonScale(updates: updates)

        // Devices: map, precode, and quantise in the DAC when there is one.
        var symbols = [SubcarrierBlocks]()
        var transmissions = [SubcarrierBlocks]()
        for (k, u) in updates.enumerated() {
            let s = try grid.map(update: u, scale: c, device: k)
            var x = try OverTheAir.precode(s, with: design.precoders[k])
            dac?.quantize(&x)
            symbols.append(s)
            transmissions.append(x)
        }
        // The base station.
        let chain = try ReceiveChain(
            channels: channels, design: design, noisePowerW: noisePowerW, noiseDomain: noiseDomain, threads: threads)
        let reception = try chain.receive(
            transmissions, intended: symbols, scale: c, reals: d, seed: seed, round: round)
        var sum = [Float](repeating: 0, count: d)
        for (k, u) in updates.enumerated() {
            let w = Float(design.weights[k])
            for i in 0..<d { sum[i] += w * u[i] }
        }
        self.estimate = reception.aggregate
        target = sum
        scale = c
        ofdmSymbols = reception.combined.columns
        error = reception.error!
        predictedMSE = design.mse(noisePowerW: noisePowerW)
        self.design = design
    }

    /// Measured mean over OFDM symbols of ‖ŝ[n,t] − Σ_k w_k s_k[n,t]‖², per subcarrier.
    public var measuredMSE: [Double] { error.total }

    /// Σ_n measured / Σ_n predicted: 1 when the emulator matches the closed form.
    public var mseRatio: Double { measuredMSE.reduce(0, +) / predictedMSE.reduce(0, +) }

    /// ‖estimate − target‖² / ‖target‖².
    public var normalisedError: Double {
        var e = 0.0
        var t = 0.0
        for i in 0..<target.count {
            let diff = Double(estimate[i]) - Double(target[i])
            e += diff * diff
            t += Double(target[i]) * Double(target[i])
        }
        return t > 0 ? e / t : e
    }
}
