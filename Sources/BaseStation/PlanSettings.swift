import Configuration
import Foundation
import HardwareProfiles
import Radio

/// The `[plan]` table of a scenario: learning constants, the model being adapted, the pilot
/// spectrum, the devices' hardware profiles (docs/optimality-gap.md names every constant).
struct PlanSettings: Decodable {
    var rankCeiling = 64
    var profiles: [String] = []
    var symbolDurationS = 35.7e-6
    var constants = LearningConstants()
    var baseParameters = 134_515_008.0 // SmolLM2-135M
    var baseBytes = 95.0e6 // Q4_1 weights + Q8_0 embedding
    var activationBytes = 60.0e6 // ctx 256 with recomputation
    var layers = 30
    var adapted: [[Int]] = [[576, 576], [576, 192], [576, 192], [576, 576]] // q, k, v, o: (d_in, d_out)
    var localSteps = 4
    var tokensPerStep = 256
    var pilotSingularValues: [Double]? = nil
    var pilotPowerLaw = 0.8
    var pilotEnergy = 1.0
    var pilotCount = 64
    /// c², the power of a complex symbol of the largest update ([θ]²), as a pilot round measures
    /// it; nil: from the spectrum, 2 Σ_{i≤r} s_i² / D(r).
    var symbolPower: Double? = nil
    /// Calibration tokens the base station measures F and its gradients on around the pilot round
    /// (held-out documents outside the evaluation sample).
    var calibrationTokens = 1024
    /// p, columns of the randomised sketch of the full-weight gradient's spectrum (capped by the
    /// smallest adapted dimension): how far beyond r_max the rank term sees.
    var sketchRank = 64

    enum CodingKeys: String, CodingKey, CaseIterable {
        case rankCeiling = "r_max"
        case profiles
        case symbolDurationS = "symbol_duration_s"
        case smoothness
        case rankSmoothness = "rank_smoothness"
        case distortionSmoothness = "distortion_smoothness"
        case distortionReferenceRank = "distortion_reference_rank"
        case plConstant = "pl_constant"
        case stepSize = "step_size"
        case gradientVariance = "gradient_variance"
        case rounds
        case initialGap = "initial_gap"
        case baseParameters = "base_parameters"
        case baseBytes = "base_bytes"
        case activationBytes = "activation_bytes"
        case layers, adapted
        case localSteps = "local_steps"
        case tokensPerStep = "tokens_per_step"
        case pilotSingularValues = "pilot_singular_values"
        case pilotPowerLaw = "pilot_power_law"
        case pilotEnergy = "pilot_energy"
        case pilotCount = "pilot_count"
        case symbolPower = "symbol_power"
        case calibrationTokens = "calibration_tokens"
        case sketchRank = "sketch_rank"
    }

    init() {}

    init(from decoder: Decoder) throws {
        try rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try c.update(&rankCeiling, forKey: .rankCeiling)
        try c.update(&profiles, forKey: .profiles)
        try c.update(&symbolDurationS, forKey: .symbolDurationS)
        try c.update(&constants.smoothness, forKey: .smoothness)
        constants.rankSmoothness = try c.decodeNumberIfPresent(forKey: .rankSmoothness)
        constants.distortionSmoothness = try c.decodeNumberIfPresent(forKey: .distortionSmoothness)
        try c.update(&constants.distortionReferenceRank, forKey: .distortionReferenceRank)
        symbolPower = try c.decodeNumberIfPresent(forKey: .symbolPower)
        try c.update(&constants.plConstant, forKey: .plConstant)
        try c.update(&constants.stepSize, forKey: .stepSize)
        try c.update(&constants.gradientVariance, forKey: .gradientVariance)
        try c.update(&constants.rounds, forKey: .rounds)
        try c.update(&constants.initialGap, forKey: .initialGap)
        try c.update(&baseParameters, forKey: .baseParameters)
        try c.update(&baseBytes, forKey: .baseBytes)
        try c.update(&activationBytes, forKey: .activationBytes)
        try c.update(&layers, forKey: .layers)
        try c.update(&adapted, forKey: .adapted)
        try c.update(&localSteps, forKey: .localSteps)
        try c.update(&tokensPerStep, forKey: .tokensPerStep)
        pilotSingularValues = try c.decodeNumbersIfPresent(forKey: .pilotSingularValues)
        try c.update(&pilotPowerLaw, forKey: .pilotPowerLaw)
        try c.update(&pilotEnergy, forKey: .pilotEnergy)
        try c.update(&pilotCount, forKey: .pilotCount)
        try c.update(&calibrationTokens, forKey: .calibrationTokens)
        try c.update(&sketchRank, forKey: .sketchRank)
        func check(_ ok: Bool, _ key: CodingKeys, _ problem: String) throws {
            if !ok { throw ConfigurationError(key: "plan.\(key.rawValue)", problem: problem) }
        }
        try check((1...4096).contains(rankCeiling), .rankCeiling, "must be in 1…4096, got \(rankCeiling)")
        try check(
            symbolDurationS > 0 && symbolDurationS < 1, .symbolDurationS, "must be in (0, 1) s, got \(symbolDurationS)")
        try check((1...1024).contains(layers), .layers, "must be in 1…1024, got \(layers)")
        try check(
            !adapted.isEmpty && adapted.allSatisfy { $0.count == 2 && $0[0] > 0 && $0[1] > 0 }, .adapted,
            "must list [d_in, d_out] pairs of positive sizes")
        try check(
            (0...1_048_576).contains(calibrationTokens), .calibrationTokens,
            "must be in 0…1048576, got \(calibrationTokens)")
        try check((1...4096).contains(sketchRank), .sketchRank, "must be in 1…4096, got \(sketchRank)")
        // The prior's singular values are allocated: one per count.
        try check((1...1_048_576).contains(pilotCount), .pilotCount, "must be in 1…1048576, got \(pilotCount)")
        try check(symbolPower.map { $0 > 0 && $0.isFinite } ?? true, .symbolPower, "must be > 0 and finite")
        try check(localSteps >= 1, .localSteps, "must be ≥ 1, got \(localSteps)")
        try check(tokensPerStep >= 1, .tokensPerStep, "must be ≥ 1, got \(tokensPerStep)")
        try check(
            baseParameters > 0 && baseParameters.isFinite, .baseParameters,
            "must be positive and finite, got \(baseParameters)")
        try check(baseBytes > 0 && baseBytes.isFinite, .baseBytes, "must be positive and finite, got \(baseBytes)")
        try check(
            activationBytes >= 0 && activationBytes.isFinite, .activationBytes,
            "must be ≥ 0 and finite, got \(activationBytes)")
        try check(
            pilotPowerLaw >= 0 && pilotPowerLaw.isFinite, .pilotPowerLaw, "must be ≥ 0 and finite, got \(pilotPowerLaw)"
        )
        try check(pilotEnergy > 0 && pilotEnergy.isFinite, .pilotEnergy, "must be > 0 and finite, got \(pilotEnergy)")
        do { try constants.validate() } catch let e as ConfigurationError {
            throw ConfigurationError(key: "plan.\(e.key)", problem: e.problem)
        }
    }

    /// The pilot spectrum: given singular values, or the power-law prior.
    func spectrum() throws -> PilotSpectrum {
        if let s = pilotSingularValues { return try PilotSpectrum(singularValues: s) }
        return try PilotSpectrum.powerLaw(count: pilotCount, exponent: pilotPowerLaw, energy: pilotEnergy)
    }

    /// One profile per device: the list as given, or its single entry for everyone. Relative paths
    /// are tried against the working directory, then against the scenario's folder and its parents.
    func loadProfiles(devices: Int, scenarioPath: String?) throws -> [HardwareProfile] {
        guard !profiles.isEmpty else {
            throw ConfigurationError(key: "plan.profiles", problem: "list at least one hwprofiles/*.toml")
        }
        guard profiles.count == 1 || profiles.count == devices else {
            throw ConfigurationError(
                key: "plan.profiles",
                problem: "has \(profiles.count) entries for \(devices) devices (give one, or one per device)")
        }
        let paths = profiles.count == 1 ? Array(repeating: profiles[0], count: devices) : profiles
        return try paths.map { try HardwareProfile.load(resolve($0, scenarioPath: scenarioPath)) }
    }

    private func resolve(_ path: String, scenarioPath: String?) -> String {
        if path.hasPrefix("/") || FileManager.default.fileExists(atPath: path) { return path }
        guard let scenarioPath else { return path }
        var dir = URL(fileURLWithPath: scenarioPath).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent(path).path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return path
    }
}
