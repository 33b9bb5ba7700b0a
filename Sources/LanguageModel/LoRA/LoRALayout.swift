/// Where every adapted matrix of a LoRA adapter lives in one flat buffer of reals (as llm.c keeps
/// a model's parameters): layer by layer, within a layer the targets in `targets` order, for each
/// target A then B. For L layers and targets t₀ … t_{n−1}:
///
///     offset                  reals            matrix (row-major)
///     slot(0, t₀).a           r·d_in(t₀)       A of layer 0, t₀     [r][d_in]
///     slot(0, t₀).b           d_out(t₀)·r      B of layer 0, t₀     [d_out][r]
///     slot(0, t₁).a           r·d_in(t₁)       A of layer 0, t₁
///     …
///     slot(L−1, t_{n−1}).b    d_out·r          B of the last pair; ends at parameterCount
///
/// D(r) = r · Σ_layers Σ_targets (d_in + d_out) reals, with no padding: this is also the order of
/// the federated update on the wire and over the air (`LoRAAdapter.flattened()`). The adapter's
/// parameters, its gradients and the optimiser's moments are buffers of this one layout, so
/// accumulation, clipping and the update are single loops over the buffer.
///
/// SmolLM2-135M at r = 8 on q, k, v, o (d = 576, kv = 192): a layer is 30,720 reals —
/// q.A at 0, q.B at 4,608, k.A at 9,216, k.B at 13,824, v.A at 15,360, v.B at 19,968,
/// o.A at 21,504, o.B at 26,112 — and the buffer 30 × 30,720 = 921,600 reals (3.7 MB in Float).
///
/// An adapter read from a GGUF file may leave a (layer, target) out; it then has no slot (the
/// projection is not adapted) and takes no room.
public struct LoRALayout: Sendable, Equatable {
    /// One adapted projection W' = W + (α/r)·B·A of one layer: its A [rank][dIn] at offset `a`,
    /// its B [dOut][rank] at offset `b` = a + rank·dIn.
    public struct Slot: Sendable, Equatable {
        public let layer: Int
        public let target: LoRATarget
        public let a: Int, b: Int
        public let dIn: Int, dOut: Int, rank: Int

        public var aRange: Range<Int> { a..<(a + rank * dIn) }
        public var bRange: Range<Int> { b..<(b + dOut * rank) }
        /// A and B together.
        public var range: Range<Int> { a..<(b + dOut * rank) }
    }

    public let layers: Int
    public let rank: Int
    /// The adapted projections, each once, in buffer order within a layer.
    public let targets: [LoRATarget]
    /// Every slot, in buffer order.
    public let slots: [Slot]
    public let parameterCount: Int
    /// [layer][target.ordinal] → index in `slots`, −1 where the projection is not adapted.
    private let lookup: [Int]
    private static let kinds = LoRATarget.allCases.count

    /// The layout of an adapter of `rank` on `targets` (a repeated target counts once) over every
    /// layer of the model, or over the (layer, target)s `adapts` accepts.
    public init(
        config c: LlamaConfig, rank: Int, targets: [LoRATarget], adapts: (Int, LoRATarget) -> Bool = { _, _ in true }
    ) {
        precondition(rank >= 1, "LoRA rank must be at least 1")
        let unique = targets.reduce(into: [LoRATarget]()) { if !$0.contains($1) { $0.append($1) } }
        let kinds = Self.kinds
        var slots = [Slot]()
        var lookup = [Int](repeating: -1, count: c.layers * kinds)
        var offset = 0
        for layer in 0..<c.layers {
            for target in unique where adapts(layer, target) {
                let (dIn, dOut) = target.shape(c)
                lookup[layer * kinds + target.ordinal] = slots.count
                slots.append(
                    Slot(
                        layer: layer, target: target, a: offset, b: offset + rank * dIn, dIn: dIn, dOut: dOut,
                        rank: rank))
                offset += rank * (dIn + dOut)
            }
        }
        layers = c.layers
        self.rank = rank
        self.targets = unique
        self.slots = slots
        self.lookup = lookup
        parameterCount = offset
    }

    /// The slot of `target` in `layer`, nil when that projection is not adapted.
    @inline(__always)
    public func slot(layer: Int, target: LoRATarget) -> Slot? {
        let i = lookup[layer * Self.kinds + target.ordinal]
        return i < 0 ? nil : slots[i]
    }

    /// Whether the model's shapes are the layout's (every slot's d_in, d_out are its target's).
    public func fits(_ c: LlamaConfig) -> Bool {
        c.layers == layers
            && slots.allSatisfy {
                let s = $0.target.shape(c)
                return s.dIn == $0.dIn && s.dOut == $0.dOut
            }
    }
}

/// A flat buffer in a `LoRALayout` — an adapter's parameters, their gradients (∂L/∂A, ∂L/∂B in
/// the same places), or an optimiser's moments — in Float, or Double for the gradient check.
public struct LoRAParameters<S: LlamaScalar>: Sendable, Equatable {
    public let layout: LoRALayout
    /// layout.parameterCount reals, laid out as `LoRALayout` describes.
    public internal(set) var values: [S]

    /// Throws when `values` does not have the layout's count.
    public init(layout: LoRALayout, values: [S]) throws {
        guard values.count == layout.parameterCount else {
            throw GGUFError(
                path: "adapter", offset: nil,
                problem: "a flattened adapter of \(values.count) reals for \(layout.parameterCount) parameters")
        }
        self.layout = layout
        self.values = values
    }

    /// All zeros (a gradient to accumulate into).
    public init(zeros layout: LoRALayout) {
        self.layout = layout
        values = [S](repeating: 0, count: layout.parameterCount)
    }

    /// A copy of A [r][d_in] of `target` in `layer` (which must be adapted).
    public func a(layer: Int, target: LoRATarget) -> [S] { Array(values[slot(layer, target).aRange]) }
    /// A copy of B [d_out][r] of `target` in `layer` (which must be adapted).
    public func b(layer: Int, target: LoRATarget) -> [S] { Array(values[slot(layer, target).bRange]) }

    func slot(_ layer: Int, _ target: LoRATarget) -> LoRALayout.Slot {
        guard let s = layout.slot(layer: layer, target: target) else {
            preconditionFailure("layer \(layer) has no LoRA pair on \(target)")
        }
        return s
    }

    /// Converted to another scalar type, same layout.
    public func converted<T: LlamaScalar>(to: T.Type = T.self) -> LoRAParameters<T> {
        try! LoRAParameters<T>(layout: layout, values: values.map { T($0) })
    }
}

extension LoRAParameters where S == Float {
    /// self ← self + α·x (x in the same layout): gradient accumulation.
    mutating func add(_ x: LoRAParameters<Float>, scaledBy alpha: Float) {
        precondition(x.layout.parameterCount == layout.parameterCount, "adding buffers of different layouts")
        values.withUnsafeMutableBufferPointer { y in
            x.values.withUnsafeBufferPointer { x in for i in y.indices { y[i] += alpha * x[i] } }
        }
    }

    /// self ← α·self.
    mutating func scale(by alpha: Float) {
        values.withUnsafeMutableBufferPointer { y in for i in y.indices { y[i] *= alpha } }
    }

    /// Σ x² in Double (the squared global L2 norm).
    func sumOfSquares() -> Double {
        values.withUnsafeBufferPointer { x in
            var s = 0.0
            for v in x { s += Double(v) * Double(v) }
            return s
        }
    }
}
