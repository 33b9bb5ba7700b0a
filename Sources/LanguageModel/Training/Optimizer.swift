import Numerics

/// Optimisers over a LoRA adapter's parameters (Float32, the adapter's own layout).
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

/// An optimiser with its state (AdamW's first/second moments, SGD's velocity), one per adapter.
public struct LoRAOptimizer: Sendable {
    public let settings: OptimizerSettings
    public private(set) var steps = 0
    private var first: [[LoRATarget: LoRAPair<Float>]] = []
    private var second: [[LoRATarget: LoRAPair<Float>]] = []

    public init(_ settings: OptimizerSettings) {
        precondition(settings.learningRate > 0 && settings.learningRate.isFinite, "learning rate must be positive")
        self.settings = settings
    }

    /// Bytes of optimiser state for an adapter of `parameters` reals.
    public static func stateBytes(parameters: Int, kind: OptimizerKind, momentum: Float = 0) -> Int {
        switch kind {
        case .adamw: return 2 * parameters * 4
        case .sgd: return momentum != 0 ? parameters * 4 : 0
        }
    }

    /// Global L2 norm of a gradient.
    public static func norm(_ g: [[LoRATarget: LoRAPair<Float>]]) -> Double {
        var s = 0.0
        for layer in g { for p in layer.values { for x in p.a { s += Double(x) * Double(x) }; for x in p.b { s += Double(x) * Double(x) } } }
        return s.squareRoot()
    }

    /// One update of `adapter` from `gradients` (same layout), at `learningRate` when given (a
    /// schedule's value) or the settings'. Returns the gradient norm before clipping. A non-finite gradient is refused and leaves adapter and state untouched.
    @discardableResult
    public mutating func step(_ adapter: inout LoRAAdapter, gradients: [[LoRATarget: LoRAPair<Float>]], learningRate: Float? = nil) throws -> Double {
        let norm = Self.norm(gradients)
        guard norm.isFinite else { throw TrainingError.nonFiniteGradient(step: steps) }
        var s = settings
        if let lr = learningRate { s.learningRate = lr }
        let clip: Float = s.clipNorm > 0 && norm > Double(s.clipNorm) ? Float(Double(s.clipNorm) / norm) : 1
        if first.isEmpty {
            first = adapter.pairs.map { $0.mapValues { $0.zeros } }
            second = first
        }
        steps += 1
        let t = Float(steps)
        let correction1 = 1 - Float.pow(s.beta1, t), correction2 = 1 - Float.pow(s.beta2, t)
        for l in adapter.pairs.indices {
            for target in adapter.pairs[l].keys {
                let g = gradients[l][target]!
                func update(_ theta: inout [Float], _ grad: [Float], _ m: inout [Float], _ v: inout [Float]) {
                    switch s.kind {
                    case .adamw:
                        for i in theta.indices {
                            let gi = grad[i] * clip
                            m[i] = s.beta1 * m[i] + (1 - s.beta1) * gi
                            v[i] = s.beta2 * v[i] + (1 - s.beta2) * gi * gi
                            theta[i] -= s.learningRate * s.weightDecay * theta[i]
                            theta[i] -= s.learningRate * (m[i] / correction1) / ((v[i] / correction2).squareRoot() + s.epsilon)
                        }
                    case .sgd:
                        for i in theta.indices {
                            let gi = grad[i] * clip + s.weightDecay * theta[i]
                            if s.momentum != 0 {
                                m[i] = s.momentum * m[i] + gi
                                theta[i] -= s.learningRate * m[i]
                            } else {
                                theta[i] -= s.learningRate * gi
                            }
                        }
                    }
                }
                update(&adapter.pairs[l][target]!.a, g.a, &first[l][target]!.a, &second[l][target]!.a)
                update(&adapter.pairs[l][target]!.b, g.b, &first[l][target]!.b, &second[l][target]!.b)
            }
        }
        return norm
    }
}

public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case nonFiniteGradient(step: Int)
    case nonFiniteLoss(step: Int)
    case noData(String)

    public var description: String {
        switch self {
        case .nonFiniteGradient(let s): return "training step \(s): the gradient is not finite (NaN or ∞); the adapter was left as it was"
        case .nonFiniteLoss(let s): return "training step \(s): the loss is not finite; the adapter was left as it was"
        case .noData(let what): return "no training data: \(what)"
        }
    }
}
