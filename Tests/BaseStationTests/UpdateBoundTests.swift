import Foundation
import LanguageModel
import Randomness
import XCTest

@testable import BaseStation

/// The round's update bound against the real optimiser: never exceeded by AdamW from fresh
/// moments (random gradients, any clipping, weight decay, the schedule's peak), and reached within
/// a hair by the gradients Cauchy–Schwarz says are worst; an honest-looking update is not one or
/// two orders below it any more.
final class UpdateBoundTests: XCTestCase {
    func adapter(seed: UInt64) throws -> LoRAAdapter {
        var spec = TinyModelSpec()
        spec.layers = 1
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "bound-\(ProcessInfo.processInfo.processIdentifier).gguf"
        ).path
        if !FileManager.default.fileExists(atPath: path) { try spec.write(to: path) }
        var a = LoRAAdapter(
            config: try LlamaConfig(gguf: try GGUFFile(path: path)), rank: 2, alpha: 4, targets: [.q, .v], seed: seed)
        a.randomizeB(standardDeviation: 0.05, seed: seed + 1)
        return a
    }

    func settings(lr: Float, decay: Float, clip: Float) -> OptimizerSettings {
        var s = OptimizerSettings()
        s.learningRate = lr
        s.weightDecay = decay
        s.clipNorm = clip
        return s
    }

    /// ‖Δ‖² of `steps` AdamW steps from fresh moments under `gradient(step, index)`.
    func energy(_ start: LoRAAdapter, _ s: OptimizerSettings, steps: Int, gradient: (Int, Int) -> Float) throws
        -> Double
    {
        var optimizer = LoRAOptimizer(s)
        var a = start
        for t in 1...steps {
            let g = try LoRAParameters<Float>(
                layout: a.layout, values: (0..<a.parameterCount).map { gradient(t, $0) })
            try optimizer.step(&a, gradients: g)
        }
        return zip(a.flattened(), start.flattened()).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
    }

    func testAdamWNeverExceedsTheBoundAndTheWorstGradientsReachIt() throws {
        var rng = SeededGenerator(seed: 7, stream: [1])
        for trial in 0..<40 {
            let start = try adapter(seed: UInt64(trial))
            let steps = 1 + trial % 6
            let s = settings(
                lr: [1e-3, 1e-2, 0.5][trial % 3], decay: [0, 0.01, 0.3][trial % 3], clip: [0, 1][trial % 2])
            let bound = UpdateBound.maximumEnergy(
                optimizer: .adamw, learningRate: Double(s.learningRate), clip: Double(s.clipNorm),
                weightDecay: Double(s.weightDecay), steps: steps, adapter: start.flattened())
            // Heavy-tailed gradients, signs and scales changing from step to step.
            let scales = (0..<steps).map { _ in Float(exp(4 * rng.normal())) }
            let random = try energy(start, s, steps: steps) { t, _ in Float(rng.normal()) * scales[t - 1] }
            XCTAssertLessThanOrEqual(random, bound, "trial \(trial)")
            // Worst case: every coordinate's gradient ∝ a_k/c_k of the last step (sign fixed), no decay.
            let t = Double(steps)
            let worst = try energy(start, settings(lr: s.learningRate, decay: 0, clip: 0), steps: steps) { k, _ in
                Float(pow(0.9 / 0.999, t - Double(k)) * 1e-2)
            }
            let noDecayBound = UpdateBound.maximumEnergy(
                optimizer: .adamw, learningRate: Double(s.learningRate), clip: 0, weightDecay: 0, steps: steps,
                adapter: start.flattened())
            XCTAssertLessThanOrEqual(worst, noDecayBound)
            XCTAssertGreaterThan(worst, noDecayBound * 0.99, "the bound is reached (trial \(trial))")
        }
    }

    /// The closed form of B_t against its sum, and the values the doc comment quotes.
    func testTheStepBoundsClosedForm() {
        for t in [1, 2, 4, 10, 100] {
            let c1 = 1 - pow(0.9, Double(t))
            let c2 = 1 - pow(0.999, Double(t))
            let sum = (1...t).reduce(0.0) { s, k in
                let a = 0.1 * pow(0.9, Double(t - k)) / c1
                return s + a * a / (0.001 * pow(0.999, Double(t - k)) / c2)
            }
            XCTAssertEqual(
                UpdateBound.adamStepBound(step: t, beta1: 0.9, beta2: 0.999), sum.squareRoot(), accuracy: 1e-9)
        }
        XCTAssertEqual(UpdateBound.adamStepBound(step: 1, beta1: 0.9, beta2: 0.999), 1, accuracy: 1e-12)
        XCTAssertEqual(UpdateBound.adamStepBound(step: 100_000, beta1: 0.9, beta2: 0.999), 7.27, accuracy: 0.01)
    }
}
