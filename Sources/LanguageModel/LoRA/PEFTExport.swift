import Foundation

/// Export of a LoRA adapter as a Hugging Face PEFT directory: `adapter_model.safetensors` and
/// `adapter_config.json`, loadable with `PeftModel.from_pretrained(base, dir)`.
///
/// Names follow transformers' Llama: `base_model.model.model.layers.N.self_attn.{q,k,v,o}_proj` and
/// `…mlp.{gate,up,down}_proj`, each with `.lora_A.weight` [r, d_in] and `.lora_B.weight` [d_out, r]
/// (PyTorch's [out, in], the same row-major layout as ours). PEFT's scale is lora_alpha / r, ours.
///
/// One conversion is needed: llama.cpp's HF→GGUF converter permutes the rows of q_proj and k_proj
/// per head (HF's rotate-half RoPE pairs row i with row i + hd/2; GGUF pairs adjacent rows), so the
/// output-side factor B of q and k is mapped back: HF row head·hd + h·hd/2 + i ← GGUF row
/// head·hd + 2i + h (h ∈ {0, 1}, i < hd/2). A (input side) and the other projections are unchanged.
public enum PEFTExport {
    static func moduleName(_ t: LoRATarget) -> String {
        switch t {
        case .q: return "self_attn.q_proj"
        case .k: return "self_attn.k_proj"
        case .v: return "self_attn.v_proj"
        case .o: return "self_attn.o_proj"
        case .gate: return "mlp.gate_proj"
        case .up: return "mlp.up_proj"
        case .down: return "mlp.down_proj"
        }
    }

    /// B [d_out][r] with rows reordered from GGUF's RoPE layout to HF's (heads of `headDimension` rows).
    static func unpermuteRows(_ b: [Float], rank r: Int, headDimension hd: Int) -> [Float] {
        var out = b
        let heads = b.count / r / hd
        for head in 0..<heads {
            for i in 0..<(hd / 2) {
                for h in 0..<2 {
                    let hf = head * hd + h * hd / 2 + i
                    let gguf = head * hd + 2 * i + h
                    for j in 0..<r { out[hf * r + j] = b[gguf * r + j] }
                }
            }
        }
        return out
    }

    /// Writes `directory`/adapter_model.safetensors and adapter_config.json (each atomically).
    public static func write(
        _ adapter: LoRAAdapter, config c: LlamaConfig, to directory: String,
        baseModel: String = "HuggingFaceTB/SmolLM2-135M-Instruct"
    ) throws {
        var tensors = [(name: String, shape: [Int], values: [Float])]()
        let v = adapter.parameters.values
        let r = adapter.rank
        for s in adapter.layout.slots {
            let prefix = "base_model.model.model.layers.\(s.layer).\(moduleName(s.target))"
            let b = Array(v[s.bRange])
            tensors.append((prefix + ".lora_A.weight", [r, s.dIn], Array(v[s.aRange])))
            tensors.append(
                (
                    prefix + ".lora_B.weight", [s.dOut, r],
                    (s.target == .q || s.target == .k) ? unpermuteRows(b, rank: r, headDimension: c.headDimension) : b
                ))
        }
        // A JSON boundary: PEFT's own adapter_config.json, keys and nulls as PEFT reads them, written
        // here and read by nothing of ours.
        let config: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": baseModel,
            "r": adapter.rank, "lora_alpha": Double(adapter.alpha), "lora_dropout": 0.0, "bias": "none",
            "target_modules": adapter.targets.map { String(moduleName($0).split(separator: ".").last!) },
            "fan_in_fan_out": false, "inference_mode": true, "init_lora_weights": true,
            "use_rslora": false, "use_dora": false, "modules_to_save": NSNull(), "layers_to_transform": NSNull(),
        ]
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try safetensors(tensors).write(
                to: URL(fileURLWithPath: directory + "/adapter_model.safetensors"), options: .atomic)
            try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
                .write(to: URL(fileURLWithPath: directory + "/adapter_config.json"), options: .atomic)
        } catch {
            throw GGUFError(
                path: directory, offset: nil, problem: "cannot write the PEFT adapter: \(error.localizedDescription)")
        }
    }

    /// The safetensors encoding: u64 little-endian header length, the JSON header (padded with
    /// spaces to 8 bytes) mapping each name to dtype, shape and [begin, end) byte offsets, the data.
    static func safetensors(_ tensors: [(name: String, shape: [Int], values: [Float])]) throws -> Data {
        // A JSON boundary: the format's header maps each tensor's name to its entry and
        // `__metadata__` to a string table, values of two shapes in one object.
        var header = [String: Any]()
        var offset = 0
        for t in tensors {
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.values.count]]
            offset += 4 * t.values.count
        }
        header["__metadata__"] = ["format": "pt"]
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for t in tensors { t.values.withUnsafeBytes { out.append(contentsOf: $0) } }
        return out
    }
}
