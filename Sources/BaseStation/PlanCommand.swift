import ArgumentParser
import CommandLineSupport
import Configuration
import Dispatch
import Foundation
import HardwareProfiles
import Radio

/// `basestation plan`: the LoRA rank and receive beamformers that minimise the optimality gap.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Choose the LoRA rank and beamformers minimising the optimality gap G(r, A) (docs/optimality-gap.md)."
    )

    @Option(
        help: "Scenario TOML: [channel], [aircomp], [plan], and the devices as [plan] profiles or a fleet's [[nodes]].")
    var scenario: String
    @Option(help: "Use these channels (.npy, (N_sc, K, N_r, N_t)) instead of drawing the scenario's.") var channels:
        String?
    @Flag(help: "Also evaluate every rank with its own beamformers (brute force), for comparison.") var bruteForce =
        false
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var logging: LogOptions

    func run() throws {
        try failing {
            let log = logging.logger("basestation.plan")
            let s = try Scenario.load(scenario)
            let devices: PlanDevices
            do { devices = try PlanDevices(scenario: s, scenarioPath: scenario, channelsPath: channels) } catch let e
                as ConfigurationError
            {
                throw ScenarioError(file: scenario, key: e.key, problem: e.problem)
            }
            let h = devices.channels
            let profiles = devices.profiles
            let noise = s.noisePowerW
            // A fleet's bound runs over its own rounds.
            var constants = s.plan.constants
            if !s.nodes.isEmpty { constants.rounds = s.federation.rounds }
            let gap = try makeOptimalityGap(
                scenario: s, profiles: profiles,
                adapter: AdapterShape(
                    matrices: s.plan.adapted.map { (dIn: $0[0], dOut: $0[1]) }, layers: s.plan.layers),
                subcarriers: h.subcarriers, weights: Array(repeating: 1 / Double(h.devices), count: h.devices),
                constants: constants,
                symbolPower: s.plan.symbolPower)
            let load = TrainingLoad(
                baseParameters: s.plan.baseParameters, baseBytes: s.plan.baseBytes,
                activationBytes: s.plan.activationBytes,
                localSteps: s.plan.localSteps, tokensPerStep: s.plan.tokensPerStep)
            let budgets = zip(devices.names, profiles).map { name, p in
                DeviceComputeBudget(
                    name: name, ramBytes: p.ramBytes, flopBudgetPerRound: p.flopBudgetPerRound,
                    airtimeBudgetS: p.airtimeBudgetS)
            }
            let start = DispatchTime.now().uptimeNanoseconds
            let bound = try RankPlanner.upperBound(ceiling: s.plan.rankCeiling, devices: budgets, load: load, gap: gap)
            log.info("rank bounded above", metadata: ["r_max": "\(bound.rank)", "binding": "\(bound.binding)"])
            let plan = try RankPlanner.plan(gap: gap, channels: h, upperBound: bound)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            let objectives = gap.beamformingObjectives(rank: plan.rank, channels: h, beamformers: plan.beamformers)
            let mse = objectives.map { noise * Double(gap.streams) * $0 }
            // The closed-form MSE per subcarrier-symbol (σ²L/η, symbol power) at every rank with the planned
            // beamformers: where an energy budget binds it grows with r.
            let mseByRank = (1...bound.rank).map { r in
                gap.beamformingObjectives(rank: r, channels: h, beamformers: plan.beamformers).map {
                    noise * Double(gap.streams) * $0
                }.reduce(0, +) / Double(h.subcarriers)
            }
            let brute = try bruteForce ? RankPlanner.bruteForce(gap: gap, channels: h, maxRank: bound.rank) : nil
            if json {
                let c = plan.components
                try printJSON(
                    PlanReport(
                        rank: plan.rank, gap: RankPlanningRecord.keyed(byRank: plan.gaps),
                        alternations: plan.alternations,
                        binding: plan.binding, upperBound: plan.upperBound,
                        components: .init(
                            rank: c.rank, contraction: c.contraction, variance: c.variance, distortion: c.distortion,
                            total: c.total),
                        ofdmSymbols: c.ofdmSymbols, adapterParameters: gap.adapter.parameters(rank: plan.rank),
                        devicePowerW: gap.devicePowers(rank: plan.rank), mseMean: mse.reduce(0, +) / Double(mse.count),
                        mseByRank: Dictionary(
                            uniqueKeysWithValues: mseByRank.enumerated().map { ("\($0.offset + 1)", $0.element) }),
                        timeMs: ms, bruteForceRank: brute?.rank,
                        bruteForceGap: brute.map { RankPlanningRecord.keyed(byRank: $0.gaps) }))
                return
            }
            print(
                "rank \(plan.rank) of at most \(plan.upperBound) (bound: \(plan.binding)), \(plan.alternations) "
                    + "alternations, \(String(format: "%.0f", ms)) ms"
            )
            let c = plan.components
            print(
                String(
                    format:
                        "G = %.5g = rank %.4g + contraction %.4g + variance %.4g + distortion %.4g; %d OFDM symbols, "
                        + "MSE mean %.3g",
                    c.total, c.rank, c.contraction, c.variance, c.distortion, c.ofdmSymbols,
                    mse.reduce(0, +) / Double(mse.count)))
            if let brute { print("brute force over every rank: \(brute.rank)") }
        }
    }
}

/// `plan --json`: the planned rank with G(r) at each rank the search visited and its parts
/// (nats/token), the bound on the rank and what set it, the round's OFDM symbols, each device's
/// transmit power in W, and the closed-form MSE per unit-power symbol at the planned rank and at
/// every rank with the planned beamformers; with `--brute-force`, the exhaustive search's answer.
struct PlanReport: Encodable {
    var rank: Int
    var gap: [String: Double]
    var alternations: Int
    var binding: String
    var upperBound: Int
    var components: Components
    var ofdmSymbols: Int
    var adapterParameters: Int
    var devicePowerW: [Double]
    var mseMean: Double
    var mseByRank: [String: Double]
    var timeMs: Double
    var bruteForceRank: Int?
    var bruteForceGap: [String: Double]?

    struct Components: Encodable {
        var rank: Double
        var contraction: Double
        var variance: Double
        var distortion: Double
        var total: Double
    }

    enum CodingKeys: String, CodingKey {
        case rank, gap, alternations, binding
        case upperBound = "upper_bound"
        case components
        case ofdmSymbols = "ofdm_symbols"
        case adapterParameters = "adapter_parameters"
        case devicePowerW = "device_power_w"
        case mseMean = "mse_mean"
        case mseByRank = "mse_by_rank"
        case timeMs = "time_ms"
        case bruteForceRank = "brute_force_rank"
        case bruteForceGap = "brute_force_gap"
    }
}
