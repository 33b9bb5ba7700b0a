import Foundation
import LanguageModel
import XCTest

@testable import BaseStation

/// `federation.kernel`: the base station's evaluation and every node's training run on the model's
/// quantized blocks (the welcome carries the choice), reproduce bit for bit, and land where the
/// float reference does. In memory, with the real firmware, on a Q8_0 tiny model.
final class QuantizedFleetTests: XCTestCase {
    struct Outcome {
        let summary: RunSummary
        let metrics: [[String: String]]
        let adapter: Data
        /// The global held-out perplexity after each evaluated round (round 0 first).
        var perplexities: [Double] {
            metrics.filter { $0["node"] == "global" }.compactMap { Double($0["heldout_perplexity"] ?? "") }
        }
        /// Each node's training loss per round, in the metrics' order.
        var trainLosses: [Double] {
            metrics.filter { $0["node"] != "global" }.compactMap { Double($0["train_loss"] ?? "") }
        }
    }

    func run(in directory: URL, kernel: String) throws -> Outcome {
        let pi4 = InMemoryFleet.profile("raspberry-pi-4")
        let pi5 = InMemoryFleet.profile("raspberry-pi-5")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var spec = TinyModelSpec()
        spec.matrixType = .q8_0
        let fleet = try InMemoryFleet(
            in: directory, nodes: [("a", pi4), ("b", pi5)], rounds: 2, federationExtra: "kernel = \"\(kernel)\"",
            model: spec)
        try fleet.startFirmware("a", profile: pi4)
        try fleet.startFirmware("b", profile: pi5)
        let summary = try fleet.run()
        return Outcome(
            summary: summary, metrics: try fleet.metrics().map { $0.filter { $0.key != "wall_s" } },
            adapter: try Data(contentsOf: directory.appendingPathComponent("results/adapter.gguf")))
    }

    func testAQuantizedRunReproducesAndLandsWhereTheFloatRunDoes() throws {
        let root = try temporaryDirectory(self)
        let quantized = try run(in: root.appendingPathComponent("quantized"), kernel: "quantized")
        let again = try run(in: root.appendingPathComponent("again"), kernel: "quantized")
        let float = try run(in: root.appendingPathComponent("float"), kernel: "float")
        XCTAssertEqual(quantized.summary.kernel, "quantized")
        XCTAssertEqual(float.summary.kernel, "float")
        XCTAssertEqual(quantized.summary.receiver, "combiner", "the air's default space, recorded")
        XCTAssertEqual(again.metrics, quantized.metrics, "a seed must reproduce on the quantized kernel")
        XCTAssertEqual(again.adapter, quantized.adapter)
        // Different arithmetic (8-bit activations): not the same bits, but the same run.
        XCTAssertNotEqual(quantized.metrics, float.metrics, "the kernel setting changed nothing")
        let q = quantized.perplexities
        let f = float.perplexities
        XCTAssertEqual(q.count, 3)
        XCTAssertEqual(q.count, f.count)
        for (a, b) in zip(q, f) {
            XCTAssertEqual(a / b, 1, accuracy: 0.01, "held-out perplexity \(a) (quantized) against \(b) (float)")
        }
        XCTAssertEqual(quantized.trainLosses.count, float.trainLosses.count)
        XCTAssertNotEqual(quantized.trainLosses, float.trainLosses, "the nodes did not train on the quantized kernel")
        for (a, b) in zip(quantized.trainLosses, float.trainLosses) {
            XCTAssertEqual(a, b, accuracy: 0.02 * abs(b), "train loss")
        }
        XCTAssertLessThan(q.last!, q.first!, "training on the quantized blocks did not lower the held-out perplexity")
    }
}
