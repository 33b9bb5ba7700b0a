import Foundation
import LinearAlgebra
import Numerics
import Randomness

/// A seeded MIMO-OFDM uplink channel that evolves from round to round.
///
/// Per device k: large-scale gain β_k = 10^(−(PL_k + SF_k)/10) from the 38.901 path loss at the
/// device's distance and log-normal shadowing; small-scale TDL taps H_{k,l} ∈ C^{N_r×N_t}, Rayleigh
/// CN(0, p_l) (or the specular path √p_l·e^{jφ_k} a_r a_tᴴ for a LOS row, see
/// `LineOfSightComponent`), with Kronecker exponential antenna correlation R_r^{1/2} W R_t^{T/2};
/// and the frequency response H_k[n] = √β_k · Σ_l H_{k,l} · exp(−j2π n Δf τ_l), τ_l = normalised
/// delay × delay spread. Tap powers are normalised to Σ_l p_l = 1, so E|h|² = β_k.
///
/// LOS state and profile: each device's small-scale profile follows `lineOfSight[k]`. Under TDL-D/E
/// a device drawn NLOS gets no specular path: its LOS row is Rayleigh CN(0, p_0) at delay 0 like the
/// other rows, so its first tap is Rayleigh with the tabulated power p_0 + p_1 (K-factor → 0 at
/// fixed tap power) and every p_l, the delay spread and Σ p_l = 1 stay as configured. TR 38.901
/// §7.7.2 names TDL-D/E the LOS and TDL-A/B/C the NLOS profiles but maps none onto another, and
/// swapping in an NLOS table would change the delay profile the configuration chose. Under
/// TDL-A/B/C a device drawn LOS keeps the profile as configured (only its path loss and shadowing
/// are the LOS ones): those tables carry no specular component, and adding one would invent a
/// K-factor.
///
/// Time: the diffuse taps follow H(r) = ρ H(r−1) + √(1−ρ²) W(r), ρ = J0(2π f_D T) (Jakes); f_D = 0
/// gives ρ = 0, i.e. block fading. A specular path keeps its modulus and turns its phase by
/// 2π·0.7 f_D·T per round (38.901 §7.7.2); large-scale gains stay fixed.
///
/// Every draw comes from a named substream of `seed` (device, round), so a seed reproduces the same
/// channels on any machine and in any order of use.
public struct ChannelModel: Sendable {
    public let configuration: ChannelConfiguration
    public let seed: UInt64
    /// The round whose channels `frequencyResponse()` returns.
    public private(set) var round: Int = 0
    /// Distance of each device from the BS, metres.
    public let distancesM: [Double]
    /// Whether each device is LOS: its path loss and shadowing, and under TDL-D/E its specular path.
    public let lineOfSight: [Bool]
    /// Path loss + shadowing per device, dB (0 without a path-loss model).
    public let lossDB: [Double]
    /// Tap delays τ_l in seconds and normalised powers p_l (Σ p_l = 1), in table order.
    public let tapDelaysS: [Double]
    public let tapPowers: [Double]
    /// ρ of the AR(1) evolution between rounds.
    public let timeCorrelation: Double

    /// diffuse[k][l]: the Rayleigh part of tap l of device k, N_r×N_t column-major, unit variance
    /// per entry before correlation and power scaling (for a LOS row, used only if k has no specular path).
    private var diffuse: [[ComplexMatrix<Double>]]
    /// specular[k]: the LOS path of device k; nil for an NLOS device or a profile without a LOS row.
    private let specular: [LineOfSightComponent?]
    private let receiveFactor: ComplexMatrix<Double>
    private let transmitFactor: ComplexMatrix<Double>

    public init(configuration: ChannelConfiguration, seed: UInt64) throws {
        try configuration.validate()
        self.configuration = configuration
        self.seed = seed
        let cfg = configuration
        let K = cfg.devices

        let large = ChannelModel.drawLargeScale(cfg, seed: seed)
        distancesM = large.distances
        lineOfSight = large.lineOfSight
        lossDB = large.loss

        // Power-delay profile.
        let taps = cfg.profile.taps
        let linear = taps.map { pow(10, $0.powerDB / 10) }
        let total = linear.reduce(0, +)
        tapPowers = linear.map { $0 / total }
        tapDelaysS = taps.map { $0.normalizedDelay * cfg.delaySpreadS }
        timeCorrelation = cfg.dopplerHz > 0 ? j0(2 * Double.pi * cfg.dopplerHz * cfg.roundIntervalS) : 0

        receiveFactor = try ChannelModel.exponentialCorrelationFactor(
            size: cfg.receiveAntennas, rho: cfg.receiveCorrelation)
        transmitFactor = try ChannelModel.exponentialCorrelationFactor(
            size: cfg.transmitAntennas, rho: cfg.transmitCorrelation)

        var spec = [LineOfSightComponent?]()
        var diff = [[ComplexMatrix<Double>]]()
        for k in 0..<K {
            var g = SeededGenerator(seed: seed, stream: [RandomStream.channelTaps.rawValue, UInt64(k)])
            // LOS geometry: uniform angles of arrival and departure for half-wavelength ULAs. Drawn
            // for NLOS devices too, so the diffuse draws after them do not depend on the LOS state.
            let aoa = (g.uniform() - 0.5) * Double.pi
            let aod = (g.uniform() - 0.5) * Double.pi
            let hasSpecularPath = cfg.profile.isLineOfSight && large.lineOfSight[k]
            spec.append(
                hasSpecularPath
                    ? LineOfSightComponent(
                        configuration: cfg, seed: seed, device: k, arrivalRad: aoa, departureRad: aod) : nil)
            diff.append(
                taps.map { _ in ChannelModel.standardGaussian(rows: cfg.receiveAntennas, cols: cfg.transmitAntennas, &g)
                })
        }
        specular = spec
        diffuse = diff
    }

    /// Advances to the next round: the diffuse taps take one AR(1) step (a fresh draw for block
    /// fading); specular paths, whose phase is a function of `round`, turn by 2π·0.7 f_D·T.
    public mutating func advance() {
        round += 1
        let rho = timeCorrelation
        let innovation = (1 - rho * rho).squareRoot()
        for k in 0..<configuration.devices {
            var g = SeededGenerator(
                seed: seed, stream: [RandomStream.timeEvolution.rawValue, UInt64(k), UInt64(round)])
            for l in diffuse[k].indices {
                let w = ChannelModel.standardGaussian(
                    rows: configuration.receiveAntennas, cols: configuration.transmitAntennas, &g)
                diffuse[k][l] = rho * diffuse[k][l] + innovation * w
            }
        }
    }

    /// Moves to round `target` (≥ the current round) by repeated `advance()`.
    public mutating func advance(to target: Int) {
        precondition(target >= round, "channels only move forward in time")
        while round < target { advance() }
    }

    /// Large-scale power gain β_k (linear) of each device.
    public var largeScaleGains: [Double] { lossDB.map { pow(10, -$0 / 10) } }

    /// The time-domain tap matrices of device k in table order, N_r×N_t each, path loss included:
    /// √β_k · (√p_l·C_r W C_tᵀ, or √p_l·e^{jφ_k(r)} a_r a_tᴴ for the LOS row of a LOS device).
    public func tapMatrices(device k: Int) -> [ComplexMatrix<Double>] {
        let taps = configuration.profile.taps
        let amplitude = largeScaleGains[k].squareRoot()
        return taps.indices.map { l in
            let scale = amplitude * tapPowers[l].squareRoot()
            if taps[l].isLineOfSight, let path = specular[k] { return scale * path.matrix(round: round) }
            return scale * (receiveFactor * diffuse[k][l]).product(transmitFactor, .none, .transpose)
        }
    }

    /// H_k[n] for every device and subcarrier at the current round.
    ///
    /// Per device, the N_sc × (N_r·N_t) response is one gemm: the N_sc × L phase matrix
    /// exp(−j2π n Δf τ_l) times the L × (N_r·N_t) matrix of vectorised taps.
    public func frequencyResponse() -> ChannelTensor {
        let cfg = configuration
        var tensor = ChannelTensor(
            subcarriers: cfg.subcarriers, devices: cfg.devices, receiveAntennas: cfg.receiveAntennas,
            transmitAntennas: cfg.transmitAntennas)
        let phases = ComplexMatrix<Double>(rows: cfg.subcarriers, cols: tapDelaysS.count) { n, l in
            Complex(length: 1, phase: -2 * Double.pi * Double(n) * cfg.subcarrierSpacingHz * tapDelaysS[l])
        }
        let entries = cfg.receiveAntennas * cfg.transmitAntennas
        for k in 0..<cfg.devices {
            let taps = tapMatrices(device: k)
            let stacked = ComplexMatrix<Double>(rows: taps.count, cols: entries) { l, e in taps[l].elements[e] }
            let response = phases * stacked
            for n in 0..<cfg.subcarriers {
                let o = tensor.offset(subcarrier: n, device: k)
                for e in 0..<entries {
                    let h = response[n, e]
                    tensor.elements[o + e] = Complex(Float(h.real), Float(h.imaginary))
                }
            }
        }
        return tensor
    }

    /// Distance (m), LOS state and path loss + shadowing (dB) of every device, K entries each.
    static func drawLargeScale(_ cfg: ChannelConfiguration, seed: UInt64) -> (
        distances: [Double], lineOfSight: [Bool], loss: [Double]
    ) {
        let K = cfg.devices
        var distances = [Double]()
        var los = [Bool]()
        var loss = [Double]()
        for k in 0..<K {
            var g = SeededGenerator(seed: seed, stream: [RandomStream.largeScale.rawValue, UInt64(k)])
            let d: Double
            if let given = cfg.distancesM {
                d = given[k]
            } else {
                let u = g.uniform()
                d =
                    (cfg.minDistanceM * cfg.minDistanceM + u
                    * (cfg.maxDistanceM * cfg.maxDistanceM - cfg.minDistanceM * cfg.minDistanceM)).squareRoot()
            }
            distances.append(d)
            guard let scenario = cfg.pathLoss else {
                los.append(cfg.profile.isLineOfSight)
                loss.append(0)
                continue
            }
            let model = PathLossModel(scenario: scenario, carrierHz: cfg.carrierHz)
            let isLOS: Bool
            switch cfg.lineOfSight {
            case .always: isLOS = true
            case .never: isLOS = false
            case .auto:
                var gl = SeededGenerator(seed: seed, stream: [RandomStream.lineOfSight.rawValue, UInt64(k)])
                isLOS = gl.uniform() < model.lineOfSightProbability(distance2D: d)
            }
            los.append(isLOS)
            let shadow = cfg.shadowing ? model.shadowingStdDB(lineOfSight: isLOS) * g.normal() : 0
            loss.append(model.pathLossDB(distance2D: d, lineOfSight: isLOS) + shadow)
        }
        return (distances, los, loss)
    }

    /// Cholesky factor C of the exponential correlation R_ij = ρ^|i−j| (C Cᴴ = R).
    static func exponentialCorrelationFactor(size: Int, rho: Double) throws -> ComplexMatrix<Double> {
        if rho == 0 { return .identity(size) }
        let r = ComplexMatrix<Double>(rows: size, cols: size) { i, j in Complex(pow(rho, Double(abs(i - j)))) }
        return try r.cholesky()
    }

    /// A rows×cols matrix of i.i.d. CN(0, 1) entries.
    static func standardGaussian(rows: Int, cols: Int, _ g: inout SeededGenerator) -> ComplexMatrix<Double> {
        let s = 0.5.squareRoot()
        return ComplexMatrix(rows: rows, cols: cols) { _, _ in Complex(s * g.normal(), s * g.normal()) }
    }
}
