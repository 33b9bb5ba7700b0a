import Numerics

/// Optimisers over a LoRA adapter's parameters (Float32, the adapter's flat `LoRALayout`).
public enum OptimizerKind: String, Sendable, CaseIterable {
    /// Decoupled weight decay Adam (Loshchilov & Hutter), PyTorch's AdamW with bias correction.
    case adamw
    /// Stochastic gradient descent with optional (heavy-ball) momentum.
    case sgd
}

public struct OptimizerSettings: Sendable, Equatable {
    public var kind: OptimizerKind = .adamw
    public var learningRate: Float = 1e-3
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// AdamW: θ ← θ − lr·λ·θ before the Adam step. SGD: added to the gradient as λ·θ.
    public var weightDecay: Float = 0
    /// SGD only.
    public var momentum: Float = 0
    /// Clip the global gradient L2 norm to this value (0: no clipping).
    public var clipNorm: Float = 1

    public init() {}
}

/// An optimiser with its state, one per adapter. The state is flat, in the adapter's
/// `LoRALayout` (parameterCount reals per buffer, allocated at the first step):
///
///     AdamW            first = m [D], second = v [D]      8·D bytes
///     SGD, momentum    first = velocity [D]               4·D bytes
///     SGD              nothing                            0 bytes
///
/// and one step is one loop over the buffers (θ, g and the moments at the same index).
public struct LoRAOptimizer: Sendable {
    public let settings: OptimizerSettings
    public private(set) var steps = 0
    /// AdamW's m, or SGD's velocity; empty for plain SGD and before the first step.
    private var first: [Float] = []
    /// AdamW's v; empty otherwise.
    private var second: [Float] = []

    public init(_ settings: OptimizerSettings) {
        precondition(settings.learningRate > 0 && settings.learningRate.isFinite, "learning rate must be positive")
        self.settings = settings
    }

    /// Bytes of optimiser state for an adapter of `parameters` reals (what `step` allocates).
    public static func stateBytes(parameters: Int, kind: OptimizerKind, momentum: Float = 0) -> Int {
        parameters * MemoryLayout<Float>.stride * buffers(kind: kind, momentum: momentum).count
    }

    /// Which state buffers a kind keeps: (first, second).
    static func buffers(kind: OptimizerKind, momentum: Float) -> (first: Bool, second: Bool, count: Int) {
        switch kind {
        case .adamw: return (true, true, 2)
        case .sgd: return momentum != 0 ? (true, false, 1) : (false, false, 0)
        }
    }

    /// Bytes of state held now (0 before the first step).
    public var allocatedStateBytes: Int { (first.count + second.count) * MemoryLayout<Float>.stride }

    /// Global L2 norm of a gradient.
    public static func norm(_ g: LoRAParameters<Float>) -> Double { g.sumOfSquares().squareRoot() }

    /// One update of `adapter` from `gradients` (its layout), at `learningRate` when given (a
    /// schedule's value) or the settings'. Returns the gradient norm before clipping. A
    /// non-finite gradient is refused before anything is written: adapter and state stay untouched.
    @discardableResult
    public mutating func step(
        _ adapter: inout LoRAAdapter, gradients: LoRAParameters<Float>, learningRate: Float? = nil
    ) throws -> Double {
        precondition(gradients.layout == adapter.layout, "the gradient's layout is not the adapter's")
        let norm = Self.norm(gradients)
        guard norm.isFinite else { throw TrainingError.nonFiniteGradient(step: steps) }
        var s = settings
        if let lr = learningRate { s.learningRate = lr }
        let clip: Float = s.clipNorm > 0 && norm > Double(s.clipNorm) ? Float(Double(s.clipNorm) / norm) : 1
        let n = adapter.parameterCount
        let keeps = Self.buffers(kind: s.kind, momentum: s.momentum)
        if keeps.first && first.count != n { first = [Float](repeating: 0, count: n) }
        if keeps.second && second.count != n { second = [Float](repeating: 0, count: n) }
        steps += 1
        let t = Float(steps)
        adapter.parameters.values.withUnsafeMutableBufferPointer { theta in
            gradients.values.withUnsafeBufferPointer { g in
                first.withUnsafeMutableBufferPointer { m in
                    second.withUnsafeMutableBufferPointer { v in
                        switch s.kind {
                        case .adamw:
                            Self.adamw(
                                theta, g, m, v, s, clip: clip, correction1: 1 - Float.pow(s.beta1, t),
                                correction2: 1 - Float.pow(s.beta2, t))
                        case .sgd: Self.sgd(theta, g, m, s, clip: clip)
                        }
                    }
                }
            }
        }
        return norm
    }

    /// θ ← θ − lr·λ·θ − lr·m̂/(√v̂ + ε), m, v the moments of the clipped gradient, bias-corrected.
    static func adamw(
        _ theta: UnsafeMutableBufferPointer<Float>, _ grad: UnsafeBufferPointer<Float>,
        _ m: UnsafeMutableBufferPointer<Float>,
        _ v: UnsafeMutableBufferPointer<Float>, _ s: OptimizerSettings, clip: Float, correction1: Float,
        correction2: Float
    ) {
        for i in theta.indices {
            let gi = grad[i] * clip
            m[i] = s.beta1 * m[i] + (1 - s.beta1) * gi
            v[i] = s.beta2 * v[i] + (1 - s.beta2) * gi * gi
            theta[i] -= s.learningRate * s.weightDecay * theta[i]
            theta[i] -= s.learningRate * (m[i] / correction1) / ((v[i] / correction2).squareRoot() + s.epsilon)
        }
    }

    /// g' = clipped g + λ·θ;  with momentum μ: u ← μ·u + g', θ ← θ − lr·u;  without: θ ← θ − lr·g'.
    static func sgd(
        _ theta: UnsafeMutableBufferPointer<Float>, _ grad: UnsafeBufferPointer<Float>,
        _ u: UnsafeMutableBufferPointer<Float>,
        _ s: OptimizerSettings, clip: Float
    ) {
        if s.momentum != 0 {
            for i in theta.indices {
                let gi = grad[i] * clip + s.weightDecay * theta[i]
                u[i] = s.momentum * u[i] + gi
                theta[i] -= s.learningRate * u[i]
            }
        } else {
            for i in theta.indices { theta[i] -= s.learningRate * (grad[i] * clip + s.weightDecay * theta[i]) }
        }
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFiniteGradient(step: Int)
    case nonFiniteLoss(step: Int)
    case noData(String)

    public var description: String {
        switch self {
        case .nonFiniteGradient(let s):
            return "training step \(s): the gradient is not finite (NaN or ∞); the adapter was left as it was"
        case .nonFiniteLoss(let s): return "training step \(s): the loss is not finite; the adapter was left as it was"
        case .noData(let what): return "no training data: \(what)"
        }
    }
}
