import Foundation
import Numerics

/// Summary statistics of drawn channels, as `basestation channel` prints them.
public struct ChannelStatistics: Codable, Equatable, Sendable {
    /// E|h|² of each device over subcarriers and antenna pairs (linear power gain).
    public var meanGain: [Double]
    /// RMS delay spread in seconds of the devices' average (per-device normalised) power-delay profile.
    public var delaySpreadS: Double
    /// 50 % coherence bandwidth in Hz: the smallest frequency separation at which the normalised
    /// frequency correlation |R(Δf)|/R(0) falls to 0.5 (linear interpolation between subcarriers);
    /// nil when it stays above 0.5 across the whole band.
    public var coherenceBandwidthHz: Double?

    enum CodingKeys: String, CodingKey {
        case meanGain = "mean_gain"
        case delaySpreadS = "delay_spread_s"
        case coherenceBandwidthHz = "coherence_bandwidth_hz"
    }

    /// Statistics of a generated channel: the delay spread from the realised tap powers.
    public init(model: ChannelModel, tensor: ChannelTensor) {
        precondition(
            tensor.devices == model.configuration.devices, "tensor and model disagree on the number of devices")
        let K = tensor.devices
        var pdp = [Double](repeating: 0, count: model.tapDelaysS.count)
        for k in 0..<K {
            let taps = model.tapMatrices(device: k)
            let powers = taps.map { $0.frobeniusNormSquared }
            let total = powers.reduce(0, +)
            guard total > 0 else { continue }
            for l in powers.indices { pdp[l] += powers[l] / total / Double(K) }
        }
        self.init(
            tensor: tensor, delaySpreadS: ChannelStatistics.rmsDelaySpread(delays: model.tapDelaysS, powers: pdp),
            subcarrierSpacingHz: model.configuration.subcarrierSpacingHz)
    }

    /// Statistics of channels known only by their frequency response (e.g. loaded from `.npy`):
    /// the delay spread from the average power-delay profile |IDFT_n H[n]|², which resolves delays
    /// only to 1/(N_sc·Δf).
    public init(tensor: ChannelTensor, subcarrierSpacingHz: Double) {
        let N = tensor.subcarriers
        var pdp = [Double](repeating: 0, count: N)
        let twiddle = (0..<N).map { Complex<Double>(length: 1, phase: 2 * Double.pi * Double($0) / Double(N)) }
        for k in 0..<tensor.devices {
            let gain = tensor.meanGain(device: k)
            guard gain > 0 else { continue }
            for e in 0..<tensor.matrixSize {
                // Naive IDFT: statistics run once per command, N_sc is at most a few thousand.
                for d in 0..<N {
                    var acc = Complex<Double>.zero
                    for n in 0..<N {
                        let h = tensor.elements[tensor.offset(subcarrier: n, device: k) + e]
                        acc += Complex(Double(h.real), Double(h.imaginary)) * twiddle[n * d % N]
                    }
                    pdp[d] += acc.lengthSquared / gain
                }
            }
        }
        let delays = (0..<N).map { Double($0) / (Double(N) * subcarrierSpacingHz) }
        self.init(
            tensor: tensor, delaySpreadS: ChannelStatistics.rmsDelaySpread(delays: delays, powers: pdp),
            subcarrierSpacingHz: subcarrierSpacingHz)
    }

    private init(tensor: ChannelTensor, delaySpreadS: Double, subcarrierSpacingHz: Double) {
        meanGain = (0..<tensor.devices).map { tensor.meanGain(device: $0) }
        self.delaySpreadS = delaySpreadS
        coherenceBandwidthHz = ChannelStatistics.coherenceBandwidth(tensor, spacingHz: subcarrierSpacingHz)
    }

    /// √(Σp τ²/Σp − (Σp τ/Σp)²).
    public static func rmsDelaySpread(delays: [Double], powers: [Double]) -> Double {
        let total = powers.reduce(0, +)
        guard total > 0 else { return 0 }
        let mean = zip(delays, powers).reduce(0) { $0 + $1.0 * $1.1 } / total
        let second = zip(delays, powers).reduce(0) { $0 + $1.0 * $1.0 * $1.1 } / total
        return max(0, second - mean * mean).squareRoot()
    }

    /// Frequency correlation R(m) = mean over devices, antenna pairs and n of H[n]·H*[n+m] / β_k.
    static func coherenceBandwidth(_ t: ChannelTensor, spacingHz: Double) -> Double? {
        let N = t.subcarriers
        guard N > 1 else { return nil }
        var previous = 1.0
        var r0 = 0.0
        let gains = (0..<t.devices).map { t.meanGain(device: $0) }
        for m in 0..<N {
            var acc = Complex<Double>.zero
            var count = 0
            for k in 0..<t.devices {
                let gain = gains[k]
                guard gain > 0 else { continue }
                for n in 0..<(N - m) {
                    let a = t.offset(subcarrier: n, device: k)
                    let b = t.offset(subcarrier: n + m, device: k)
                    for e in 0..<t.matrixSize {
                        let x = t.elements[a + e]
                        let y = t.elements[b + e]
                        let xr = Double(x.real)
                        let xi = Double(x.imaginary)
                        let yr = Double(y.real)
                        let yi = Double(y.imaginary)
                        // x · conj(y) / β
                        acc += Complex<Double>((xr * yr + xi * yi) / gain, (xi * yr - xr * yi) / gain)
                    }
                    count += t.matrixSize
                }
            }
            let value = count > 0 ? acc.length / Double(count) : 0
            if m == 0 {
                r0 = value
                continue
            }
            let rho = r0 > 0 ? value / r0 : 0
            if rho < 0.5 {
                let fraction = (previous - 0.5) / (previous - rho)
                return (Double(m - 1) + fraction) * spacingHz
            }
            previous = rho
        }
        return nil
    }
}
