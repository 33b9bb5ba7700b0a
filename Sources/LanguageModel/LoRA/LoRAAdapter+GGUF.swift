import Foundation

extension LoRAAdapter {
    /// Writes a llama.cpp GGUF LoRA adapter: general.type = adapter, adapter.type = lora,
    /// adapter.lora.alpha, tensors `blk.N.<target>.weight.lora_a` (dims [d_in, r]) and `.lora_b`
    /// (dims [r, d_out]), F32, in buffer order.
    public func writeGGUF(to path: String, architecture: String = "llama") throws {
        try ggufWriter(architecture: architecture).write(to: path)
    }

    /// The adapter's GGUF, not yet written: a caller may add metadata (a checkpoint's state).
    public func ggufWriter(architecture: String = "llama") throws -> GGUFWriter {
        var w = GGUFWriter()
        w.set("general.architecture", .string(architecture))
        w.set("general.type", .string("adapter"))
        w.set("adapter.type", .string("lora"))
        w.set("adapter.lora.alpha", .float32(alpha))
        let v = parameters.values
        for s in layout.slots {
            let base = "blk.\(s.layer).\(s.target.rawValue).weight"
            try w.addTensor(base + ".lora_a", dims: [s.dIn, rank], floats: Array(v[s.aRange]))
            try w.addTensor(base + ".lora_b", dims: [rank, s.dOut], floats: Array(v[s.bRange]))
        }
        return w
    }

    /// The same adapter with its buffer laid out for `targets` in that order (a file read back
    /// comes in `LoRATarget.allCases` order). Throws unless `targets` names exactly the adapted
    /// projections.
    public func laidOut(targets: [LoRATarget], config c: LlamaConfig) throws -> LoRAAdapter {
        let to = LoRALayout(config: c, rank: rank, targets: targets) { layout.slot(layer: $0, target: $1) != nil }
        guard to.slots.count == layout.slots.count, Set(to.targets) == Set(self.targets) else {
            throw GGUFError(
                path: "adapter", offset: nil,
                problem: "targets \(targets.map(\.rawValue)) are not the adapter's \(self.targets.map(\.rawValue))")
        }
        var values = [Float](repeating: 0, count: to.parameterCount)
        for s in to.slots {
            let from = layout.slot(layer: s.layer, target: s.target)!
            values.replaceSubrange(s.range, with: parameters.values[from.range])
        }
        return try LoRAAdapter(alpha: alpha, layout: to, values: values)
    }

    /// Reads a GGUF LoRA adapter written by us or by llama.cpp's converter, checked against the
    /// model. Targets come in `LoRATarget.allCases` order; a (layer, target) the file leaves out
    /// has no slot.
    public init(gguf f: GGUFFile, config c: LlamaConfig) throws {
        func fail(_ problem: String) -> GGUFError { GGUFError(path: f.path, offset: nil, problem: problem) }
        guard f.metadata["general.type"]?.string == "adapter", f.metadata["adapter.type"]?.string == "lora" else {
            throw fail(
                "not a LoRA adapter (general.type = \(f.metadata["general.type"]?.string ?? "missing"), adapter.type "
                    + "= \(f.metadata["adapter.type"]?.string ?? "missing"))"
            )
        }
        var rank = 0
        var found = [[LoRATarget: (a: String, b: String)]](repeating: [:], count: c.layers)
        for info in f.tensors where info.name.hasSuffix(".lora_a") {
            let base = String(info.name.dropLast(".lora_a".count))
            let parts = base.split(separator: ".")
            guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0, layer < c.layers,
                let target = LoRATarget(rawValue: String(parts[2])), parts[3] == "weight"
            else {
                throw fail("tensor \(info.name) does not name a llama projection")
            }
            guard let bInfo = f.tensor(base + ".lora_b") else { throw fail("\(base).lora_b is missing") }
            let (dIn, dOut) = target.shape(c)
            guard info.dims.count == 2, info.dims[0] == dIn, bInfo.dims.count == 2, bInfo.dims[1] == dOut,
                info.dims[1] == bInfo.dims[0]
            else {
                throw fail("\(base): lora_a \(info.dims) / lora_b \(bInfo.dims) do not fit a \(dIn)→\(dOut) projection")
            }
            guard rank == 0 || rank == info.dims[1] else {
                throw fail("\(base): rank \(info.dims[1]) differs from \(rank)")
            }
            rank = info.dims[1]
            found[layer][target] = (info.name, bInfo.name)
        }
        guard rank > 0 else { throw fail("no lora_a tensors") }
        let targets = LoRATarget.allCases.filter { t in found.contains { $0[t] != nil } }
        let layout = LoRALayout(config: c, rank: rank, targets: targets) { found[$0][$1] != nil }
        var values = [Float](repeating: 0, count: layout.parameterCount)
        for s in layout.slots {
            let names = found[s.layer][s.target]!
            values.replaceSubrange(s.aRange, with: try f.floats(names.a))
            values.replaceSubrange(s.bRange, with: try f.floats(names.b))
        }
        try self.init(
            alpha: Float(f.metadata["adapter.lora.alpha"]?.double ?? Double(rank)), layout: layout, values: values)
    }
}
