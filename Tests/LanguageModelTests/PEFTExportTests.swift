import Foundation
import XCTest

@testable import LanguageModel

final class PEFTExportTests: XCTestCase {
    /// The directory has PEFT's names, shapes and safetensors layout; q/k's B rows go back to HF's
    /// rotate-half order (the inverse of llama.cpp's converter permutation), others are unchanged.
    func testSafetensorsLayoutNamesAndRoPERowOrder() throws {
        let file = try GradientTests.tinyModel(name: "tiny-peft")
        let config = try LlamaConfig(gguf: file)
        let adapter = GradientTests.adapter(config, rank: 2)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("peft-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try PEFTExport.write(adapter, config: config, to: dir)

        let cfg = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/adapter_config.json")))
                as? [String: Any])
        XCTAssertEqual(cfg["peft_type"] as? String, "LORA")
        XCTAssertEqual(cfg["r"] as? Int, 2)
        XCTAssertEqual(cfg["lora_alpha"] as? Double, Double(adapter.alpha))
        XCTAssertEqual(
            Set(cfg["target_modules"] as? [String] ?? []),
            ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])

        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/adapter_model.safetensors"))
        let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        XCTAssertEqual(headerLength % 8, 0)
        let header = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
        XCTAssertEqual(header.count, 1 + config.layers * 7 * 2)
        func tensor(_ name: String) throws -> (shape: [Int], values: [Float]) {
            let entry = try XCTUnwrap(header[name] as? [String: Any], name)
            XCTAssertEqual(entry["dtype"] as? String, "F32")
            let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
            let bytes = data.subdata(in: (8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1]))
            return (
                try XCTUnwrap(entry["shape"] as? [Int]), bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            )
        }
        let hd = config.headDimension
        for (target, module) in [
            (LoRATarget.q, "self_attn.q_proj"), (.k, "self_attn.k_proj"), (.v, "self_attn.v_proj"),
            (.down, "mlp.down_proj"),
        ] {
            let slot = try XCTUnwrap(adapter.layout.slot(layer: 1, target: target))
            let ours = (
                a: adapter.a(layer: 1, target: target), b: adapter.b(layer: 1, target: target), dIn: slot.dIn,
                dOut: slot.dOut
            )
            let a = try tensor("base_model.model.model.layers.1.\(module).lora_A.weight")
            let b = try tensor("base_model.model.model.layers.1.\(module).lora_B.weight")
            XCTAssertEqual(a.shape, [2, ours.dIn])
            XCTAssertEqual(a.values, ours.a)
            XCTAssertEqual(b.shape, [ours.dOut, 2])
            for row in 0..<ours.dOut {
                // GGUF row head·hd + 2i + h holds HF row head·hd + h·hd/2 + i.
                let head = row / hd
                let within = row % hd
                let hfRow = (target == .q || target == .k) ? head * hd + (within % 2) * hd / 2 + within / 2 : row
                XCTAssertEqual(
                    Array(b.values[(hfRow * 2)..<(hfRow * 2 + 2)]), Array(ours.b[(row * 2)..<(row * 2 + 2)]),
                    "\(target) row \(row)")
            }
        }
    }
}
