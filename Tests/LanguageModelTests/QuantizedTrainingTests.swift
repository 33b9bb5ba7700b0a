import Foundation
import XCTest

@testable import LanguageModel

/// The quantized kernel in a whole pass: a model whose layers it takes runs its forward on the
/// blocks and its backward on Q8_0 transposes, with no Float copy of the layers, and lands where the
/// Float path lands (losses within 1 %, the LoRA gradient within a few percent and pointing the
/// same way: 8-bit activations and gradients, not a different function).
final class QuantizedTrainingTests: XCTestCase {
    func models(_ type: TensorType, untied: Bool = false) throws -> (float: LlamaModel, quantized: LlamaModel) {
        var spec = TinyModelSpec()
        spec.matrixType = type
        spec.untiedOutput = untied
        let file = try GradientTests.tinyModel(spec, name: "tiny-\(type.name)-\(untied)")
        return (try LlamaModel(gguf: file, kernel: .float), try LlamaModel(gguf: file, kernel: .quantized))
    }

    func testGradientsFollowTheFloatPath() throws {
        for untied in [false, true] {
            let (float, quantized) = try models(.q8_0, untied: untied)
            XCTAssertEqual(float.kernel, .float)
            XCTAssertEqual(quantized.kernel, .quantized)
            // No Float layer matrices: only the norms (and the head, whose vocabulary of 257 is not whole blocks).
            XCTAssertLessThan(quantized.residentWeightBytes, float.residentWeightBytes / 2)
            XCTAssertNil(quantized.outputBlocks, "257 rows of the head are not whole blocks: the head stays Float")
            let adapter = GradientTests.adapter(float.config)
            let tokens = (0..<96).map { ($0 * 37 + 11) % 256 }
            let f = try LlamaForward(model: float, adapter: adapter).lossAndGradients(tokens)
            let q = try LlamaForward(model: quantized, adapter: adapter).lossAndGradients(tokens)
            XCTAssertEqual(q.loss / f.loss, 1, accuracy: 0.01, "loss \(q.loss) against \(f.loss)")
            let (gf, gq) = (f.gradients.values.map(Double.init), q.gradients.values.map(Double.init))
            let dot = zip(gf, gq).reduce(0) { $0 + $1.0 * $1.1 }
            let nf = gf.reduce(0) { $0 + $1 * $1 }.squareRoot(), nq = gq.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let difference = zip(gf, gq).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
            print(String(format: "quantized gradient (untied %@): cosine %.5f, relative error %.4f, loss %.5f against %.5f", "\(untied)",
                         dot / (nf * nq), difference / nf, q.loss, f.loss))
            XCTAssertGreaterThan(dot / (nf * nq), 0.995, "cosine of the two gradients (untied \(untied))")
            XCTAssertLessThan(difference / nf, 0.05, "relative gradient error (untied \(untied))")
        }
    }

    func testEveryBlockTypeRunsAndPerplexityFollowsTheFloatPath() throws {
        for type in [TensorType.q8_0, .f32] {
            let (float, quantized) = try models(type)
            XCTAssertEqual(quantized.kernel, type == .f32 ? .float : .quantized, "F32 layers stay on sgemm")
            let tokens = (0..<200).map { ($0 * 91 + 7) % 256 }
            let pf = try LlamaForward(model: float).perplexity(tokens: tokens, context: 64)
            let pq = try LlamaForward(model: quantized).perplexity(tokens: tokens, context: 64)
            XCTAssertEqual(pq.perplexity / pf.perplexity, 1, accuracy: 0.01, "\(type.name): \(pq.perplexity) against \(pf.perplexity)")
            // The same bits with windows side by side (each on one thread) as one at a time.
            let parallel = try LlamaForward(model: quantized).perplexity(tokens: tokens, context: 64, workers: 2)
            XCTAssertEqual(parallel.logProbabilities, pq.logProbabilities)
        }
    }

    /// The plan counts what the quantized kernel holds: the transposes and the mapped blocks.
    func testMemoryPlanCountsTheQuantizedWeights() throws {
        var spec = TinyModelSpec()
        spec.matrixType = .q8_0
        let file = try GradientTests.tinyModel(spec, name: "tiny-plan")
        let plan = try TrainingMemoryPlan(gguf: file, rank: 2, targets: [.q], optimizer: .adamw, context: 32, mode: .cached, kernel: .quantized)
        let float = try TrainingMemoryPlan(gguf: file, rank: 2, targets: [.q], optimizer: .adamw, context: 32, mode: .cached)
        XCTAssertEqual(plan.kernel, .quantized)
        XCTAssertEqual(float.kernel, .float)
        let model = try LlamaModel(gguf: file, kernel: plan.kernel)
        XCTAssertEqual(plan.weights, model.residentWeightBytes)
        XCTAssertEqual(plan.mappedModel, model.mappedResidentBytes)
        XCTAssertEqual(try TrainingMemoryPlan(gguf: file, rank: 2, targets: [.q], optimizer: .adamw, context: 32, mode: .streamed, kernel: .quantized).kernel,
                       .float, "the streamed mode stays Float")
    }
}
