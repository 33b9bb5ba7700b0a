import Foundation
import Randomness

/// The projections LoRA can adapt, with their GGUF tensor names.
public enum LoRATarget: String, CaseIterable, Sendable {
    case q = "attn_q", k = "attn_k", v = "attn_v", o = "attn_output", gate = "ffn_gate", up = "ffn_up", down = "ffn_down"
    /// (d_in, d_out) of the projection.
    public func shape(_ c: LlamaConfig) -> (dIn: Int, dOut: Int) {
        switch self {
        case .q, .o: return (c.embedding, c.embedding)
        case .k, .v: return (c.embedding, c.kvDimension)
        case .gate, .up: return (c.embedding, c.feedForward)
        case .down: return (c.feedForward, c.embedding)
        }
    }

    /// A comma-separated list of GGUF names ("attn_q,attn_v"), each once, in the order given.
    public static func list(_ text: String) throws -> [LoRATarget] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var out = [LoRATarget]()
        for name in names {
            guard let t = LoRATarget(rawValue: name) else {
                throw LoRATargetListError(problem: "unknown LoRA target '\(name)' (known: \(allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard !out.contains(t) else { throw LoRATargetListError(problem: "LoRA target '\(name)' is listed twice") }
            out.append(t)
        }
        guard !out.isEmpty else { throw LoRATargetListError(problem: "no LoRA targets in '\(text)'") }
        return out
    }
}

public struct LoRATargetListError: Error, Equatable, CustomStringConvertible {
    public var problem: String
    public var description: String { problem }
}

/// One adapted matrix: W' = W + (α/r) B A, A row-major [r][d_in], B row-major [d_out][r].
/// (Gradients and optimiser moments use the same shape.)
public struct LoRAPair<S: LlamaScalar>: Sendable, Equatable {
    public var a: [S]
    public var b: [S]
    public let dIn: Int, dOut: Int
    public var rank: Int { a.count / dIn }

    public init(a: [S], b: [S], dIn: Int, dOut: Int) {
        self.a = a
        self.b = b
        self.dIn = dIn
        self.dOut = dOut
    }

    /// The same shape, all zeros.
    public var zeros: LoRAPair { LoRAPair(a: [S](repeating: 0, count: a.count), b: [S](repeating: 0, count: b.count), dIn: dIn, dOut: dOut) }

    /// Converted to another scalar type.
    public func converted<T: LlamaScalar>(to: T.Type = T.self) -> LoRAPair<T> {
        LoRAPair<T>(a: a.map { T($0) }, b: b.map { T($0) }, dIn: dIn, dOut: dOut)
    }
}

/// A LoRA adapter over a Llama model: rank r, scale α/r, pairs per (layer, target).
///
/// Initialisation (Hu et al., as PEFT): A ~ U(−1/√d_in, 1/√d_in) (Kaiming-uniform with a = √5),
/// B = 0, so the adapted model starts equal to the base.
public struct LoRAAdapter: Sendable, Equatable {
    public let rank: Int
    public let alpha: Float
    public let targets: [LoRATarget]
    /// pairs[layer][target]
    public var pairs: [[LoRATarget: LoRAPair<Float>]]
    public var scale: Float { alpha / Float(rank) }

    public init(config c: LlamaConfig, rank: Int, alpha: Float, targets: [LoRATarget] = [.q, .k, .v, .o], seed: UInt64) {
        precondition(rank >= 1)
        self.rank = rank
        self.alpha = alpha
        // Each projection once, in the order given (a repeated target would double-count in flattened()).
        let unique = targets.reduce(into: [LoRATarget]()) { if !$0.contains($1) { $0.append($1) } }
        self.targets = unique
        pairs = (0..<c.layers).map { layer in
            var entry = [LoRATarget: LoRAPair<Float>]()
            for (t, target) in unique.enumerated() {
                let (dIn, dOut) = target.shape(c)
                var g = SeededGenerator(seed: seed, stream: [0x10BA, UInt64(layer), UInt64(t)])
                let bound = 1 / Double(dIn).squareRoot()
                let a = (0..<(rank * dIn)).map { _ in Float((2 * g.uniform() - 1) * bound) }
                entry[target] = LoRAPair(a: a, b: [Float](repeating: 0, count: dOut * rank), dIn: dIn, dOut: dOut)
            }
            return entry
        }
    }

    /// Replaces every B with N(0, σ²) draws (B = 0 leaves the model unchanged, which cannot show
    /// whether an adapter is applied correctly; this is for checking loading against llama.cpp).
    public mutating func randomizeB(standardDeviation sigma: Float, seed: UInt64) {
        var g = SeededGenerator(seed: seed, stream: [0xB0B])
        for l in pairs.indices {
            for t in targets where pairs[l][t] != nil {
                pairs[l][t]!.b = pairs[l][t]!.b.map { _ in Float(g.normal()) * sigma }
            }
        }
    }

    /// All parameters as one vector: layer by layer, targets in `targets` order, A then B — the
    /// order of the federated update on the wire and over the air.
    public func flattened() -> [Float] {
        var out = [Float]()
        out.reserveCapacity(parameterCount)
        for entry in pairs { for t in targets { if let p = entry[t] { out += p.a; out += p.b } } }
        return out
    }

    /// Sets every parameter from `flattened()`'s layout.
    public mutating func assign(flattened v: [Float]) throws {
        guard v.count == parameterCount else {
            throw GGUFError(path: "adapter", offset: nil, problem: "a flattened adapter of \(v.count) reals for \(parameterCount) parameters")
        }
        var i = 0
        for l in pairs.indices {
            for t in targets where pairs[l][t] != nil {
                let na = pairs[l][t]!.a.count, nb = pairs[l][t]!.b.count
                pairs[l][t]!.a = Array(v[i..<(i + na)])
                pairs[l][t]!.b = Array(v[(i + na)..<(i + na + nb)])
                i += na + nb
            }
        }
    }

    /// Number of trainable reals, D(r) = r · Σ (d_in + d_out).
    public var parameterCount: Int { pairs.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.a.count + $1.b.count } } }

    /// Writes a llama.cpp GGUF LoRA adapter: general.type = adapter, adapter.type = lora,
    /// adapter.lora.alpha, tensors `blk.N.<target>.weight.lora_a` (dims [d_in, r]) and `.lora_b`
    /// (dims [r, d_out]), F32.
    public func writeGGUF(to path: String, architecture: String = "llama") throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string(architecture))
        w.set("general.type", .string("adapter"))
        w.set("adapter.type", .string("lora"))
        w.set("adapter.lora.alpha", .float32(alpha))
        for (layer, entry) in pairs.enumerated() {
            for target in targets {
                guard let p = entry[target] else { continue }
                let base = "blk.\(layer).\(target.rawValue).weight"
                try w.addTensor(base + ".lora_a", dims: [p.dIn, rank], floats: p.a)
                try w.addTensor(base + ".lora_b", dims: [rank, p.dOut], floats: p.b)
            }
        }
        try w.write(to: path)
    }

    /// Reads a GGUF LoRA adapter written by us or by llama.cpp's converter, checked against the model.
    public init(gguf f: GGUFFile, config c: LlamaConfig) throws {
        func fail(_ problem: String) -> GGUFError { GGUFError(path: f.path, offset: nil, problem: problem) }
        guard f.metadata["general.type"]?.string == "adapter", f.metadata["adapter.type"]?.string == "lora" else {
            throw fail("not a LoRA adapter (general.type = \(f.metadata["general.type"]?.string ?? "missing"), adapter.type = \(f.metadata["adapter.type"]?.string ?? "missing"))")
        }
        var rank = 0
        var pairs = [[LoRATarget: LoRAPair<Float>]](repeating: [:], count: c.layers)
        var targets = [LoRATarget]()
        for info in f.tensors where info.name.hasSuffix(".lora_a") {
            let base = String(info.name.dropLast(".lora_a".count))
            let parts = base.split(separator: ".")
            guard parts.count == 4, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0, layer < c.layers,
                  let target = LoRATarget(rawValue: String(parts[2])), parts[3] == "weight" else {
                throw fail("tensor \(info.name) does not name a llama projection")
            }
            guard let bInfo = f.tensor(base + ".lora_b") else { throw fail("\(base).lora_b is missing") }
            let (dIn, dOut) = target.shape(c)
            guard info.dims.count == 2, info.dims[0] == dIn, bInfo.dims.count == 2, bInfo.dims[1] == dOut, info.dims[1] == bInfo.dims[0] else {
                throw fail("\(base): lora_a \(info.dims) / lora_b \(bInfo.dims) do not fit a \(dIn)→\(dOut) projection")
            }
            guard rank == 0 || rank == info.dims[1] else { throw fail("\(base): rank \(info.dims[1]) differs from \(rank)") }
            rank = info.dims[1]
            if !targets.contains(target) { targets.append(target) }
            pairs[layer][target] = LoRAPair(a: try f.floats(info.name), b: try f.floats(bInfo.name), dIn: dIn, dOut: dOut)
        }
        guard rank > 0 else { throw fail("no lora_a tensors") }
        self.rank = rank
        alpha = Float(f.metadata["adapter.lora.alpha"]?.double ?? Double(rank))
        self.targets = LoRATarget.allCases.filter { targets.contains($0) }
        self.pairs = pairs
    }
}
