import LinearAlgebra
import Numerics

/// Where the emulator draws the thermal noise: as z at every BS antenna (per antenna in the
/// antennas' space, y = Σ H x + z, then combining; as Aᴴz/√η with its own covariance σ²AᴴA/η in
/// the combiner's space, `ReceiverSpace`), or i.i.d. σ²/η per combined stream (exact for
/// orthonormal A; N_r/L times fewer draws than per antenna).
public enum NoiseDomain: String, Sendable, CaseIterable {
    case receiveAntennas = "antennas"
    case combinedStreams = "combined"
}

/// The base station's receive chain for one AirComp round, all of it at once (the batch form of
/// `StreamingReceiver`, which `basestation serve` runs frame by frame), in four stages:
///
///     superpose    y[n] = Σ_k H_k[n] x_k[n] + z[n]             N_r × S per subcarrier
///     combine      ŝ[n] = A[n]ᴴ y[n] / √η[n]                   L × S per subcarrier
///     reconstruct  Σ_k w_k Δ_k ≈ c · demap(ŝ) / Σ_{delivered} w_k   D reals
///     measure      ŝ − Σ_k w_k s_k, split into thermal noise, CSI misalignment and quantisation
///
/// `x_k` are the samples as they left device k (after its DAC, if it has one); `s_k` the symbols it
/// meant to send, `grid.map(Δ_k, c)`. H is the true channel; the design (A, η, B_k) was made on
/// the estimate Ĥ. The sum is exact (`ExactAccumulator`) and the noise drawn from (seed, round,
/// subcarrier) substreams, so the result is the same for any thread count and frame order.
/// In the combiner's space (the default, `ReceiverSpace`) the first two stages are one:
/// ŝ[n] = Σ_k (A[n]ᴴ H_k[n]/√η[n]) x_k[n] + Aᴴz/√η, the noise drawn with covariance σ²AᴴA/η.
public struct ReceiveChain: Sendable {
    /// The true channels of the devices that transmitted, in `devices` order.
    public let channels: ChannelTensor
    public let design: AirCompDesign
    /// Indices into the design's devices (its weights and precoders) of those that transmitted.
    public let devices: [Int]
    /// σ², watts per subcarrier and receive antenna.
    public let noisePowerW: Double
    public let noiseDomain: NoiseDomain
    /// Where the superposition is summed (`ReceiverSpace`: the combiner's, or per antenna).
    public let space: ReceiverSpace
    public let threads: Int

    public init(
        channels: ChannelTensor, design: AirCompDesign, devices: [Int]? = nil, noisePowerW: Double,
        noiseDomain: NoiseDomain = .receiveAntennas, space: ReceiverSpace = .combiner, threads: Int = 2
    ) throws {
        let chosen = devices ?? Array(0..<design.devices)
        guard !chosen.isEmpty else { throw AirCompError.noDevices }
        guard chosen.count == channels.devices, chosen.allSatisfy({ (0..<design.devices).contains($0) }) else {
            throw AirCompError.shapeMismatch(
                "\(chosen.count) transmitting devices \(chosen) for \(channels.devices) channels and a design of "
                    + "\(design.devices)"
            )
        }
        guard channels.subcarriers == design.subcarriers, channels.receiveAntennas == design.receiveAntennas,
            channels.transmitAntennas == design.transmitAntennas
        else {
            throw AirCompError.shapeMismatch(
                "channels \(channels.subcarriers)×\(channels.receiveAntennas)×\(channels.transmitAntennas) do not "
                    + "fit the design's \(design.subcarriers)×\(design.receiveAntennas)×\(design.transmitAntennas)"
            )
        }
        guard noisePowerW >= 0, noisePowerW.isFinite else {
            throw AirCompError.shapeMismatch("noise power \(noisePowerW) W must be finite and ≥ 0")
        }
        self.channels = channels
        self.design = design
        self.devices = chosen
        self.noisePowerW = noisePowerW
        self.noiseDomain = noiseDomain
        self.space = space
        self.threads = threads
    }

    /// Σ_{delivered} w_k.
    public var deliveredWeight: Double { devices.reduce(0) { $0 + design.weights[$1] } }

    /// All four stages, as a `StreamingReceiver` fed each device's whole transmission in device
    /// order: the same bits as the streaming base station for the same inputs. `x` (N_t × S each,
    /// `devices` order) is what left the devices; `intended` (s_k, L × S each) what they meant to
    /// send; without it the error is not measured.
    public func receive(
        _ x: [SubcarrierBlocks], intended: [SubcarrierBlocks]?, scale c: Float, reals: Int,
        seed: UInt64, round: Int
    ) throws -> AirCompReception {
        guard x.count == devices.count, intended.map({ $0.count == devices.count }) ?? true else {
            throw AirCompError.shapeMismatch(
                "\(x.count) transmissions and \(intended?.count ?? 0) intended blocks for \(devices.count) devices")
        }
        let symbols = try ResourceGrid(subcarriers: channels.subcarriers, streams: design.streams).ofdmSymbols(
            forReals: reals)
        let receiver = try StreamingReceiver(
            air: .overTheAir(
                channels: channelsOfEveryDevice(), design: design, noisePowerW: noisePowerW, noiseDomain: noiseDomain),
            symbols: symbols, reals: reals, scale: c, seed: seed, round: round, threads: threads,
            measuring: intended != nil, space: space)
        for (j, k) in devices.enumerated() {
            guard x[j].subcarriers == channels.subcarriers, x[j].rows == design.transmitAntennas,
                x[j].columns == symbols
            else {
                throw AirCompError.shapeMismatch(
                    "device \(k) sent \(x[j].subcarriers)×\(x[j].rows)×\(x[j].columns), the round needs "
                        + "\(channels.subcarriers)×\(design.transmitAntennas)×\(symbols)"
                )
            }
            if symbols > 0 {
                try receiver.add(device: k, first: 0, count: symbols, samples: x[j].symbolMajorSamples(0..<symbols))
            }
            if let s = intended?[j] { try receiver.addIntended(device: k, symbols: s) }
        }
        let reception = receiver.finish()
        return AirCompReception(combined: reception.combined, aggregate: reception.aggregate, error: reception.error)
    }

    /// The true channels laid out for every device of the design: the transmitting devices'
    /// own, zero for the others (which send nothing).
    func channelsOfEveryDevice() -> ChannelTensor {
        guard devices != Array(0..<design.devices) else { return channels }
        var all = ChannelTensor(
            subcarriers: channels.subcarriers, devices: design.devices, receiveAntennas: channels.receiveAntennas,
            transmitAntennas: channels.transmitAntennas)
        for n in 0..<channels.subcarriers {
            for (j, k) in devices.enumerated() {
                let from = channels.offset(subcarrier: n, device: j)
                let to = all.offset(subcarrier: n, device: k)
                for i in 0..<channels.matrixSize { all.elements[to + i] = channels.elements[from + i] }
            }
        }
        return all
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
    /// The target's own power, ‖Σ_k w_k s_k[n,t]‖² on the same footing (empty: not measured), so
    /// that total/signal is the normalised MSE, independent of the scale c, the weights and L.
    public var signal: [Double]

    public init(total: [Double], thermal: [Double], csi: [Double], quantization: [Double], signal: [Double] = []) {
        self.total = total
        self.thermal = thermal
        self.csi = csi
        self.quantization = quantization
        self.signal = signal
    }

    /// Every part multiplied by `factor` (an aggregate divided by ρ has its error divided by ρ²),
    /// and so the signal, which the same rescale divides.
    public func scaled(by factor: Double) -> AggregationError {
        AggregationError(
            total: total.map { $0 * factor }, thermal: thermal.map { $0 * factor }, csi: csi.map { $0 * factor },
            quantization: quantization.map { $0 * factor }, signal: signal.map { $0 * factor })
    }

    /// ‖ŝ − Σ w s‖² / ‖Σ w s‖² over the whole round (NaN without the signal or when it is zero):
    /// dimensionless, comparable across L, scales and powers.
    public var normalized: Double {
        let s = signal.reduce(0, +)
        return signal.isEmpty || s <= 0 ? .nan : total.reduce(0, +) / s
    }

    /// Each part's mean over subcarriers: (total, thermal, csi, quantization).
    public var means: (total: Double, thermal: Double, csi: Double, quantization: Double) {
        func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
        return (mean(total), mean(thermal), mean(csi), mean(quantization))
    }
}
