import LinearAlgebra

/// The digital baseline: OFDMA with subcarrier n assigned to device n mod K, each device sending
/// its update quantised to b bits per real at the Shannon rate of its subcarriers with
/// single-stream beamforming (MRT at the device, MRC at the BS):
///
///   R_k = Σ_{n ∈ S_k} Δf · log₂(1 + (P_k/|S_k|) · λ_max(H_k[n]ᴴ H_k[n]) / σ²)   bit/s,
///
/// and latency T_k = D·b / R_k; the devices transmit in parallel on disjoint subcarriers, so the
/// round's airtime is max_k T_k. Decoding at capacity is assumed error-free; the aggregation error
/// is the quantisation alone.
public enum DigitalUplink {
    /// R_k for each device, bit/s.
    public static func rates(channels: ChannelTensor, powerW: [Double], noisePowerW: Double, subcarrierSpacingHz: Double) throws -> [Double] {
        let K = channels.devices, N = channels.subcarriers
        guard powerW.count == K else { throw AirCompError.shapeMismatch("\(powerW.count) power budgets for \(K) devices") }
        return try (0..<K).map { k in
            let owned = stride(from: k % N, to: N, by: K).map { $0 }
            guard !owned.isEmpty else { return 0 }
            let perSubcarrier = powerW[k] / Double(owned.count)
            var rate = 0.0
            for n in owned {
                let h = channels.matrix(subcarrier: n, device: k, as: Double.self)
                let gram = h.product(h, .adjoint, .none)
                let gain = try gram.hermitianEigen().values.max() ?? 0
                rate += subcarrierSpacingHz * Double.log2(1 + perSubcarrier * gain / noisePowerW)
            }
            return rate
        }
    }

    /// Uniform b-bit quantisation of an update over ±max|Δ| (the max sent as side information).
    public static func quantize(_ update: [Float], bits: Int) throws -> [Float] {
        var out = update
        try UniformQuantizer(bits: bits).quantize(&out)
        return out
    }
}
