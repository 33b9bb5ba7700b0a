import LinearAlgebra

/// The digital baseline: OFDMA with subcarrier n assigned to device n mod K, each device sending
/// its update quantised to b bits per real at the Shannon rate of its subcarriers with
/// single-stream beamforming (MRT at the device, MRC at the BS):
///
///   R_k = Σ_{n ∈ S_k} Δf · log₂(1 + (P_k/|S_k|) · λ_max(H_k[n]ᴴ H_k[n]) / σ²)   bit/s,
///
/// and latency T_k = (bits sent)/R_k; the devices transmit in parallel on disjoint subcarriers, so
/// the round's airtime is max_k T_k. Each update is compressed without bias into its bit budget
/// (`UnbiasedCompressor`); decoding at capacity is assumed error-free, so the aggregation error
/// is the compression alone.
public enum DigitalUplink {
    /// R_k for each device, bit/s.
    public static func rates(
        channels: ChannelTensor, powerW: [Double], noisePowerW: Double, subcarrierSpacingHz: Double
    ) throws -> [Double] {
        let K = channels.devices
        let N = channels.subcarriers
        guard powerW.count == K else {
            throw AirCompError.shapeMismatch("\(powerW.count) power budgets for \(K) devices")
        }
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

    /// B_k, the value bits each device may send so that its transmission — the payload and the
    /// 32-bit full scale, D·b/R_k in the classic form — takes `airtimeS` at its rate R_k:
    /// ⌊T·R_k⌋ − 32. Below 1, the device's rate carries nothing in that time: a scheduler leaves
    /// it out of the round (0 is returned for it).
    public static func budgets(airtimeS: Double, rates: [Double]) -> [Int] {
        rates.map { r in
            let bits = (airtimeS * r).rounded(.down) - Double(UnbiasedCompressor.sideInformationBits)
            return bits.isFinite && bits >= 1 ? Int(min(bits, Double(Int32.max))) : 0
        }
    }

    /// The value bits of a fixed resolution: b bits for each of the D reals.
    public static func budget(bitsPerReal: Int, reals: Int) -> Int { max(1, bitsPerReal * reals) }

    /// The bits a device sends for a budget of `budgetBits` value bits (`UnbiasedCompressor` uses
    /// the budget to within 15 bits, and never more than 16 per real) plus the full scale.
    public static func transmittedBits(budgetBits: Int, reals: Int) -> Int {
        min(budgetBits, UnbiasedCompressor.maximumBits * reals) + UnbiasedCompressor.sideInformationBits
    }

    /// A device's airtime, seconds: its transmitted bits at its rate.
    public static func airtime(budgetBits: Int, reals: Int, rate: Double) -> Double {
        Double(transmittedBits(budgetBits: budgetBits, reals: reals)) / max(rate, 1e-9)
    }
}
