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
        abstract: "Choose the LoRA rank and beamformers minimising the optimality gap G(r, A) (docs/optimality-gap.md).")

    @Option(help: "Scenario TOML: [channel], [aircomp], [plan], and the devices as [plan] profiles or a fleet's [[nodes]].") var scenario: String
    @Option(help: "Use these channels (.npy, (N_sc, K, N_r, N_t)) instead of drawing the scenario's.") var channels: String?
    @Flag(help: "Also evaluate every rank with its own beamformers (brute force), for comparison.") var bruteForce = false
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var logging: LogOptions

    func run() throws {
        try failing {
            let log = logging.logger("basestation.plan")
            let s = try Scenario.load(scenario)
            let devices: PlanDevices
            do { devices = try PlanDevices(scenario: s, scenarioPath: scenario, channelsPath: channels) } catch let e as ConfigurationError {
                throw ScenarioError(file: scenario, key: e.key, problem: e.problem)
            }
            let h = devices.channels, profiles = devices.profiles
            let noise = s.noisePowerW
            // A fleet's bound runs over its own rounds.
            var constants = s.plan.constants
            if !s.nodes.isEmpty { constants.rounds = s.federation.rounds }
            let gap = try makeOptimalityGap(
                scenario: s, profiles: profiles,
                adapter: AdapterShape(matrices: s.plan.adapted.map { (dIn: $0[0], dOut: $0[1]) }, layers: s.plan.layers),
                subcarriers: h.subcarriers, weights: Array(repeating: 1 / Double(h.devices), count: h.devices), constants: constants,
                symbolPower: s.plan.symbolPower)
            let load = TrainingLoad(baseParameters: s.plan.baseParameters, baseBytes: s.plan.baseBytes, activationBytes: s.plan.activationBytes,
                                    localSteps: s.plan.localSteps, tokensPerStep: s.plan.tokensPerStep)
            let budgets = zip(devices.names, profiles).map { name, p in
                DeviceComputeBudget(name: name, ramBytes: p.ramBytes, flopBudgetPerRound: p.flopBudgetPerRound, airtimeBudgetS: p.airtimeBudgetS)
            }
            let start = DispatchTime.now().uptimeNanoseconds
            let bound = try RankPlanner.upperBound(ceiling: s.plan.rankCeiling, devices: budgets, load: load, gap: gap)
            log.info("rank bounded above", metadata: ["r_max": "\(bound.rank)", "binding": "\(bound.binding)"])
            let plan = try RankPlanner.plan(gap: gap, channels: h, upperBound: bound)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            let objectives = gap.beamformingObjectives(rank: plan.rank, channels: h, beamformers: plan.beamformers)
            let mse = objectives.map { noise * Double(gap.streams) * $0 }
            var object: [String: Any] = [
                "rank": plan.rank,
                "gap": Dictionary(uniqueKeysWithValues: plan.gaps.map { ("\($0.key)", $0.value) }),
                "alternations": plan.alternations,
                "binding": plan.binding,
                "upper_bound": plan.upperBound,
                "components": ["rank": plan.components.rank, "contraction": plan.components.contraction,
                               "variance": plan.components.variance, "distortion": plan.components.distortion,
                               "total": plan.components.total],
                "ofdm_symbols": plan.components.ofdmSymbols,
                "adapter_parameters": gap.adapter.parameters(rank: plan.rank),
                "device_power_w": gap.devicePowers(rank: plan.rank),
                "mse_mean": mse.reduce(0, +) / Double(mse.count),
                // The closed-form MSE per subcarrier-symbol (σ²L/η, symbol power) at every rank with the planned
                // beamformers: where an energy budget binds it grows with r.
                "mse_by_rank": Dictionary(uniqueKeysWithValues: (1...bound.rank).map { r in
                    ("\(r)", gap.beamformingObjectives(rank: r, channels: h, beamformers: plan.beamformers).map { noise * Double(gap.streams) * $0 }
                        .reduce(0, +) / Double(h.subcarriers))
                }),
                "time_ms": ms,
            ]
            if bruteForce {
                let brute = try RankPlanner.bruteForce(gap: gap, channels: h, maxRank: bound.rank)
                object["brute_force_rank"] = brute.rank
                object["brute_force_gap"] = Dictionary(uniqueKeysWithValues: brute.gaps.map { ("\($0.key)", $0.value) })
            }
            if json { try printJSON(object); return }
            print("rank \(plan.rank) of at most \(plan.upperBound) (bound: \(plan.binding)), \(plan.alternations) alternations, \(String(format: "%.0f", ms)) ms")
            let c = plan.components
            print(String(format: "G = %.5g = rank %.4g + contraction %.4g + variance %.4g + distortion %.4g; %d OFDM symbols, MSE mean %.3g",
                         c.total, c.rank, c.contraction, c.variance, c.distortion, c.ofdmSymbols, mse.reduce(0, +) / Double(mse.count)))
            if let b = object["brute_force_rank"] { print("brute force over every rank: \(b)") }
        }
    }
}
