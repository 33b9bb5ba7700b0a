import Foundation
import LanguageModel
import Radio

extension FederationServer {
    /// The LoRA rank minimising the optimality gap (docs/optimality-gap.md) for this fleet: the
    /// model's real adapter shape and size, the nodes' hardware profiles (RAM, FLOPs, airtime,
    /// power, energy), the first round's channel estimates, the scenario's `[plan]` learning
    /// constants and pilot spectrum. Chosen once, before the first round (`federation.rank_planning`).
    func planRank(channels: ChannelTensor) throws -> (rank: Int, binding: String, gap: Double) {
        let s = scenario, f = settings, c = model.config
        let targets = global.targets
        let profiles = nodes.map(\.profile)
        let gap = try makeOptimalityGap(
            scenario: s, profiles: profiles,
            adapter: AdapterShape(matrices: targets.map { $0.shape(c) }, layers: c.layers),
            subcarriers: channels.subcarriers,
            weights: shardSizes.map { Double($0) / Double(shardSizes.reduce(0, +)) })
        let file = model.file
        let activation = try TrainingMemoryPlan(gguf: file, rank: 1, targets: targets, optimizer: .adamw, context: f.ctx, mode: .streamed, runtimeBytes: 0)
        let load = TrainingLoad(baseParameters: Double(file.tensors.reduce(0) { $0 + $1.elementCount }), baseBytes: Double(file.byteCount),
                                activationBytes: Double(activation.activations + activation.weights + activation.backwardScratch),
                                localSteps: f.localSteps, tokensPerStep: f.ctx * f.batch)
        let budgets = zip(nodes, profiles).map { n, p in
            DeviceComputeBudget(name: n.name, ramBytes: p.ramBytes, flopBudgetPerRound: p.flopBudgetPerRound, airtimeBudgetS: p.airtimeBudgetS)
        }
        let bound = try RankPlanner.upperBound(ceiling: s.plan.rankCeiling, devices: budgets, load: load, gap: gap)
        let plan = try RankPlanner.plan(gap: gap, channels: channels, upperBound: bound)
        return (plan.rank, plan.binding, plan.components.total)
    }
}
