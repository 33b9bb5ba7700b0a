import Randomness

/// Gaussian noise in bulk: 64 lanes of xoshiro128+ and the Box–Muller transform, written as plain
/// loops over lanes that the compiler vectorises.
///
/// The air emulation draws millions of noise samples per round; a scalar ziggurat costs ~6 ns a
/// sample, this ~1.4–4 ns depending on the vector width the build targets. Each
/// lane turns two 32-bit uniforms into two independent N(0, 1) values √(−2 ln u₁)·(cos 2πu₂,
/// sin 2πu₂). `log`, `sin`, `cos` are fixed polynomials (Cephes' single-precision minimax
/// coefficients) and √ three Newton steps on 1/√x, all in plain IEEE float arithmetic: libm's
/// `sqrtf` call would stop vectorisation, and fixed polynomials make the stream bit-identical on
/// every machine. Accuracy: |relative error| < 3e-7 for log and √, < 1e-7 for sin/cos.
///
/// Lanes are seeded from a `SeededGenerator` substream, so the caller controls reproducibility.
/// A class because its lane state lives in one manually managed buffer (no copy-on-write checks
/// in the hot loop); use one instance per thread.
public final class NoiseGenerator {
    /// Independent xoshiro128+ streams; one block yields 2·lanes floats.
    public static let lanes = 64
    private let state: UnsafeMutablePointer<UInt32> // s0 | s1 | s2 | s3, `lanes` each
    private let bits: UnsafeMutablePointer<UInt32> // two words per lane per block
    private let radius: UnsafeMutablePointer<Float> // one per lane: −2 ln u₁, then its root · σ
    private let spare: UnsafeMutablePointer<Float> // one block, for a ragged tail

    public init(_ seeder: inout SeededGenerator) {
        let n = NoiseGenerator.lanes
        state = .allocate(capacity: 4 * n)
        bits = .allocate(capacity: 2 * n)
        radius = .allocate(capacity: n)
        spare = .allocate(capacity: 2 * n)
        for i in 0..<(4 * n) {
            var x: UInt32 = 0
            while x == 0 { x = UInt32(truncatingIfNeeded: seeder.next() >> 32) }
            state[i] = x
        }
    }

    deinit {
        state.deallocate()
        bits.deallocate()
        radius.deallocate()
        spare.deallocate()
    }

    /// Fills `count` floats with i.i.d. N(0, σ²).
    public func fill(_ out: UnsafeMutablePointer<Float>, count: Int, sigma: Float) {
        let block = 2 * NoiseGenerator.lanes
        var i = 0
        while i + block <= count {
            next(into: out + i, sigma: sigma)
            i += block
        }
        if i < count {
            next(into: spare, sigma: sigma)
            for j in 0..<(count - i) { out[i + j] = spare[j] }
        }
    }

    /// 2·lanes values of N(0, σ²): the cosine branch of every lane, then the sine branch.
    @inline(__always)
    private func next(into out: UnsafeMutablePointer<Float>, sigma: Float) {
        let n = NoiseGenerator.lanes
        let s0 = state
        let s1 = state + n
        let s2 = state + 2 * n
        let s3 = state + 3 * n
        for j in 0..<n {
            var (a, b, c, d) = (s0[j], s1[j], s2[j], s3[j])
            for word in 0..<2 {
                // xoshiro128+ (Blackman & Vigna); its upper bits are the ones used below.
                bits[word * n + j] = a &+ d
                let t = b &<< 9
                c ^= a
                d ^= b
                b ^= c
                a ^= d
                c ^= t
                d = (d &<< 11) | (d &>> 21)
            }
            (s0[j], s1[j], s2[j], s3[j]) = (a, b, c, d)
        }
        // Four short passes over the lanes rather than one long one: a lane's whole transform is a
        // chain of ~60 dependent operations, too long for the core to overlap enough lanes (one
        // pass: 2.0 ns a value on a 2.45 GHz Zen core; these: 1.4). Same operations, same bits.
        let r = radius
        for j in 0..<n {
            // u₁ ∈ (0, 1] from 24 bits, safe under the log.
            let u1 = (Float(Int32(truncatingIfNeeded: bits[j] &>> 8)) + 1) * 0x1.0p-24
            r[j] = -2 * NoiseGenerator.log(u1)
        }
        for j in 0..<n { r[j] = NoiseGenerator.squareRoot(r[j]) * sigma }
        for j in 0..<n {
            let q = bits[n + j]
            // Angle: two low bits pick the quadrant (below), 24 high bits a uniform x ∈ [−π/4, π/4).
            let x = (Float(Int32(truncatingIfNeeded: q &>> 8)) * 0x1.0p-24 - 0.5) * (Float.pi / 2)
            let (s, c) = NoiseGenerator.sinCos(x)
            out[j] = s
            out[n + j] = c
        }
        for j in 0..<n {
            let q = bits[n + j]
            let s = out[j]
            let c = out[n + j]
            let swap = (q & 1) != 0 // +π/2: (cos, sin) → (−sin, cos)
            let sign: Float = (q & 2) != 0 ? -1 : 1 // +π: both flip
            out[j] = r[j] * sign * (swap ? -s : c)
            out[n + j] = r[j] * sign * (swap ? c : s)
        }
    }

    /// Natural log for normal x > 0: x = m·2^e, m ∈ [√½, √2), Cephes logf's polynomial in m − 1.
    @inline(__always)
    static func log(_ x: Float) -> Float {
        let bits = x.bitPattern
        var e = Float(Int32(truncatingIfNeeded: bits &>> 23) &- 127)
        var m = Float(bitPattern: (bits & 0x007F_FFFF) | 0x3F80_0000)
        let big = m > 1.41421356
        m = big ? m * 0.5 : m
        e = big ? e + 1 : e
        let f = m - 1
        let z = f * f
        var y: Float = 7.0376836292e-2
        y = y * f - 1.1514610310e-1
        y = y * f + 1.1676998740e-1
        y = y * f - 1.2420140846e-1
        y = y * f + 1.4249322787e-1
        y = y * f - 1.6668057665e-1
        y = y * f + 2.0000714765e-1
        y = y * f - 2.4999993993e-1
        y = y * f + 3.3333331174e-1
        y = y * f * z
        y = y - 2.12194440e-4 * e
        y = y - 0.5 * z
        return f + y + 0.693359375 * e
    }

    /// √x for x ≥ 0: three Newton steps on 1/√x from the classic bit-level first guess.
    @inline(__always)
    static func squareRoot(_ x: Float) -> Float {
        var y = Float(bitPattern: 0x5F37_5A86 &- (x.bitPattern &>> 1))
        let h = 0.5 * x
        y = y * (1.5 - h * y * y)
        y = y * (1.5 - h * y * y)
        y = y * (1.5 - h * y * y)
        return x * y
    }

    /// (sin x, cos x) for |x| ≤ π/4, Cephes sinf/cosf polynomials.
    @inline(__always)
    static func sinCos(_ x: Float) -> (Float, Float) {
        let z = x * x
        var s: Float = -1.9515295891e-4
        s = s * z + 8.3321608736e-3
        s = s * z - 1.6666654611e-1
        s = s * z * x + x
        var c: Float = 2.443315711809948e-5
        c = c * z - 1.388731625493765e-3
        c = c * z + 4.166664568298827e-2
        c = c * z * z - 0.5 * z + 1
        return (s, c)
    }
}
