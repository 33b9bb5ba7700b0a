import CQuantizedKernels
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
            let nf = gf.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let nq = gq.reduce(0) { $0 + $1 * $1 }.squareRoot()
            let difference = zip(gf, gq).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
            print(
                String(
                    format: "quantized gradient (untied %@): cosine %.5f, relative error %.4f, loss %.5f against %.5f",
                    "\(untied)",
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
            XCTAssertEqual(
                pq.perplexity / pf.perplexity, 1, accuracy: 0.01,
                "\(type.name): \(pq.perplexity) against \(pf.perplexity)")
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
        let plan = try TrainingMemoryPlan(
            gguf: file, rank: 2, targets: [.q], optimizer: .adamw, context: 32, mode: .cached, kernel: .quantized)
        let float = try TrainingMemoryPlan(
            gguf: file, rank: 2, targets: [.q], optimizer: .adamw, context: 32, mode: .cached)
        XCTAssertEqual(plan.kernel, .quantized)
        XCTAssertEqual(float.kernel, .float)
        let model = try LlamaModel(gguf: file, kernel: plan.kernel)
        XCTAssertEqual(plan.weights, model.residentWeightBytes)
        XCTAssertEqual(plan.mappedModel, model.mappedResidentBytes)
        let streamed = try TrainingMemoryPlan(
            gguf: file, rank: 2, targets: [.q], optimizer: .adamw, context: 32, mode: .streamed, kernel: .quantized)
        XCTAssertEqual(streamed.kernel, .quantized)
        let streamedModel = try LlamaModel(gguf: file, residency: .streamed, kernel: streamed.kernel)
        XCTAssertEqual(streamed.weights, streamedModel.residentWeightBytes)
        XCTAssertLessThan(
            streamed.weights,
            try TrainingMemoryPlan(gguf: file, rank: 2, targets: [.q], optimizer: .adamw, context: 32, mode: .streamed)
                .weights,
            "a layer's transposes and one matrix's Floats are less than a Float layer")
    }

    /// The streamed residency on blocks: each layer read in place and its transposes made only for
    /// the backward give the cached residency's bits on blocks for every activation policy the
    /// streamed plans use, when the head is one chunk as there; in chunks of 64 rows (the head's
    /// log-sum-exp rounded otherwise, and the 8-bit gradients after it) to a fraction of a percent.
    func testStreamedResidencyOnBlocksGivesTheCachedResult() throws {
        var spec = TinyModelSpec()
        spec.matrixType = .q8_0
        let file = try GradientTests.tinyModel(spec, name: "tiny-streamed-blocks")
        let cached = try LlamaModel(gguf: file, kernel: .quantized)
        let adapter = GradientTests.adapter(cached.config)
        let tokens = (0..<80).map { ($0 * 53 + 5) % 256 }
        let reference = try LlamaForward(model: cached, adapter: adapter)
        let expected = try reference.lossAndGradients(tokens)
        let policies = [
            ActivationPolicy.keepAll, ActivationPolicy(recompute: true, keptLayers: 0, keepLogits: false),
            ActivationPolicy(recompute: true, keptLayers: 1, keepLogits: true),
        ]
        for chunk in [TinyModelSpec.vocabulary, 64] {
            let streamed = try LlamaModel(gguf: file, residency: .streamed, outputChunkRows: chunk, kernel: .quantized)
            XCTAssertEqual(streamed.kernel, .quantized)
            XCTAssertEqual(streamed.mappedResidentBytes, 0, "a streamed layer's pages are released behind it")
            let forward = try LlamaForward(model: streamed, adapter: adapter)
            let (a, b) = (try reference.logProbabilities(tokens), try forward.logProbabilities(tokens))
            if chunk == TinyModelSpec.vocabulary { XCTAssertEqual(a, b) }
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-4) }
            for policy in policies {
                let got = try forward.lossAndGradients(tokens, policy: policy)
                if chunk == TinyModelSpec.vocabulary {
                    XCTAssertEqual(got.loss, expected.loss, "\(policy)")
                    XCTAssertEqual(got.gradients, expected.gradients, "\(policy)")
                }
                XCTAssertEqual(got.loss, expected.loss, accuracy: 1e-5 * expected.loss, "\(policy), chunks of \(chunk)")
                let g = got.gradients.values.map(Double.init)
                let r = expected.gradients.values.map(Double.init)
                let difference = zip(g, r).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
                XCTAssertLessThan(
                    difference / r.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-2, "\(policy), chunks of \(chunk)")
            }
        }
    }

    /// A transpose made band by band from 32 dequantised rows at a time is the whole matrix's
    /// transpose byte for byte (what the cached residency made before, and so every seeded run): on
    /// the tiny Q8_0 model and on SmolLM2's Q4_1 layers and Q8_0 head.
    func testTransposeByBandsIsTheWholeMatrixTranspose() throws {
        var spec = TinyModelSpec()
        spec.matrixType = .q8_0
        let tiny = try GradientTests.tinyModel(spec, name: "tiny-bands")
        let smol = try GGUFFile(path: SharedModel.path)
        for (file, name) in [
            (tiny, "blk.0.ffn_down.weight"), (tiny, "blk.1.attn_k.weight"), (smol, "blk.3.ffn_down.weight"),
            (smol, "blk.0.attn_q.weight"), (smol, "token_embd.weight"),
        ] {
            let info = try XCTUnwrap(file.tensor(name))
            let banded = try QuantizedMatrix.transposed(file, info)
            let (rows, inner) = (info.dims[1], info.dims[0])
            var whole = [UInt8](repeating: 0, count: inner * rows / 32 * 34)
            try file.floats(name).withUnsafeBufferPointer {
                qk_quantize_q8_0_transposed($0.baseAddress!, Int32(rows), Int32(inner), &whole)
            }
            let got = UnsafeBufferPointer(start: banded.base.assumingMemoryBound(to: UInt8.self), count: whole.count)
            XCTAssertTrue(got.elementsEqual(whole), "\(info.type.name) \(name)")
        }
    }
}
