import Foundation
import LanguageModel

/// The largest update ‖Δ‖² a node's local training can produce in a round, from what the base
/// station itself dictates (the optimiser, learning rate, clipping, weight decay and local steps of
/// its welcome) and the global adapter it sent: a report above it is a lie or a fault, and the
/// node is left out of the round. Without it, one node reporting ‖Δ‖² = 1e60 set the round's
/// common scale c (ResourceGrid.commonScale takes the largest report), every honest update
/// quantised to nothing, and the liar's symbols, reconstructed × c, drove the adapter to 1e27.
///
/// AdamW, per coordinate. A node's optimiser starts each round afresh (m₀ = v₀ = 0) and its steps
/// are bias-corrected: after t steps m̂_t = Σ_k a_k g_k and v̂_t = Σ_k c_k g_k² with
/// a_k = (1 − β₁)β₁^{t−k}/(1 − β₁^t), c_k = (1 − β₂)β₂^{t−k}/(1 − β₂^t), so by Cauchy–Schwarz
///
///     |m̂_t| / √v̂_t ≤ B_t = √(Σ_{k≤t} a_k²/c_k)      (B₁ = 1, B₄ ≈ 1.006, B_∞ ≈ 7.3 at 0.9, 0.999)
///
/// whatever the gradients (clipping scales m and √v alike; ε only shrinks the step), and the bound
/// is reached by gradients ∝ a_k/c_k. With decoupled weight decay a step is
/// θ_t = (1 − lr·λ)θ_{t−1} − lr_t·u_t with |u_t| ≤ B_t and lr_t ≤ lr (the schedule's peak), so
/// |Δθ_i| ≤ α·|θ_i| + β after T steps, α and β from that recursion, and
///
///     ‖Δ‖² ≤ Σ_i (α|θ_i| + β)² = α²‖θ‖² + 2αβ‖θ‖₁ + D·β²
///
/// An honest first step moves every coordinate with a gradient by exactly lr (sign(g)), so an
/// honest update of T steps whose gradients keep their signs reaches ≈ this bound: a node that
/// lies within it can claim at most about what an honest node can deliver, not one or two orders
/// more (the loose bound of the worst case over arbitrary optimiser states did allow that).
///
/// SGD: ‖Δθ‖ ≤ lr·(clip + λ·‖θ‖) per step (clip > 0; without clipping there is no bound).
enum UpdateBound {
    /// Relative headroom for the node's Float32 arithmetic (its steps are computed in Float; the
    /// bound in Double).
    static let roundingHeadroom = 1e-3

    static func maximumEnergy(
        optimizer: OptimizerKind, learningRate: Double, clip: Double, weightDecay: Double, steps: Int,
        adapter: [Float], beta1: Double = 0.9, beta2: Double = 0.999
    ) -> Double {
        let lr = learningRate
        let lambda = weightDecay
        let t = max(1, steps)
        switch optimizer {
        case .adamw:
            // |θ_t| ≤ |1 − lr·λ|·|θ_{t−1}| + lr·B_t, and |Δθ| ≤ Σ_t (lr·λ·|θ_{t−1}| + lr·B_t): linear in |θ_0|.
            var alpha = 0.0 // the part from |θ_0| = 1
            var beta = 0.0 // the part from the steps
            var grow = 1.0 // |θ_t| bound per unit |θ_0|
            var carry = 0.0 // |θ_t| bound from the steps
            for step in 1...t {
                let b = adamStepBound(step: step, beta1: beta1, beta2: beta2)
                alpha += lr * lambda * grow
                beta += lr * lambda * carry + lr * b
                grow *= abs(1 - lr * lambda)
                carry = abs(1 - lr * lambda) * carry + lr * b
            }
            var l1 = 0.0
            var l2 = 0.0
            for v in adapter {
                l1 += Double(abs(v))
                l2 += Double(v) * Double(v)
            }
            let energy = alpha * alpha * l2 + 2 * alpha * beta * l1 + Double(adapter.count) * beta * beta
            return energy * (1 + roundingHeadroom)
        case .sgd:
            guard clip > 0 else { return .infinity }
            var theta = adapter.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            var drift = 0.0
            for _ in 0..<t {
                let step = lr * (clip + lambda * theta)
                drift += step
                theta += step
            }
            return drift * drift * (1 + roundingHeadroom)
        }
    }

    /// B_t: the largest |m̂_t|/√v̂_t bias-corrected Adam can reach at its t-th step from zero moments,
    /// in closed form: Σ_k a_k²/c_k = (1 − β₁)²/(1 − β₁^t)² · (1 − β₂^t)/(1 − β₂) · Σ_{j<t} (β₁²/β₂)^j.
    static func adamStepBound(step t: Int, beta1: Double, beta2: Double) -> Double {
        let r = beta1 * beta1 / beta2
        let geometric = r == 1 ? Double(t) : (1 - pow(r, Double(t))) / (1 - r)
        let c1 = 1 - pow(beta1, Double(t))
        let c2 = 1 - pow(beta2, Double(t))
        return (1 - beta1) / c1 * (c2 / (1 - beta2) * geometric).squareRoot()
    }
}
