import Foundation
import LanguageModel
import LinearAlgebra
import Numerics
import Radio
import Wire

/// What a pilot round leaves for the rank planner: the aggregate as the base station received it
/// and what it can check it against.
struct PilotCapture {
    /// Σ_k w_k Δ_k / Σ_{delivered} w_k, D(r_max) reals, as received (air noise included).
    var aggregate: [Float]
    /// Delivered nodes' normalised weights w̃_k and reported ‖Δ_k‖².
    var reports: [(weight: Double, energy: Double)]
    /// E‖e‖² of the aggregate from the closed form: c² · S · N_sc · σ²L/η (rescaled); 0 without air.
    var noiseEnergy: Double
}

extension FederationServer {
    /// The rank by the method's procedure (docs/optimality-gap.md): the largest rank every device's
    /// budgets allow, r_max; one pilot round at r_max over the real air; the pooled singular values
    /// of the aggregated update as the spectrum; the learning constants estimated from the pilot
    /// where the derivation allows; then the alternating rank/beamforming search. The pilot's
    /// update is not kept: the run starts from the base model at the planned rank. Returns what
    /// summary.json records (each constant with how it was obtained).
    func planRankFromPilot(channels h: ChannelTensor, initialLoss: Double) throws -> RankPlanningRecord {
        let budget = try rankBudget(channels: h)
        var phases = PhaseClock(clock: clock)
        global = freshAdapter(rank: budget.bound.rank)
        let base = global
        let pilotRound = try runRound(0, purpose: .pilot)
        try recorder.append(pilotRound.nodes + [pilotRound.global])
        phases.lap("pilot_round")
        var learned = PilotLearning(constants: scenario.plan.constants)
        if let captured = pilotRound.pilot {
            try learn(
                &learned, from: captured, base: base, rMax: budget.bound.rank, initialLoss: initialLoss, phases: &phases
            )
        } else {
            learned.spectrum = try scenario.plan.spectrum()
            learned.spectrumSource =
                "the scenario's [plan] prior: the pilot round delivered no aggregate "
                + "(\(pilotRound.global.status.rawValue))"
        }
        learned.constants.rounds = settings.rounds
        learned.sources["rounds"] = "federation.rounds"
        // c² as the rounds will set it: the largest reported update's power per complex symbol.
        let symbolPower = pilotRound.pilot.flatMap { p in
            p.reports.map(\.energy).max().map { $0 / (Double(budget.shape.parameters(rank: budget.bound.rank)) / 2) }
        }
        guard let spectrum = learned.spectrum else { preconditionFailure("the pilot's spectrum is set on both paths") }
        let gap = try makeOptimalityGap(
            scenario: scenario, profiles: profiles, adapter: budget.shape, subcarriers: h.subcarriers,
            weights: shardWeights, constants: learned.constants, spectrum: spectrum, symbolPower: symbolPower)
        let plan = try RankPlanner.plan(gap: gap, channels: h, upperBound: budget.bound)
        phases.lap("search")
        global = freshAdapter(rank: plan.rank)
        // G(r, A*(r)) at every rank up to r_max, each with its own beamformers: what the search
        // did not need, for setting the bound beside the loss each rank reaches (experiment `paper-rank`).
        let every = try RankPlanner.bruteForce(gap: gap, channels: h, maxRank: budget.bound.rank)
        phases.lap("every_rank")
        let singularValues = spectrum.squaredSingularValues.map { $0.squareRoot() }
        progress(
            String(
                format: "rank planning: pilot at r_max = %d, rank %d, optimality gap %.4g", budget.bound.rank,
                plan.rank, plan.components.total))
        return RankPlanningRecord(
            rMax: budget.bound.rank, rMaxBinding: budget.bound.binding, pilotStatus: pilotRound.global.status.rawValue,
            calibration: learned.calibration, spectrumSource: learned.spectrumSource, sketchRank: learned.sketchRank,
            displacementScale: learned.displacementScale, symbolPower: symbolPower, rank: plan.rank,
            gap: plan.components.total, gaps: RankPlanningRecord.keyed(byRank: plan.gaps),
            gapsEveryRank: RankPlanningRecord.keyed(byRank: every.gaps),
            seconds: phases.laps, spectrumTop: Array(singularValues.prefix(16)), spectrumCount: singularValues.count,
            // All of it, so `basestation plan` can replay this bound (`[plan] pilot_singular_values`).
            spectrum: singularValues, constants: constantsRecord(learned.constants, learned.sources))
    }

    /// What the planner learns from the pilot round: the constants (each with its source), the
    /// spectrum and how it was obtained, and the calibration's measurements.
    private struct PilotLearning {
        var constants: LearningConstants
        var sources = [String: String]()
        /// Set by the pilot's measurements, or the scenario's prior when the pilot delivered nothing.
        var spectrum: PilotSpectrum?
        var spectrumSource = ""
        var calibration: RankPlanningRecord.Calibration?
        var sketchRank: Int?
        var displacementScale: Double?
    }

    /// The pilot's aggregate measured: the calibration passes, the estimates the round supports,
    /// the gradient sketch beyond r_max, and the spectrum scaled to the way to the minimum.
    private func learn(
        _ learned: inout PilotLearning, from captured: PilotCapture, base: LoRAAdapter, rMax: Int,
        initialLoss: Double, phases: inout PhaseClock
    ) throws {
        let pilot = try PilotSpectrum(updates: try factoredUpdates(from: base, moved: captured.aggregate))
        let calibration = calibrationTokens.isEmpty ? evaluator.tokens : calibrationTokens
        let label =
            calibrationTokens.isEmpty
            ? "the evaluation's \(calibration.count) held-out tokens (no other held-out document left)"
            : "\(calibration.count) calibration tokens"
        let probe = CalibrationProbe(model: model, tokens: calibration, context: settings.ctx)
        var lineMinimum: Double?
        // A calibration that cannot be measured (no usable window, a failing pass) leaves the
        // scenario's constants and the pilot's own spectrum, and says why; the run goes on.
        do {
            let measured = try measurePilot(
                probe: probe, base: base, aggregate: captured.aggregate, weightUpdateEnergy: pilot.tail(0),
                noiseEnergy: captured.noiseEnergy)
            calibrate(&learned.constants, &learned.sources, measured, tokens: label, rank: rMax)
            lineMinimum = measured.lineMinimum
            learned.calibration = .measured(measured.record)
            phases.lap("calibration")
        } catch {
            learned.calibration = .failed(error: "\(error)")
            log.warning(
                "rank planning: the bound's constants could not be measured (\(error)); the scenario's values stand")
        }
        estimate(&learned.constants, &learned.sources, from: captured, initialLoss: initialLoss)
        let smallest = settings.targets.map { $0.shape(model.config) }.map { min($0.dIn, $0.dOut) }.min() ?? 1
        let p = min(scenario.plan.sketchRank, smallest)
        learned.sketchRank = p
        let gradient =
            p > rMax
            ? try? probe.gradientSpectrum(config: model.config, targets: settings.targets, rank: p, seed: scenario.seed)
            : nil
        phases.lap("gradient_sketch")
        let pooled =
            "pilot round at rank \(rMax): singular values of every adapted matrix's aggregated update, "
            + "pooled by rank index (s_i² = Σ_j s_{j,i}²)"
        var spectrum: PilotSpectrum
        if let gradient {
            spectrum = try Self.extendedSpectrum(pilot: pilot, gradient: gradient, rMax: rMax)
            learned.spectrumSource =
                pooled + "; beyond r_max the full-weight gradient's (a rank-\(p) sketch on \(label)) scaled to the "
                + "pilot's energy in the first \(rMax)"
        } else {
            spectrum = pilot
            learned.spectrumSource =
                pooled + "; nothing beyond r_max ("
                + (p > rMax ? "the gradient sketch could not be measured)" : "the sketch rank \(p) is not above it)")
        }
        // θ* − θ₀ ≈ t*·ΔW: the rank term measures what a rank-r adapter misses of the way to the
        // minimum, of which the pilot's one round is the first step.
        // t* at most T: the run's T rounds cannot go further than T pilot-sized steps.
        if let t = lineMinimum.map({ min($0, Double(settings.rounds)) }) {
            spectrum = try spectrum.scaled(by: t)
            learned.spectrumSource +=
                "; times t = \(String(format: "%.4g", t)), the minimum of the weights' quadratic model along the "
                + "pilot's update (t*, at most T)"
            learned.displacementScale = t
        } else {
            learned.spectrumSource +=
                "; not scaled (no line minimum: the weights' curvature along the pilot's update was not positive, or "
                + "its slope not downhill)"
        }
        learned.spectrum = spectrum
    }

    /// Wall-clock seconds of each phase of the planning, for the compute accounting (summary.json
    /// `rank_planning.seconds`); they never feed a result.
    private struct PhaseClock {
        let clock: MonotonicClock
        private var last: UInt64
        private(set) var laps = [String: Double]()
        init(clock: MonotonicClock) {
            self.clock = clock
            last = clock.nanoseconds
        }
        mutating func lap(_ name: String) {
            laps[name] = clock.seconds(since: last)
            last = clock.nanoseconds
        }
    }

    /// The estimates one pilot round supports; the rest stay the scenario's `[plan]` values.
    private func estimate(
        _ c: inout LearningConstants, _ sources: inout [String: String], from p: PilotCapture, initialLoss: Double
    ) {
        // F* ≥ 0 for a cross-entropy, so Δ₀ = F(θ₀) − F* ≤ F(θ₀), the measured held-out loss.
        if initialLoss.isFinite, initialLoss > 0 {
            c.initialGap = initialLoss
            sources["initial_gap"] = "held-out loss of the base model (an upper bound: F* ≥ 0)"
        }
        // The nodes' spread around their mean, Σ w̃_k ‖Δ_k − Δ̄‖² = Σ w̃_k ‖Δ_k‖² − ‖Δ̄‖²: the reports give
        // the first sum, the aggregate less its expected noise the second. For independent node noises of
        // variance σ² per step it is λ² σ² (1 − Σ w̃²), and the aggregate's ξ has variance σ_g² = σ² Σ w̃².
        let w2 = p.reports.reduce(0) { $0 + $1.weight * $1.weight }
        let mean = p.reports.reduce(0) { $0 + $1.weight * $1.energy }
        let aggregate = p.aggregate.reduce(0) { $0 + Double($1) * Double($1) } - p.noiseEnergy
        let spread = mean - aggregate
        if w2 < 1 - 1e-9, spread > 0, spread.isFinite {
            c.gradientVariance = w2 / (1 - w2) * spread / (c.stepSize * c.stepSize)
            sources["gradient_variance"] =
                "pilot round: the delivered nodes' spread around their mean (reported ‖Δ_k‖², the aggregate less its "
                + "closed-form thermal noise; DAC and CSI errors stay in, so it is low by them), / λ²"
        } else {
            sources["gradient_variance"] =
                w2 >= 1 - 1e-9
                ? "scenario [plan] gradient_variance: one node delivered the pilot, no spread to measure"
                : "scenario [plan] gradient_variance: the pilot's measured spread was \(spread) (≤ 0: the "
                    + "aggregate's errors exceed the nodes' disagreement)"
        }
    }

    private func constantsRecord(_ c: LearningConstants, _ sources: [String: String])
        -> [String: RankPlanningRecord.Constant]
    {
        let values: [(String, Double)] = [
            ("smoothness", c.smoothness), ("rank_smoothness", c.rankSmoothness ?? c.smoothness),
            ("distortion_smoothness", c.distortionSmoothness ?? c.smoothness),
            ("distortion_reference_rank", c.distortionReferenceRank.map(Double.init) ?? .nan),
            ("pl_constant", c.plConstant), ("step_size", c.stepSize), ("horizon_weight", c.horizonWeight),
            ("gradient_variance", c.gradientVariance), ("rounds", Double(c.rounds)), ("initial_gap", c.initialGap),
        ]
        return Dictionary(
            uniqueKeysWithValues: values.map { key, v in
                (key, RankPlanningRecord.Constant(value: v, source: sources[key] ?? Self.defaultSource(key, c)))
            })
    }

    /// Where a constant came from when no measurement set it.
    static func defaultSource(_ key: String, _ c: LearningConstants) -> String {
        switch key {
        case "horizon_weight": return "(1 − (1 − λμ)^T)/(λμ) of the values above"
        case "rank_smoothness" where c.rankSmoothness == nil:
            return "smoothness (no usable measurement of the weights' curvature)"
        case "distortion_smoothness" where c.distortionSmoothness == nil:
            return "smoothness (no usable measurement of the curvature along a random direction)"
        case "distortion_reference_rank":
            return c.distortionReferenceRank == nil
                ? "none: the distortion's curvature is the same at every rank"
                : "r_max, the pilot's rank, where the curvatures were measured"
        default: return "scenario [plan] \(key) (no usable measurement)"
        }
    }

    /// ΔW_j = (α/r)(B'A' − BA) of every adapted matrix, factored as L = (α/r)[B' | −B], R = [A'; A]
    /// (the old factors left out while B = 0, as it is for a fresh adapter).
    func factoredUpdates(from base: LoRAAdapter, moved delta: [Float]) throws -> [FactoredUpdate] {
        let old = base.flattened()
        let new = zip(old, delta).map { $0 + $1 }
        let scale = Double(base.scale)
        return try base.layout.slots.map { s in
            let keepOld = old[s.bRange].contains { $0 != 0 }
            let q = keepOld ? 2 * s.rank : s.rank
            let left = ComplexMatrix<Double>(rows: s.dOut, cols: q) { i, j in
                Complex(
                    j < s.rank
                        ? scale * Double(new[s.b + i * s.rank + j])
                        : -scale * Double(old[s.b + i * s.rank + j - s.rank]), 0)
            }
            let right = ComplexMatrix<Double>(rows: q, cols: s.dIn) { i, j in
                Complex(Double(i < s.rank ? new[s.a + i * s.dIn + j] : old[s.a + (i - s.rank) * s.dIn + j]), 0)
            }
            return try FactoredUpdate(left: left, right: right)
        }
    }

    /// A seeded fresh adapter of `rank` over the scenario's targets (its scale γ(r) of `lora_scaling`).
    func freshAdapter(rank: Int) -> LoRAAdapter {
        LoRAAdapter(
            config: model.config, rank: rank, alpha: settings.adapterAlpha(rank: rank), targets: settings.targets,
            seed: scenario.seed)
    }

    var shardWeights: [Double] { shardSizes.map { Double($0) / Double(shardSizes.reduce(0, +)) } }

    /// The model's real adapter shape and the largest rank every node's RAM, FLOP and airtime budgets allow.
    private func rankBudget(channels: ChannelTensor) throws -> (
        shape: AdapterShape, bound: (rank: Int, binding: String)
    ) {
        let f = settings
        let c = model.config
        let shape = AdapterShape(matrices: settings.targets.map { $0.shape(c) }, layers: c.layers)
        let gap = try makeOptimalityGap(
            scenario: scenario, profiles: profiles, adapter: shape, subcarriers: channels.subcarriers,
            weights: shardWeights)
        let file = model.file
        let activation = try TrainingMemoryPlan(
            gguf: file, rank: 1, targets: settings.targets, optimizer: f.optimizer, context: f.ctx,
            mode: .streamed, runtimeBytes: 0)
        let load = TrainingLoad(
            baseParameters: Double(file.tensors.reduce(0) { $0 + $1.elementCount }), baseBytes: Double(file.byteCount),
            activationBytes: Double(activation.activations + activation.weights + activation.backwardScratch),
            localSteps: f.localSteps, tokensPerStep: f.ctx * f.batch)
        let budgets = zip(nodes, profiles).map { n, p in
            DeviceComputeBudget(
                name: n.name, ramBytes: p.ramBytes, flopBudgetPerRound: p.flopBudgetPerRound,
                airtimeBudgetS: p.airtimeBudgetS)
        }
        return (
            shape,
            try RankPlanner.upperBound(ceiling: scenario.plan.rankCeiling, devices: budgets, load: load, gap: gap)
        )
    }
}
