import Foundation
import XCTest

@testable import LanguageModel

/// The adapter's one flat buffer: its layout, the wire order, the initialiser a node uses, and a
/// GGUF adapter that leaves pairs out.
final class LoRALayoutTests: XCTestCase {
    /// The offsets the layout's doc comment lists for SmolLM2 at r = 8 on q, k, v, o.
    func testSmolLM2OffsetsAreTheDocumentedOnes() throws {
        let config = try LlamaConfig(gguf: try GGUFFile(path: SharedModel.path))
        let layout = LoRALayout(config: config, rank: 8, targets: [.q, .k, .v, .o])
        XCTAssertEqual(layout.parameterCount, 921_600)
        let layer0 = layout.slots.prefix(4).flatMap { [$0.a, $0.b] }
        XCTAssertEqual(layer0, [0, 4_608, 9_216, 13_824, 15_360, 19_968, 21_504, 26_112])
        XCTAssertEqual(layout.slot(layer: 1, target: .q)?.a, 30_720)
        XCTAssertNil(layout.slot(layer: 0, target: .gate))
    }

    /// Slots tile the buffer without gaps, layer by layer, targets in order, A then B; the
    /// flattened vector is the concatenation of every A and B in that order (the wire format).
    func testSlotsTileTheBufferInWireOrder() throws {
        let config = try LlamaConfig(gguf: try GradientTests.tinyModel(name: "tiny-layout"))
        let targets: [LoRATarget] = [.v, .q, .down, .q]
        var adapter = LoRAAdapter(config: config, rank: 3, alpha: 6, targets: targets, seed: 2)
        adapter.randomizeB(standardDeviation: 0.5, seed: 4)
        let layout = adapter.layout
        XCTAssertEqual(layout.targets, [.v, .q, .down])
        var offset = 0
        var wire = [Float]()
        for layer in 0..<config.layers {
            for target in layout.targets {
                let s = try XCTUnwrap(layout.slot(layer: layer, target: target))
                let (dIn, dOut) = target.shape(config)
                XCTAssertEqual([s.a, s.b, s.dIn, s.dOut, s.rank], [offset, offset + 3 * dIn, dIn, dOut, 3])
                offset = s.range.upperBound
                wire += adapter.a(layer: layer, target: target) + adapter.b(layer: layer, target: target)
            }
        }
        XCTAssertEqual(offset, adapter.parameterCount)
        XCTAssertEqual(adapter.flattened(), wire)
        XCTAssertEqual(
            layout.slots.map(\.range.lowerBound),
            layout.slots.indices.map { i in i == 0 ? 0 : layout.slots[i - 1].range.upperBound })
    }

    /// flattened() is the buffer itself, not a copy; assign and the parameters initialiser check
    /// the count, and the initialiser equals drawing an adapter and assigning to it.
    func testFlattenedSharesTheBufferAndTheNodeInitialiserChecksTheCount() throws {
        let config = try LlamaConfig(gguf: try GradientTests.tinyModel(name: "tiny-layout"))
        var global = LoRAAdapter(config: config, rank: 2, alpha: 4, targets: [.q, .up], seed: 9)
        global.randomizeB(standardDeviation: 0.2, seed: 1)
        let flat = global.flattened()
        global.parameters.values.withUnsafeBufferPointer { p in
            flat.withUnsafeBufferPointer { XCTAssertEqual($0.baseAddress, p.baseAddress) }
        }

        let node = try LoRAAdapter(config: config, rank: 2, alpha: 4, targets: [.q, .up], parameters: flat)
        var drawn = LoRAAdapter(config: config, rank: 2, alpha: 4, targets: [.q, .up], seed: 0)
        try drawn.assign(flattened: flat)
        XCTAssertEqual(node, global)
        XCTAssertEqual(drawn, global)
        XCTAssertThrowsError(
            try LoRAAdapter(config: config, rank: 2, alpha: 4, targets: [.q, .up], parameters: Array(flat.dropLast())))
        XCTAssertThrowsError(try LoRAAdapter(config: config, rank: 3, alpha: 4, targets: [.q, .up], parameters: flat))
        XCTAssertThrowsError(try drawn.assign(flattened: flat + [0]))
        XCTAssertEqual(drawn, global, "a refused assign leaves the adapter as it was")
    }

    /// A GGUF adapter that adapts a projection in some layers only gets slots for those; it
    /// round-trips and runs, and equals a full adapter whose missing pairs are zero.
    func testGGUFAdapterWithMissingPairs() throws {
        let file = try GradientTests.tinyModel(name: "tiny-layout")
        let config = try LlamaConfig(gguf: file)
        let full = GradientTests.adapter(config, rank: 2)
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("general.type", .string("adapter"))
        w.set("adapter.type", .string("lora"))
        w.set("adapter.lora.alpha", .float32(full.alpha))
        for s in full.layout.slots where s.target == .q || (s.layer == 1 && s.target == .down) {
            try w.addTensor(
                "blk.\(s.layer).\(s.target.rawValue).weight.lora_a", dims: [s.dIn, 2],
                floats: full.a(layer: s.layer, target: s.target))
            try w.addTensor(
                "blk.\(s.layer).\(s.target.rawValue).weight.lora_b", dims: [2, s.dOut],
                floats: full.b(layer: s.layer, target: s.target))
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("partial-\(UUID().uuidString).gguf")
            .path
        let again = path + ".again.gguf"
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: again)
        }
        try w.write(to: path)
        let partial = try LoRAAdapter(gguf: try GGUFFile(path: path), config: config)
        XCTAssertEqual(partial.targets, [.q, .down])
        XCTAssertNil(partial.layout.slot(layer: 0, target: .down))
        XCTAssertEqual(partial.layout.slots.count, config.layers + 1)
        XCTAssertEqual(partial.b(layer: 1, target: .down), full.b(layer: 1, target: .down))
        try partial.writeGGUF(to: again)
        XCTAssertEqual(try LoRAAdapter(gguf: try GGUFFile(path: again), config: config), partial)

        var zeroed = LoRAAdapter(config: config, rank: 2, alpha: full.alpha, targets: [.q, .down], seed: 0)
        var values = [Float](repeating: 0, count: zeroed.parameterCount)
        for s in zeroed.layout.slots where partial.layout.slot(layer: s.layer, target: s.target) != nil {
            values.replaceSubrange(s.aRange, with: partial.a(layer: s.layer, target: s.target))
            values.replaceSubrange(s.bRange, with: partial.b(layer: s.layer, target: s.target))
        }
        try zeroed.assign(flattened: values)
        let model = try LlamaModel(gguf: file)
        let tokens = [256, 72, 101, 108, 108, 111]
        let a = try LlamaForward(model: model, adapter: partial).logits(tokens)
        let b = try LlamaForward(model: model, adapter: zeroed).logits(tokens)
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        XCTAssertNotEqual(a, try LlamaForward(model: model).logits(tokens))
    }
}
