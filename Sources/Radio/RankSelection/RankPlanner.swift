import Foundation
import LinearAlgebra

/// What one device can afford per round (from its hardware profile).
public struct DeviceComputeBudget: Sendable, Equatable {
    public var name: String
    /// RAM budget in bytes.
    public var ramBytes: Double
    /// FLOPs the device may spend on local training per round.
    public var flopBudgetPerRound: Double
    /// Airtime the round allows for the upload, seconds.
    public var airtimeBudgetS: Double
    public init(name: String, ramBytes: Double, flopBudgetPerRound: Double, airtimeBudgetS: Double) {
        self.name = name
        self.ramBytes = ramBytes
        self.flopBudgetPerRound = flopBudgetPerRound
        self.airtimeBudgetS = airtimeBudgetS
    }
}

/// What local training costs apart from the adapter (docs/optimality-gap.md, "Upper bounds on r").
public struct TrainingLoad: Sendable, Equatable {
    /// N_base, parameters of the frozen base model.
    public var baseParameters: Double
    /// Bytes of the (quantised) base weights in RAM.
    public var baseBytes: Double
    /// Bytes of activations and working buffers.
    public var activationBytes: Double
    /// Local steps per round and tokens per step.
    public var localSteps: Int
    public var tokensPerStep: Int
    public init(baseParameters: Double, baseBytes: Double, activationBytes: Double, localSteps: Int, tokensPerStep: Int)
    {
        self.baseParameters = baseParameters
        self.baseBytes = baseBytes
        self.activationBytes = activationBytes
        self.localSteps = localSteps
        self.tokensPerStep = tokensPerStep
    }
}

/// A budget that no rank r ≥ 1 fits, named with what is needed and what is available.
public struct RankInfeasibleError: Error, Equatable, CustomStringConvertible {
    public var budget: String
    public var device: String
    public var needed: Double
    public var available: Double
    public var unit: String
    public var description: String {
        "device \(device): the \(budget) budget cannot fit rank 1: needs \(format(needed)) \(unit), has "
            + "\(format(available)) \(unit)"
    }
    private func format(_ v: Double) -> String { String(format: "%.4g", v) }
}

/// The rank and beamformers chosen, with the evidence.
public struct RankPlan: Sendable {
    public var rank: Int
    /// G(r) for every rank evaluated (with the beamformers current at that moment).
    public var gaps: [Int: Double]
    public var components: GapComponents
    public var alternations: Int
    /// The constraint that bounded r from above: "memory (device …)", "compute (…)", "latency (…)", or "none".
    public var binding: String
    public var upperBound: Int
    public var beamformers: [ComplexMatrix<Double>]
}

public enum RankPlanner {
    /// Sufficient-decrease constant of the r-step.
    public static let sufficientDecrease = 1e-4

    /// The largest rank ≤ `ceiling` every device can afford, and which budget stopped it.
    public static func upperBound(ceiling: Int, devices: [DeviceComputeBudget], load: TrainingLoad, gap: OptimalityGap)
        throws -> (rank: Int, binding: String)
    {
        var bound = ceiling
        var binding = "none"
        let width = Double(gap.adapter.widthSum)
        let tokens = Double(load.localSteps * load.tokensPerStep)
        for d in devices {
            // Memory: base + activations + 16 bytes per adapter real (weight, gradient, two AdamW moments).
            let free = d.ramBytes - load.baseBytes - load.activationBytes
            let memoryRank = Int((free / (16 * width)).rounded(.down))
            if memoryRank < 1 {
                throw RankInfeasibleError(
                    budget: "memory", device: d.name, needed: load.baseBytes + load.activationBytes + 16 * width,
                    available: d.ramBytes, unit: "bytes")
            }
            // Compute: steps · tokens · 6 (N_base + D(r)) FLOPs.
            let computeRank = Int(((d.flopBudgetPerRound / tokens / 6 - load.baseParameters) / width).rounded(.down))
            if computeRank < 1 {
                throw RankInfeasibleError(
                    budget: "FLOP", device: d.name, needed: tokens * 6 * (load.baseParameters + width),
                    available: d.flopBudgetPerRound, unit: "FLOPs per round")
            }
            // Latency: S(r) T_sym ≤ airtime ⇔ D(r) ≤ 2 L N_sc ⌊airtime / T_sym⌋.
            let symbols = (d.airtimeBudgetS / gap.uplink.symbolDurationS).rounded(.down)
            let latencyRank = Int((2 * Double(gap.streams * gap.subcarriers) * symbols / width).rounded(.down))
            if latencyRank < 1 {
                throw RankInfeasibleError(
                    budget: "latency", device: d.name,
                    needed: Double(gap.ofdmSymbols(rank: 1)) * gap.uplink.symbolDurationS, available: d.airtimeBudgetS,
                    unit: "s of airtime")
            }
            for (rank, name) in [(memoryRank, "memory"), (computeRank, "compute"), (latencyRank, "latency")]
            where rank < bound {
                bound = rank
                binding = "\(name) (device \(d.name))"
            }
        }
        return (bound, binding)
    }

    /// Manifold beamformers for the powers of rank r.
    static func beamformers(
        _ gap: OptimalityGap, rank r: Int, channels: ChannelTensor, options: ManifoldSolverOptions,
        warm: [ComplexMatrix<Double>]?
    ) throws -> [ComplexMatrix<Double>] {
        try ReceiveBeamformer.solve(
            channels: channels, streams: gap.streams, powerW: gap.devicePowers(rank: r), weights: gap.weights,
            method: .manifold,
            options: options, warmStart: warm
        ).beamformers
    }

    /// The backtracking-based alternating algorithm (docs/optimality-gap.md, "The algorithm").
    ///
    /// Start: the best of r = 1, 2, 4, …, r_max, each with its own beamformers. A-step: manifold
    /// beamformers for the powers of the current r. r-step: compare G at r ± 1; move towards the smaller with the
    /// largest step s (half the room left, halved while it fails) that passes the sufficient-decrease
    /// test G(r ± s) ≤ G(r) − c·s·(G(r) − G(r ± 1)); repeat until neither neighbour is better. It
    /// stops when neither step moves; the last check solves the neighbours' own beamformers, so the
    /// answer is a discrete local minimum of r ↦ G(r, A*(r)) — the global one when that is unimodal.
    public static func plan(
        gap: OptimalityGap, channels: ChannelTensor, upperBound: (rank: Int, binding: String),
        options: ManifoldSolverOptions = ManifoldSolverOptions()
    ) throws -> RankPlan {
        let top = upperBound.rank
        var gaps = [Int: Double]()
        var alternations = 0
        func g(_ rank: Int, _ beams: [ComplexMatrix<Double>]) -> Double {
            let value = gap.evaluate(rank: rank, channels: channels, beamformers: beams).total
            gaps[rank] = value
            return value
        }
        // Start from the best of the geometric grid 1, 2, 4, …, r_max, each with its own
        // beamformers: near r_max G can be flat to within the sufficient-decrease margin while its
        // minimum lies far below (low SNR: the distortion term rises with r), where a search from
        // r_max alone would stop at once.
        var r = top
        var a = try beamformers(gap, rank: top, channels: channels, options: options, warm: nil)
        var best = g(top, a)
        var grid = [best]
        for rank in sequence(first: 1, next: { $0 * 2 }).prefix(while: { $0 < top }) {
            let beams = try beamformers(gap, rank: rank, channels: channels, options: options, warm: a)
            let value = g(rank, beams)
            grid.append(value)
            if value < best { (r, a, best) = (rank, beams, value) }
        }
        // The margin a neighbour must beat is relative to how much G varies over the ranks, not to
        // G itself: its rank-independent terms (the contraction of Δ₀, the variance) can be 99.9 % of
        // it (launch/scenarios/paper.toml), and a margin of c·|G| then exceeds every difference
        // between neighbouring ranks, so the search could not leave the grid's best.
        // Never below a few ulps of G, so a flat G stops the search rather than letting it wander.
        let margin = max(sufficientDecrease * (grid.max()! - grid.min()!), 4 * best.ulp)
        while alternations < 64 {
            alternations += 1
            // r-step.
            var moved = false
            // Each move strictly lowers G by more than the margin, so at most r_max of them.
            for _ in 0..<top {
                let here = g(r, a)
                let down = r > 1 ? g(r - 1, a) : .infinity
                let up = r < top ? g(r + 1, a) : .infinity
                let threshold = here - margin
                guard min(down, up) <= threshold else { break }
                let direction = down <= up ? -1 : 1
                let decrease = here - min(down, up)
                var step = max(1, ((direction < 0 ? r - 1 : top - r) + 1) / 2)
                while step > 1, g(r + direction * step, a) > here - sufficientDecrease * Double(step) * decrease {
                    step /= 2
                }
                r += direction * step
                moved = true
            }
            if moved {
                // A-step at the new rank, warm-started from the last beamformers.
                a = try beamformers(gap, rank: r, channels: channels, options: options, warm: a)
                continue
            }
            // Neither moved with the current A: confirm against the neighbours' own beamformers.
            let here = g(r, a)
            var better: (rank: Int, beams: [ComplexMatrix<Double>], value: Double)? = nil
            for n in [r - 1, r + 1] where n >= 1 && n <= top {
                let beams = try beamformers(gap, rank: n, channels: channels, options: options, warm: a)
                let value = gap.evaluate(rank: n, channels: channels, beamformers: beams).total
                if value <= here - margin, value < (better?.value ?? .infinity) { better = (n, beams, value) }
            }
            guard let b = better else { break }
            r = b.rank
            a = b.beams
        }
        let components = gap.evaluate(rank: r, channels: channels, beamformers: a)
        gaps[r] = components.total
        return RankPlan(
            rank: r, gaps: gaps, components: components, alternations: alternations, binding: upperBound.binding,
            upperBound: top, beamformers: a)
    }

    /// min over r = 1…maxRank of G(r, A*(r)), every rank with its own manifold solve.
    public static func bruteForce(
        gap: OptimalityGap, channels: ChannelTensor, maxRank: Int,
        options: ManifoldSolverOptions = ManifoldSolverOptions()
    ) throws -> (rank: Int, gaps: [Int: Double]) {
        var gaps = [Int: Double]()
        for r in 1...maxRank {
            let a = try beamformers(gap, rank: r, channels: channels, options: options, warm: nil)
            gaps[r] = gap.evaluate(rank: r, channels: channels, beamformers: a).total
        }
        let best = gaps.min { $0.value < $1.value || ($0.value == $1.value && $0.key < $1.key) }!
        return (best.key, gaps)
    }
}
