import Configuration
import Foundation
import LinearAlgebra

/// The learning constants of the bound (docs/optimality-gap.md, table "Assumptions").
public struct LearningConstants: Sendable, Equatable {
    /// L_s, smoothness of F on the adapter space (the descent, variance and distortion terms).
    public var smoothness = 1.0
    /// L_W, smoothness of F in the adapted weights W (the rank term, which bounds F at a truncated
    /// weight update); nil: L_s.
    public var rankSmoothness: Double? = nil
    /// L_e, the loss's mean curvature along the aggregation error (the distortion term): for an
    /// error white over the adapter's coordinates E eᵀ∇²F e = E‖e‖² · tr(∇²F)/D, which is below the
    /// worst case L_s; nil: L_s.
    public var distortionSmoothness: Double? = nil
    /// The rank the distortion term's curvature (L_e, or L_s in its place) was measured at; nil: the
    /// same at every rank. An adapter coordinate's curvature goes as γ(r)² (a B entry moves W by γ
    /// times a row of A), so at rank r it is the measured one × (γ(r)/γ(r₀))² = (r₀/r)^(2p).
    public var distortionReferenceRank: Int? = nil
    /// μ, Polyak–Łojasiewicz constant.
    public var plConstant = 0.05
    /// λ ≤ 1/L_s, the step size of one aggregated round.
    public var stepSize = 0.5
    /// σ_g², stochastic-gradient variance of one round.
    public var gradientVariance = 0.01
    /// T, rounds.
    public var rounds = 50
    /// Δ₀ = F(θ₀) − F*.
    public var initialGap = 2.0
    public init() {}

    /// H_T = Σ_{t<T} (1 − λμ)^t = (1 − (1 − λμ)^T)/(λμ): the weight of a per-round error after T
    /// rounds (→ 1/(λμ), the infinite-horizon weight, as T grows; 1 at T = 1).
    public var horizonWeight: Double {
        let lm = stepSize * plConstant
        return (1 - pow(1 - lm, Double(rounds))) / lm
    }

    public func validate() throws {
        func check(_ ok: Bool, _ key: String, _ problem: String) throws {
            if !ok { throw ConfigurationError(key: key, problem: problem) }
        }
        try check(smoothness > 0 && smoothness.isFinite, "smoothness", "must be > 0")
        if let lw = rankSmoothness { try check(lw > 0 && lw.isFinite, "rank_smoothness", "must be > 0") }
        if let le = distortionSmoothness { try check(le > 0 && le.isFinite, "distortion_smoothness", "must be > 0") }
        if let r0 = distortionReferenceRank { try check(r0 >= 1, "distortion_reference_rank", "must be ≥ 1") }
        try check(plConstant > 0 && plConstant.isFinite, "pl_constant", "must be > 0")
        try check(
            stepSize > 0 && stepSize <= 1 / smoothness, "step_size",
            "must be in (0, 1/smoothness] = (0, \(1 / smoothness)], got \(stepSize)")
        try check(stepSize * plConstant < 1, "pl_constant", "step_size · pl_constant must be < 1")
        try check(gradientVariance >= 0 && gradientVariance.isFinite, "gradient_variance", "must be ≥ 0")
        try check(rounds >= 1, "rounds", "must be ≥ 1")
        try check(initialGap >= 0 && initialGap.isFinite, "initial_gap", "must be ≥ 0")
    }
}

/// Squared singular values s_i² of a full-rank pilot update, all adapted matrices pooled, descending.
public struct PilotSpectrum: Sendable, Equatable {
    public let squaredSingularValues: [Double]
    /// Prefix sums: energy[r] = Σ_{i<r} s_i².
    private let prefix: [Double]

    public init(singularValues: [Double]) throws {
        guard !singularValues.isEmpty, singularValues.allSatisfy({ $0 >= 0 && $0.isFinite }) else {
            throw ConfigurationError(
                key: "plan.pilot.singular_values", problem: "need at least one finite, non-negative singular value")
        }
        squaredSingularValues = singularValues.map { $0 * $0 }.sorted(by: >)
        var p = [0.0]
        for v in squaredSingularValues { p.append(p.last! + v) }
        prefix = p
    }

    /// s_i² ∝ i^(−exponent), i = 1…count, scaled to total `energy`: a prior before any pilot round.
    public static func powerLaw(count: Int, exponent: Double, energy: Double) throws -> PilotSpectrum {
        guard count >= 1, exponent >= 0, energy > 0 else {
            throw ConfigurationError(key: "plan.pilot", problem: "power law needs count ≥ 1, exponent ≥ 0, energy > 0")
        }
        let raw = (1...count).map { pow(Double($0), -exponent) }
        let total = raw.reduce(0, +)
        return try PilotSpectrum(singularValues: raw.map { ($0 / total * energy).squareRoot() })
    }

    /// The spectrum of the update t·ΔW: every s_i times |t|.
    public func scaled(by t: Double) throws -> PilotSpectrum {
        try PilotSpectrum(singularValues: squaredSingularValues.map { $0.squareRoot() * abs(t) })
    }

    /// Σ_{i≤r} s_i², the energy a rank-r adapter captures.
    public func head(_ r: Int) -> Double { prefix[min(max(r, 0), squaredSingularValues.count)] }
    /// Σ_{i>r} s_i², the energy it cannot express.
    public func tail(_ r: Int) -> Double { prefix.last! - head(r) }
}

/// The adapted matrices: D(r) = r · Σ_j (d_in,j + d_out,j).
public struct AdapterShape: Sendable, Equatable {
    /// Σ_j (d_in,j + d_out,j) over all adapted matrices of all layers.
    public let widthSum: Int
    public init(matrices: [(dIn: Int, dOut: Int)], layers: Int) {
        widthSum = layers * matrices.reduce(0) { $0 + $1.dIn + $1.dOut }
    }
    /// D(r), trainable reals at rank r.
    public func parameters(rank r: Int) -> Int { r * widthSum }
}

/// Each device's radio budget per round.
public struct UplinkBudget: Sendable, Equatable {
    /// P_k^max, peak transmit power in watts.
    public var peakPowerW: [Double]
    /// E_k, transmit energy per round in joules.
    public var energyPerRoundJ: [Double]
    /// T_sym, one OFDM symbol with cyclic prefix, seconds.
    public var symbolDurationS: Double
    /// σ² per subcarrier and antenna, watts.
    public var noisePowerW: Double
    public init(peakPowerW: [Double], energyPerRoundJ: [Double], symbolDurationS: Double, noisePowerW: Double) {
        self.peakPowerW = peakPowerW
        self.energyPerRoundJ = energyPerRoundJ
        self.symbolDurationS = symbolDurationS
        self.noisePowerW = noisePowerW
    }

    /// A device's average transmit power over a transmission of `airtimeS`: its peak, or less when
    /// its energy per round spread over that time is less, P = min(P^max, E / T) — the law the
    /// bound assumes and the base station holds every AirComp round to.
    public static func averagePower(peakW: Double, energyJ: Double, airtimeS: Double) -> Double {
        airtimeS > 0 ? min(peakW, energyJ / airtimeS) : peakW
    }
}

/// The terms of G(r, A) (docs/optimality-gap.md, eq. G).
public struct GapComponents: Sendable, Equatable {
    /// ρ(r) = (L_W/2) Σ_{i>r} s_i².
    public var rank: Double
    /// (1 − λμ)^T (Δ₀ − ρ(r)).
    public var contraction: Double
    /// H_T · L_s λ² σ_g² / 2, H_T = (1 − (1 − λμ)^T)/(λμ) the finite-horizon weight.
    public var variance: Double
    /// H_T · L_e(r) V̄(r, A) / 2 (L_e the curvature along the error, L_s when not measured, at rank r).
    public var distortion: Double
    /// V̄ = c² S(r) Σ_n MSE[n].
    public var aggregationError: Double
    /// S(r).
    public var ofdmSymbols: Int
    public var total: Double { rank + contraction + variance + distortion }
}

/// G(r, {A[n]}) for one uplink: learning constants, pilot spectrum, adapter shape, radio budgets.
public struct OptimalityGap: Sendable {
    public let constants: LearningConstants
    public let spectrum: PilotSpectrum
    public let adapter: AdapterShape
    public let uplink: UplinkBudget
    public let streams: Int
    public let subcarriers: Int
    public let weights: [Double]
    /// c², the mean power of a complex symbol of the largest update in the adapter's units (two
    /// reals per symbol), measured in a pilot round and taken as the same at every rank (under
    /// AdamW every adapter coordinate moves by about the learning rate a step whatever r is). Nil:
    /// estimated from the spectrum, 2 Σ_{i≤r} s_i² / D(r) (before any pilot round).
    public let symbolPower: Double?
    /// p in the LoRA scale γ(r) ∝ r^(−p) (½ rsLoRA, 1 standard, 0 constant): how the distortion
    /// term's curvature moves with r from `constants.distortionReferenceRank`.
    public let scaleExponent: Double

    public init(
        constants: LearningConstants, spectrum: PilotSpectrum, adapter: AdapterShape, uplink: UplinkBudget,
        streams: Int, subcarriers: Int, weights: [Double], symbolPower: Double? = nil, scaleExponent: Double = 0
    ) throws {
        try constants.validate()
        self.scaleExponent = scaleExponent
        guard uplink.peakPowerW.count == weights.count, uplink.energyPerRoundJ.count == weights.count else {
            throw AirCompError.shapeMismatch(
                "radio budgets for \(uplink.peakPowerW.count) devices, weights for \(weights.count)")
        }
        self.constants = constants
        self.spectrum = spectrum
        self.adapter = adapter
        self.uplink = uplink
        self.streams = streams
        self.subcarriers = subcarriers
        self.weights = weights
        self.symbolPower = symbolPower
    }

    /// S(r) = ⌈D(r) / (2 L N_sc)⌉.
    public func ofdmSymbols(rank r: Int) -> Int {
        let perSymbol = 2 * streams * subcarriers
        return (adapter.parameters(rank: r) + perSymbol - 1) / perSymbol
    }

    /// P_k(r) = min(P_k^max, E_k / (S(r) T_sym)), watts over the whole band.
    public func devicePowers(rank r: Int) -> [Double] {
        let airtime = Double(ofdmSymbols(rank: r)) * uplink.symbolDurationS
        return zip(uplink.peakPowerW, uplink.energyPerRoundJ).map {
            UplinkBudget.averagePower(peakW: $0, energyJ: $1, airtimeS: airtime)
        }
    }

    /// max_k w_k² tr((A[n]ᴴ G_k A[n])⁻¹) / P_{k,n} per subcarrier at rank r's powers.
    public func beamformingObjectives(rank r: Int, channels: ChannelTensor, beamformers: [ComplexMatrix<Double>])
        -> [Double]
    {
        let perSubcarrier = devicePowers(rank: r).map { $0 / Double(channels.subcarriers) }
        return (0..<channels.subcarriers).map { n in
            BeamformingObjective(
                tensor: channels, subcarrier: n, streams: streams, powerPerSubcarrier: perSubcarrier, weights: weights
            )
            .value(beamformers[n])
        }
    }

    /// L_e at rank r ([F]/[θ]²): the measured curvature (L_s without one) × (r₀/r)^(2p).
    public func distortionCurvature(rank r: Int) -> Double {
        let measured = constants.distortionSmoothness ?? constants.smoothness
        guard let r0 = constants.distortionReferenceRank else { return measured }
        return measured * pow(Double(r0) / Double(max(r, 1)), 2 * scaleExponent)
    }

    /// G(r, A) and its terms.
    public func evaluate(rank r: Int, channels: ChannelTensor, beamformers: [ComplexMatrix<Double>]) -> GapComponents {
        let c = constants
        let rho = (c.rankSmoothness ?? c.smoothness) / 2 * spectrum.tail(r)
        let s = ofdmSymbols(rank: r)
        let mse = beamformingObjectives(rank: r, channels: channels, beamformers: beamformers).map {
            uplink.noisePowerW * Double(streams) * $0
        }
        let d = Double(adapter.parameters(rank: r))
        let scale2 = symbolPower ?? (d > 0 ? 2 * spectrum.head(r) / d : 0)
        let v = scale2 * Double(s) * mse.reduce(0, +)
        let lm = c.stepSize * c.plConstant
        let horizon = c.horizonWeight
        return GapComponents(
            rank: rho,
            contraction: pow(1 - lm, Double(c.rounds)) * max(0, c.initialGap - rho),
            variance: horizon * c.smoothness * c.stepSize * c.stepSize * c.gradientVariance / 2,
            distortion: horizon * distortionCurvature(rank: r) * v / 2,
            aggregationError: v,
            ofdmSymbols: s)
    }
}
