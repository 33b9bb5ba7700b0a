import Foundation
import Randomness

/// A LoRA adapter over a Llama model: rank r, scale α/r, for each adapted projection W of each
/// layer W' = W + (α/r)·B·A with A [r][d_in] and B [d_out][r] row-major.
///
/// The parameters are one `[Float]` buffer, `parameters.values`, in the layout `LoRALayout`
/// writes down (layer by layer, targets in `targets` order, A then B) — the wire order, so
/// `flattened()` is the buffer itself and `assign(flattened:)` one copy.
///
/// Initialisation (Hu et al., as PEFT): A ~ U(−1/√d_in, 1/√d_in) (Kaiming-uniform with a = √5),
/// B = 0, so the adapted model starts equal to the base.
public struct LoRAAdapter: Sendable, Equatable {
    public let alpha: Float
    /// The buffer and its layout (the optimiser updates `values` in place).
    public internal(set) var parameters: LoRAParameters<Float>

    public var layout: LoRALayout { parameters.layout }
    public var rank: Int { layout.rank }
    /// The adapted projections, each once, in buffer order.
    public var targets: [LoRATarget] { layout.targets }
    public var scale: Float { alpha / Float(rank) }
    /// Number of trainable reals, D(r) = r · Σ (d_in + d_out).
    public var parameterCount: Int { layout.parameterCount }

    /// A fresh adapter: A drawn from the seed (one stream per layer and target), B = 0.
    public init(config c: LlamaConfig, rank: Int, alpha: Float, targets: [LoRATarget] = [.q, .k, .v, .o], seed: UInt64)
    {
        let layout = LoRALayout(config: c, rank: rank, targets: targets)
        var values = [Float](repeating: 0, count: layout.parameterCount)
        for slot in layout.slots {
            let t = layout.targets.firstIndex(of: slot.target)!
            var g = SeededGenerator(seed: seed, stream: [0x10BA, UInt64(slot.layer), UInt64(t)])
            let bound = 1 / Double(slot.dIn).squareRoot()
            for i in slot.aRange { values[i] = Float((2 * g.uniform() - 1) * bound) }
        }
        self.alpha = alpha
        parameters = try! LoRAParameters(layout: layout, values: values)
    }

    /// An adapter with the given parameters in `flattened()`'s layout (a node starting its round
    /// from the global adapter: nothing is drawn). Throws when the count is not the layout's.
    public init(config c: LlamaConfig, rank: Int, alpha: Float, targets: [LoRATarget], parameters: [Float]) throws {
        guard rank >= 1 else {
            throw GGUFError(path: "adapter", offset: nil, problem: "LoRA rank \(rank) is not positive")
        }
        self.alpha = alpha
        self.parameters = try LoRAParameters(
            layout: LoRALayout(config: c, rank: rank, targets: targets), values: parameters)
    }

    /// An adapter of the given layout and buffer (checked against each other).
    init(alpha: Float, layout: LoRALayout, values: [Float]) throws {
        self.alpha = alpha
        parameters = try LoRAParameters(layout: layout, values: values)
    }

    /// Replaces every B with N(0, σ²) draws (B = 0 leaves the model unchanged, which cannot show
    /// whether an adapter is applied correctly; this is for checking loading against llama.cpp).
    /// One stream, B by B in buffer order.
    public mutating func randomizeB(standardDeviation sigma: Float, seed: UInt64) {
        var g = SeededGenerator(seed: seed, stream: [0xB0B])
        let slots = layout.slots
        parameters.values.withUnsafeMutableBufferPointer { v in
            for slot in slots { for i in slot.bRange { v[i] = Float(g.normal()) * sigma } }
        }
    }

    /// All parameters as one vector: layer by layer, targets in `targets` order, A then B — the
    /// order of the federated update on the wire and over the air. The buffer itself (shared
    /// until either side is written).
    public func flattened() -> [Float] { parameters.values }

    /// Every B is zero (a fresh adapter): the adapted model is the base model, whatever A holds.
    public var leavesBaseModelUnchanged: Bool {
        let v = parameters.values
        return layout.slots.allSatisfy { slot in v[slot.bRange].allSatisfy { $0 == 0 } }
    }

    /// Sets every parameter from `flattened()`'s layout.
    public mutating func assign(flattened v: [Float]) throws {
        parameters = try LoRAParameters(layout: layout, values: v)
    }

    /// A copy of A [r][d_in] of `target` in `layer`.
    public func a(layer: Int, target: LoRATarget) -> [Float] { parameters.a(layer: layer, target: target) }
    /// A copy of B [d_out][r] of `target` in `layer`.
    public func b(layer: Int, target: LoRATarget) -> [Float] { parameters.b(layer: layer, target: target) }
}
