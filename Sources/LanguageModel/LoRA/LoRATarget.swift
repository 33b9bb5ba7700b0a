import Foundation

/// The projections LoRA can adapt, with their GGUF tensor names.
public enum LoRATarget: String, CaseIterable, Sendable {
    case q = "attn_q"
    case k = "attn_k"
    case v = "attn_v"
    case o = "attn_output"
    case gate = "ffn_gate"
    case up = "ffn_up"
    case down = "ffn_down"
    /// (d_in, d_out) of the projection.
    public func shape(_ c: LlamaConfig) -> (dIn: Int, dOut: Int) {
        switch self {
        case .q, .o: return (c.embedding, c.embedding)
        case .k, .v: return (c.embedding, c.kvDimension)
        case .gate, .up: return (c.embedding, c.feedForward)
        case .down: return (c.feedForward, c.embedding)
        }
    }

    /// The position in `allCases` (a switch: `allCases` builds an array on every call).
    var ordinal: Int {
        switch self {
        case .q: return 0
        case .k: return 1
        case .v: return 2
        case .o: return 3
        case .gate: return 4
        case .up: return 5
        case .down: return 6
        }
    }

    /// A comma-separated list of GGUF names ("attn_q,attn_v"), each once, in the order given.
    public static func list(_ text: String) throws -> [LoRATarget] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty else { throw LoRATargetListError(problem: "no LoRA targets in '\(text)'") }
        return try list(names: names)
    }

    /// GGUF names ("attn_q", "attn_v"), each once, in the order given; at least one.
    public static func list(names: [String]) throws -> [LoRATarget] {
        var out = [LoRATarget]()
        for name in names {
            guard let t = LoRATarget(rawValue: name) else {
                throw LoRATargetListError(
                    problem:
                        "unknown LoRA target '\(name)' (known: \(allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard !out.contains(t) else { throw LoRATargetListError(problem: "LoRA target '\(name)' is listed twice") }
            out.append(t)
        }
        guard !out.isEmpty else { throw LoRATargetListError(problem: "no LoRA targets") }
        return out
    }
}

public struct LoRATargetListError: Error, Equatable, CustomStringConvertible {
    public var problem: String
    public var description: String { problem }
}
