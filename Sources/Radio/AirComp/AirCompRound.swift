import LinearAlgebra
import Numerics

/// Where the emulator draws the thermal noise: at every BS antenna (y = Σ H x + z, then
/// combining) or directly in the combined domain (exact for orthonormal A; N_r/L times fewer draws).
public enum NoiseDomain: String, Sendable, CaseIterable {
    case receiveAntennas = "antennas"
    case combinedStreams = "combined"
}

/// One complete over-the-air aggregation of K real updates: common scale, mapping to OFDM
/// symbols, zero-forcing precoding (designed on the BS's channel estimate), the air (true channels
/// plus noise), combining and reconstruction of Σ_k w_k Δ_k.
///
/// The device-side and BS-side stages are the same functions the processes call; this type runs
/// them in one address space for demonstrations, tests and the Monte Carlo MSE check.
public struct AirCompRound: Sendable {
    /// The reconstruction of Σ_k w_k Δ_k (D reals).
    public let estimate: [Float]
    /// The exact Σ_k w_k Δ_k, for comparison.
    public let target: [Float]
    /// Common scale c announced for the round.
    public let scale: Float
    /// S, OFDM symbols used.
    public let ofdmSymbols: Int
    /// Measured mean over OFDM symbols of ‖ŝ[n,t] − Σ_k w_k s_k[n,t]‖², per subcarrier.
    public let measuredMSE: [Double]
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
    public init(
        updates: [[Float]], channels: ChannelTensor, estimate: ChannelTensor? = nil, beamformers: [ComplexMatrix<Double>],
        powerW: [Double], weights: [Double]? = nil, noisePowerW: Double, seed: UInt64, round: Int, threads: Int = 2,
        noiseDomain: NoiseDomain = .combinedStreams
    ) throws {
        guard !updates.isEmpty else { throw AirCompError.noDevices }
        guard updates.count == channels.devices else {
            throw AirCompError.shapeMismatch("\(updates.count) updates for \(channels.devices) devices")
        }
        let d = updates[0].count
        for (k, u) in updates.enumerated() where u.count != d {
            throw AirCompError.shapeMismatch("device \(k) sent \(u.count) reals, device 0 sent \(d)")
        }
        let design = try AirCompDesign(channels: estimate ?? channels, beamformers: beamformers, powerW: powerW, weights: weights)
        let grid = try ResourceGrid(subcarriers: channels.subcarriers, streams: design.streams)
        let c = try ResourceGrid.commonScale(updates: updates)

        // Devices: map and precode.
        var symbols = [SubcarrierBlocks]()
        var transmissions = [SubcarrierBlocks]()
        for (k, u) in updates.enumerated() {
            let s = try grid.map(update: u, scale: c, device: k)
            symbols.append(s)
            transmissions.append(try OverTheAir.precode(s, with: design.precoders[k]))
        }
        // Air and BS.
        let stacked = try OverTheAir.stack(transmissions)
        var combined: SubcarrierBlocks
        switch noiseDomain {
        case .receiveAntennas:
            let y = try OverTheAir.superpose(channels: channels, stacked: stacked, noisePowerW: noisePowerW, seed: seed, round: round, threads: threads)
            combined = try OverTheAir.combine(y, design: design, threads: threads)
        case .combinedStreams:
            var signal = SubcarrierBlocks(subcarriers: grid.subcarriers, rows: channels.receiveAntennas, columns: stacked.columns)
            combined = SubcarrierBlocks(subcarriers: grid.subcarriers, rows: design.streams, columns: stacked.columns)
            try OverTheAir.receive(
                channels: channels, stacked: stacked, combiners: design.combiners(), eta: design.eta, noisePowerW: noisePowerW,
                seed: seed, round: round, threads: threads, signal: &signal, into: &combined)
        }

        // The ideal weighted sum of the symbols, and the error per subcarrier.
        var ideal = SubcarrierBlocks(subcarriers: grid.subcarriers, rows: design.streams, columns: combined.columns)
        for (k, s) in symbols.enumerated() {
            let w = Float(design.weights[k])
            for i in 0..<s.elements.count { ideal.elements[i] += Complex(w) * s.elements[i] }
        }
        var measured = [Double](repeating: 0, count: grid.subcarriers)
        for n in 0..<grid.subcarriers where combined.columns > 0 {
            let o = n * combined.blockSize
            var e = 0.0
            for i in o..<(o + combined.blockSize) { e += Double((combined.elements[i] - ideal.elements[i]).lengthSquared) }
            measured[n] = e / Double(combined.columns)
        }
        self.estimate = try grid.demap(combined, scale: c, reals: d)
        var sum = [Float](repeating: 0, count: d)
        for (k, u) in updates.enumerated() {
            let w = Float(design.weights[k])
            for i in 0..<d { sum[i] += w * u[i] }
        }
        target = sum
        scale = c
        ofdmSymbols = combined.columns
        measuredMSE = measured
        predictedMSE = design.mse(noisePowerW: noisePowerW)
        self.design = design
    }

    /// Σ_n measured / Σ_n predicted: 1 when the emulator matches the closed form.
    public var mseRatio: Double { measuredMSE.reduce(0, +) / predictedMSE.reduce(0, +) }

    /// ‖estimate − target‖² / ‖target‖².
    public var normalisedError: Double {
        var e = 0.0, t = 0.0
        for i in 0..<target.count {
            let diff = Double(estimate[i]) - Double(target[i])
            e += diff * diff
            t += Double(target[i]) * Double(target[i])
        }
        return t > 0 ? e / t : e
    }
}
