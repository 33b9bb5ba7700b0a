/// The project's pseudo-random generator: xoshiro256** (Blackman & Vigna, 2018) seeded through
/// SplitMix64.
///
/// Only integer arithmetic defines the stream, so the same seed gives the same numbers on every
/// machine. Independent substreams come from `init(seed:stream:)`, which hashes a stream label into
/// the seed; draws for different purposes (a device's channel taps, one subcarrier's noise) each get
/// their own substream so adding or reordering one never changes another.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose state is expanded from `seed` by SplitMix64.
    public init(seed: UInt64) {
        var sm = seed
        s0 = SeededGenerator.splitMix(&sm)
        s1 = SeededGenerator.splitMix(&sm)
        s2 = SeededGenerator.splitMix(&sm)
        s3 = SeededGenerator.splitMix(&sm)
    }

    /// The substream `stream` of `seed`: a label path such as [purpose, device, round].
    public init(seed: UInt64, stream: [UInt64]) {
        var h = seed ^ 0x243F_6A88_85A3_08D3
        for label in stream {
            var x = h ^ (label &* 0x9E37_79B9_7F4A_7C15)
            h = SeededGenerator.splitMix(&x)
        }
        self.init(seed: h)
    }

    @inline(__always)
    public static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in (0, 1]: safe under a logarithm.
    @inline(__always)
    public mutating func uniformPositive() -> Double { (Double(next() >> 11) + 1) * 0x1.0p-53 }

    /// Standard normal N(0, 1) by the ziggurat method.
    @inline(__always)
    public mutating func normal() -> Double { Ziggurat.shared.sample(&self) }
}
