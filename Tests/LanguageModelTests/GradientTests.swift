import Foundation
import XCTest

@testable import LanguageModel

/// The LoRA gradient pass against central finite differences of the loss, on a tiny generated model,
/// computed in Double by the same generic kernels (so the check sees the production code).
final class GradientTests: XCTestCase {
    static func tinyModel(_ spec: TinyModelSpec = TinyModelSpec(), name: String = "tiny") throws -> GGUFFile {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "\(name)-\(ProcessInfo.processInfo.processIdentifier)-\(spec.seed).gguf"
        ).path
        try spec.write(to: path)
        return try GGUFFile(path: path)
    }

    /// An adapter on every projection with random (non-zero) B, so every gradient is non-zero.
    static func adapter(_ c: LlamaConfig, rank: Int = 3) -> LoRAAdapter {
        var a = LoRAAdapter(config: c, rank: rank, alpha: 2 * Float(rank), targets: LoRATarget.allCases, seed: 5)
        a.randomizeB(standardDeviation: 0.3, seed: 6)
        return a
    }

    func testLoRAGradientsMatchCentralFiniteDifferences() throws {
        var spec = TinyModelSpec()
        spec.untiedOutput = true
        let file = try Self.tinyModel(spec)
        let weights = try LlamaWeights<Double>(gguf: file)
        let adapter = Self.adapter(weights.config)
        let lora = adapter.parameters.converted(to: Double.self)
        let tokens = [256, 72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100, 33, 10, 256]
        let pass = LlamaForward(weights: weights, lora: lora, loraScale: Double(adapter.scale))
        let analytic = try pass.lossAndGradients(tokens)
        XCTAssertEqual(analytic.loss, try pass.loss(tokens), accuracy: 1e-12)

        var checked = 0
        var worst = 0.0
        let h = 1e-5
        for layer in [0, weights.config.layers - 1] {
            for target in LoRATarget.allCases {
                for matrix in ["a", "b"] {
                    let slot = try XCTUnwrap(lora.layout.slot(layer: layer, target: target))
                    let range = matrix == "a" ? slot.aRange : slot.bRange
                    let count = range.count
                    for index in [0, count / 3, count - 1] {
                        func perturbed(_ delta: Double) throws -> Double {
                            var l = lora
                            l.values[range.lowerBound + index] += delta
                            return try LlamaForward(weights: weights, lora: l, loraScale: Double(adapter.scale)).loss(
                                tokens)
                        }
                        let numeric = (try perturbed(h) - (try perturbed(-h))) / (2 * h)
                        let g = analytic.gradients
                        let exact =
                            matrix == "a"
                            ? g.a(layer: layer, target: target)[index] : g.b(layer: layer, target: target)[index]
                        let relative = abs(numeric - exact) / max(abs(numeric), abs(exact), 1e-6)
                        worst = max(worst, relative)
                        XCTAssertLessThan(
                            relative, 1e-3,
                            "layer \(layer) \(target) \(matrix)[\(index)]: analytic \(exact), numeric \(numeric)")
                        checked += 1
                    }
                }
            }
        }
        XCTAssertEqual(checked, 2 * 7 * 2 * 3)
        print("gradient check: \(checked) entries, worst relative error \(worst)")
    }

    /// Recomputation and the streamed residency change memory, not results; Float agrees with Double.
    func testMemoryModesAndFloatAgreeWithTheDoubleGradients() throws {
        let file = try Self.tinyModel(name: "tiny-modes")
        let adapter = Self.adapter(try LlamaConfig(gguf: file))
        let tokens = Array((0..<24).map { ($0 * 37 + 11) % 257 })
        let double = try LlamaWeights<Double>(gguf: file)
        let lora = adapter.parameters.converted(to: Double.self)
        let reference = try LlamaForward(weights: double, lora: lora, loraScale: Double(adapter.scale))
            .lossAndGradients(tokens)

        let policies: [ActivationPolicy] = [
            .keepAll, .recomputeAll, ActivationPolicy(recompute: true, keptLayers: 1, keepLogits: true),
            ActivationPolicy(recompute: true, keptLayers: 2, keepLogits: false),
        ]
        for residency in [WeightResidency.cached, .streamed] {
            for policy in policies {
                let model = try LlamaWeights<Float>(gguf: file, residency: residency, outputChunkRows: 100)
                let result = try LlamaForward(model: model, adapter: adapter).lossAndGradients(tokens, policy: policy)
                let recompute = "\(policy)"
                XCTAssertEqual(
                    result.loss, reference.loss, accuracy: 1e-5 * reference.loss, "\(residency), recompute \(recompute)"
                )
                var num = 0.0
                var den = 0.0
                XCTAssertEqual(result.gradients.layout, reference.gradients.layout)
                for (x, y) in zip(result.gradients.values, reference.gradients.values) {
                    num += (Double(x) - y) * (Double(x) - y)
                    den += y * y
                }
                XCTAssertLessThan(
                    (num / den).squareRoot(), 1e-4, "\(residency), \(recompute): Float gradients differ from Double")
            }
        }
    }

    /// A workspace handed from pass to pass (stale buffers from other policies and window
    /// lengths) gives exactly the gradients of a pass without one.
    func testAReusedWorkspaceGivesTheSameGradients() throws {
        let file = try Self.tinyModel(name: "tiny-workspace")
        let adapter = Self.adapter(try LlamaConfig(gguf: file))
        let model = try LlamaWeights<Float>(gguf: file, residency: .streamed, outputChunkRows: 100)
        let pass = LlamaForward(model: model, adapter: adapter)
        let workspace = GradientWorkspace<Float>()
        let policies: [ActivationPolicy] = [
            .keepAll, .recomputeAll, ActivationPolicy(recompute: true, keptLayers: 1, keepLogits: true), .keepAll,
        ]
        for (i, policy) in policies.enumerated() {
            for length in [24, 17, 24] {
                let tokens = Array((0..<length).map { ($0 * 53 + 7 * i + 1) % 257 })
                let reused = try pass.lossAndGradients(tokens, policy: policy, workspace: workspace)
                let alone = try pass.lossAndGradients(tokens, policy: policy)
                XCTAssertEqual(reused.loss, alone.loss, "\(policy), \(length) tokens")
                XCTAssertEqual(reused.gradients, alone.gradients, "\(policy), \(length) tokens")
            }
        }
        XCTAssertFalse(workspace.layers.isEmpty)
    }

    /// The streamed residency (chunked output head, per-layer dequantisation) gives the cached logits.
    func testStreamedResidencyGivesTheCachedLogProbabilities() throws {
        var spec = TinyModelSpec()
        spec.matrixType = .q8_0
        let file = try Self.tinyModel(spec, name: "tiny-q8")
        let tokens = Array((0..<40).map { ($0 * 91 + 3) % 257 })
        let cached = try LlamaForward(model: try LlamaModel(gguf: file)).logProbabilities(tokens)
        let streamed = try LlamaForward(model: try LlamaModel(gguf: file, residency: .streamed, outputChunkRows: 64))
            .logProbabilities(tokens)
        XCTAssertEqual(cached.count, 39)
        for (a, b) in zip(cached, streamed) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        let logits = try LlamaForward(model: try LlamaModel(gguf: file)).logits(tokens)
        // log p from the full logits equals the head's log p.
        let V = TinyModelSpec.vocabulary
        for t in [0, 17, 38] {
            let row = logits[(t * V)..<((t + 1) * V)].map(Double.init)
            let m = row.max()!
            let lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
            XCTAssertEqual(row[tokens[t + 1]] - lse, Double(cached[t]), accuracy: 1e-4)
        }
    }

    /// The mean loss and gradient over windows is the token-weighted mean of the windows' own, and
    /// the same bits for any number of workers.
    func testMeanLossAndGradientOverWindows() throws {
        let model = try LlamaModel(gguf: try Self.tinyModel())
        var adapter = LoRAAdapter(config: model.config, rank: 3, alpha: 6, seed: 2)
        adapter.randomizeB(standardDeviation: 0.05, seed: 3)
        let windows = [Array(2..<40), Array(50..<70), Array(90..<150)]
        let forward = try LlamaForward(model: model, adapter: adapter)
        let one = try forward.meanLossAndGradient(windows, workers: 1)
        for workers in [2, 3] {
            let many = try forward.meanLossAndGradient(windows, workers: workers)
            XCTAssertEqual(many.gradient, one.gradient)
            XCTAssertEqual(many.loss.bitPattern, one.loss.bitPattern)
        }
        let each = try windows.map { try forward.lossAndGradients($0) }
        let n = Double(each.reduce(0) { $0 + $1.scoredTokens })
        XCTAssertEqual(one.scoredTokens, 37 + 19 + 59)
        XCTAssertEqual(one.loss, each.reduce(0.0) { $0 + $1.loss * Double($1.scoredTokens) } / n, accuracy: 1e-12)
        for i in stride(from: 0, to: one.gradient.count, by: 97) {
            let expected = each.reduce(0.0) { $0 + Double($1.gradients.values[i]) * Double($1.scoredTokens) } / n
            XCTAssertEqual(one.gradient[i], expected, accuracy: 1e-9 + 1e-6 * abs(expected))
        }
    }
}
