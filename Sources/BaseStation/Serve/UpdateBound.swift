import Foundation
import LanguageModel

/// The largest update ‖Δ‖² a node's local training can produce in a round, from what the base
/// station itself dictates (the optimiser, learning rate, clipping, weight decay and local steps of
/// its welcome) and the global adapter it sent: a report above it is a lie or a fault, and the
/// node is left out of the round. Without it, one node reporting ‖Δ‖² = 1e60 set the round's
/// common scale c (ResourceGrid.commonScale takes the largest report), every honest update
/// quantised to nothing, and the liar's symbols, reconstructed × c, drove the adapter to 1e27.
///
/// The bounds, per local step, for θ the adapter (|θ| ≤ θ_max elementwise, ‖θ‖ its norm):
///
///     AdamW   |Δθ_i| ≤ lr · (b + λ·θ_max),  b = (1 − β₁) / (√(1 − β₂) · (1 − β₁/√β₂))  (≈ 31.8)
///     SGD     ‖Δθ‖ ≤ lr · (clip + λ·‖θ‖)    (clip > 0; without clipping there is no bound)
///
/// (AdamW: |m_t| ≤ (1 − β₁) Σ_k β₁^k |g_{t−k}| and √v_t ≥ √(1 − β₂) β₂^{k/2} |g_{t−k}| for every k,
/// and the bias corrections √(1 − β₂^t)/(1 − β₁^t) ≤ 1.) θ grows by at most one step's bound per
/// step, which the sum over the steps accounts for. Honest updates sit one to two orders of
/// magnitude below (Adam's steps are ≈ lr per element), so the bound still lets a liar raise c
/// that far: it limits the damage to a bounded, finite perturbation, not to none.
enum UpdateBound {
    static func maximumEnergy(
        optimizer: OptimizerKind, learningRate: Double, clip: Double, weightDecay: Double, steps: Int,
        adapter: [Float]
    ) -> Double {
        let lr = learningRate
        let lambda = weightDecay
        let d = Double(adapter.count)
        switch optimizer {
        case .adamw:
            let b1 = 0.9
            let b2 = 0.999
            let b = (1 - b1) / ((1 - b2).squareRoot() * (1 - b1 / b2.squareRoot()))
            var theta = Double(adapter.reduce(Float(0)) { max($0, abs($1)) })
            var drift = 0.0
            for _ in 0..<max(1, steps) {
                let step = lr * (b + lambda * theta)
                drift += step
                theta += step
            }
            return d * drift * drift
        case .sgd:
            guard clip > 0 else { return .infinity }
            var theta = adapter.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            var drift = 0.0
            for _ in 0..<max(1, steps) {
                let step = lr * (clip + lambda * theta)
                drift += step
                theta += step
            }
            return drift * drift
        }
    }
}
