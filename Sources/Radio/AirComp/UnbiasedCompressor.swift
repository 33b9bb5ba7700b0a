import Randomness

/// The digital baseline's update compressor: an update of D reals into at most B bits, unbiased
/// (E[decode(encode(Δ))] = Δ coordinate by coordinate), so that a digital run differs from ideal
/// FL by zero-mean noise only — never by a larger or smaller step.
///
/// Two unbiased parts, one rule:
/// - **Stochastic rounding to 2^b levels** over ±FS (FS = the largest |value| quantised, sent as
///   32 bits of side information): levels −FS + j·s, s = 2·FS/(2^b − 1); a value between two
///   levels goes up with probability (distance from the lower)/s. Per value the variance is at
///   most s²/4 = FS²/(2^b − 1)².
/// - **Random sparsification** when fewer than b bits per real fit: m = ⌊B/b⌋ coordinates drawn
///   uniformly without replacement from the seed the base station sent (so both ends know which:
///   no index bits), each sent as (D/m)·Q_b(Δ_i). Stateless, unlike top-k with error feedback,
///   which would keep a residual on the device between rounds (a node that restarts would lose it,
///   and a resumed run would not be byte-identical).
///
/// The rule picks b ∈ 1…16 minimising the bound on the estimate's total variance,
///   V(b) = (D/m − 1)·‖Δ‖² + (D/m)·D·FS²/(2^b − 1)²            (m = ⌊B/b⌋ < D, sparse)
///   V(b) = (D − e)·FS²/(2^b − 1)² + e·FS²/(2^(b+1) − 1)²         (b·D ≤ B: every real, e of them with b + 1 bits)
/// where e = min(D, B − b·D) spends the bits left over, so the payload uses B bits to within b − 1
/// (B ≥ 16·D: every real at 16 bits). The extra-bit reals are drawn like the mask.
public enum UnbiasedCompressor {
    /// The payload's layout for one update.
    public struct Plan: Equatable, Sendable {
        /// b, bits of the reals sent with the fewer bits.
        public let bits: Int
        /// m, reals sent (D: all).
        public let kept: Int
        /// e, reals sent with b + 1 bits (0 when sparse).
        public let extraBit: Int
        public init(bits: Int, kept: Int, extraBit: Int) {
            self.bits = bits
            self.kept = kept
            self.extraBit = extraBit
        }
        /// Bits of the values: m·b + e (the 32-bit full scale comes on top).
        public var payloadBits: Int { kept * bits + extraBit }
    }

    /// Side information per update: the full scale FS as a float32.
    public static let sideInformationBits = 32
    /// The finest resolution the rule uses.
    public static let maximumBits = 16

    /// The variance-minimising layout for `budgetBits` (B ≥ 1) over `reals` (D ≥ 1) values whose
    /// squared norm is `energy` and whose largest magnitude is `fullScale`.
    public static func plan(budgetBits: Int, reals: Int, energy: Double, fullScale: Double) -> Plan {
        let d = reals
        let budget = max(1, budgetBits)
        let fs2 = fullScale * fullScale
        func levels(_ b: Int) -> Double {
            let l = Double((1 << b) - 1)
            return l * l
        }
        var best: (v: Double, plan: Plan)?
        for b in 1...maximumBits {
            let candidate: Plan
            let v: Double
            // b bits on every real with some at b + 1; a budget of (b + 1)·D or more is b + 1's case.
            if b * d <= budget && budget >= (b + 1) * d && b < maximumBits { continue }
            if b * d <= budget {
                let extra = b < maximumBits ? min(d, budget - b * d) : 0
                candidate = Plan(bits: b, kept: d, extraBit: extra)
                v = Double(d - extra) * fs2 / levels(b) + Double(extra) * (b < maximumBits ? fs2 / levels(b + 1) : 0)
            } else {
                let m = budget / b
                guard m >= 1 else { break }
                let ratio = Double(d) / Double(m)
                candidate = Plan(bits: b, kept: m, extraBit: 0)
                v = (ratio - 1) * energy + ratio * Double(d) * fs2 / levels(b)
            }
            if best == nil || v < best!.v { best = (v, candidate) }
        }
        return best?.plan ?? Plan(bits: 1, kept: 1, extraBit: 0)
    }

    /// Δ as the base station decodes it (D reals, zeros where not sent) and the layout used.
    /// Every random draw comes from `seed` (the mask and extra-bit reals from one substream, the
    /// rounding from another).
    public static func compress(_ update: [Float], budgetBits: Int, seed: UInt64) -> (decoded: [Float], plan: Plan) {
        let d = update.count
        guard d > 0 else { return ([], Plan(bits: 1, kept: 0, extraBit: 0)) }
        var energy = 0.0
        var fullScale: Float = 0
        for v in update {
            energy += Double(v) * Double(v)
            fullScale = max(fullScale, abs(v))
        }
        let plan = plan(budgetBits: budgetBits, reals: d, energy: energy, fullScale: Double(fullScale))
        var selection = SeededGenerator(seed: seed, stream: [Stream.selection])
        var rounding = SeededGenerator(seed: seed, stream: [Stream.rounding])
        var decoded = [Float](repeating: 0, count: d)
        if plan.kept < d {
            let chosen = sample(plan.kept, of: d, using: &selection)
            let gain = Float(Double(d) / Double(plan.kept))
            let scale = chosen.reduce(Float(0)) { max($0, abs(update[$1])) }
            for i in chosen {
                decoded[i] = gain * round(update[i], bits: plan.bits, fullScale: scale, using: &rounding)
            }
        } else {
            var finer = [Bool](repeating: false, count: d)
            for i in sample(plan.extraBit, of: d, using: &selection) { finer[i] = true }
            for i in 0..<d {
                decoded[i] = round(
                    update[i], bits: plan.bits + (finer[i] ? 1 : 0), fullScale: fullScale, using: &rounding)
            }
        }
        return (decoded, plan)
    }

    /// Stochastic rounding of `v` (|v| ≤ FS) to the 2^b levels over ±FS.
    @inline(__always)
    static func round(_ v: Float, bits: Int, fullScale: Float, using g: inout SeededGenerator) -> Float {
        guard fullScale > 0 else { return 0 }
        let steps = Double((1 << bits) - 1)
        let step = 2 * Double(fullScale) / steps
        let position = min(max((Double(v) + Double(fullScale)) / step, 0), steps)
        var level = position.rounded(.down)
        if g.uniform() < position - level { level += 1 }
        return Float(-Double(fullScale) + level * step)
    }

    /// `count` distinct indices of 0..<n, uniformly (a partial Fisher–Yates shuffle), ascending.
    static func sample(_ count: Int, of n: Int, using g: inout SeededGenerator) -> [Int] {
        guard count < n else { return Array(0..<n) }
        guard count > 0 else { return [] }
        var index = Array(0..<n)
        for i in 0..<count {
            let j = i + Int(g.next() % UInt64(n - i))
            index.swapAt(i, j)
        }
        return index[0..<count].sorted()
    }

    /// Substream labels under the transmission's seed.
    enum Stream {
        static let selection: UInt64 = 0x6D61_736B // "mask"
        static let rounding: UInt64 = 0x726E_6464 // "rndd"
    }
}
