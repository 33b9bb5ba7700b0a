/// Everything one transformer layer's backward needs, saved by its forward. Row-major, T tokens,
/// d = embedding, kv = KV width, ff = feed-forward width, H = heads:
///
///     x    [T][d]      the layer's input (residual stream)
///     h1   [T][d]      RMSNorm(x)·g_attn              (input of Wq, Wk, Wv)
///     inv1 [T]         1/√(mean(x_t²)+ε)
///     q    [T][d]      queries after RoPE
///     k    [T][kv]     keys after RoPE
///     v    [T][kv]     values
///     p    [H][T][T]   causal softmax of q·kᵀ/√hd per head (zero above the diagonal);
///                      [1][T][T], overwritten head by head, when not recording
///     a    [T][d]      attention output, heads side by side   (input of Wo)
///     x2   [T][d]      x + a·Woᵀ
///     h2   [T][d]      RMSNorm(x2)·g_ffn              (input of Wg, Wu)
///     inv2 [T]         1/√(mean(x2_t²)+ε)
///     g    [T][ff]     gate pre-activation h2·Wgᵀ
///     u    [T][ff]     up projection h2·Wuᵀ
///     m    [T][ff]     SiLU(g)⊙u                       (input of Wd)
///
/// At T = 256 on SmolLM2 that is ≈ 11 MB per layer in Float. The cached mode keeps one per layer
/// (`ActivationPolicy.keepAll`); the streamed mode keeps each layer's `x` and recomputes the rest
/// just before that layer's backward, except for the last `ActivationPolicy.keptLayers` layers,
/// whose activations it keeps whole when the memory budget allows (`TrainingMemoryPlan.filling`).
struct LayerActivations<S: LlamaScalar> {
    let tokens: Int
    let recordsAllHeads: Bool
    var x, h1, inv1, q, k, v, p, a, x2, h2, inv2, g, u, m: [S]

    init(_ c: LlamaConfig, tokens T: Int, recordsAllHeads: Bool) {
        let d = c.embedding
        let kv = c.kvDimension
        let ff = c.feedForward
        tokens = T
        self.recordsAllHeads = recordsAllHeads
        func zeros(_ n: Int) -> [S] { [S](repeating: 0, count: n) }
        x = zeros(T * d)
        h1 = zeros(T * d)
        inv1 = zeros(T)
        q = zeros(T * d)
        k = zeros(T * kv)
        v = zeros(T * kv)
        p = zeros((recordsAllHeads ? c.heads : 1) * T * T)
        a = zeros(T * d)
        x2 = zeros(T * d)
        h2 = zeros(T * d)
        inv2 = zeros(T)
        g = zeros(T * ff)
        u = zeros(T * ff)
        m = zeros(T * ff)
    }

    /// Offset of head `h`'s probabilities in `p`.
    func probabilityOffset(head h: Int) -> Int { recordsAllHeads ? h * tokens * tokens : 0 }

    static func byteCount(_ c: LlamaConfig, tokens T: Int, recordsAllHeads: Bool) -> Int {
        let d = c.embedding
        let kv = c.kvDimension
        let ff = c.feedForward
        return (6 * T * d + 2 * T + 2 * T * kv + 3 * T * ff + (recordsAllHeads ? c.heads : 1) * T * T)
            * MemoryLayout<S>.stride
    }
}

/// cos/sin of RoPE's angles pos·θ^(−2i/hd), [T][hd/2] each.
struct RotaryTables<S: LlamaScalar> {
    let cosines: [S], sines: [S]
    let headDimension: Int

    init(positions: Int, headDimension hd: Int, base: Float) {
        var c = [S](repeating: 0, count: positions * hd / 2)
        var s = c
        for p in 0..<positions {
            for i in 0..<(hd / 2) {
                let angle = Double(p) * Double.pow(Double(base), -2 * Double(i) / Double(hd))
                c[p * hd / 2 + i] = S(Double.cos(angle))
                s[p * hd / 2 + i] = S(Double.sin(angle))
            }
        }
        cosines = c
        sines = s
        headDimension = hd
    }

    /// Rotates adjacent pairs (x₂ᵢ, x₂ᵢ₊₁) of every head of x [rows][width] by +angle (forward) or
    /// −angle (backward: the rotation's transpose carries the gradient back).
    func rotate(_ x: inout [S], rows: Int, width: Int, inverse: Bool) {
        let hd = headDimension
        let sign: S = inverse ? -1 : 1
        x.withUnsafeMutableBufferPointer { px in
            for r in 0..<rows {
                for head in 0..<(width / hd) {
                    let o = r * width + head * hd
                    for i in 0..<(hd / 2) {
                        let c = cosines[r * hd / 2 + i]
                        let s = sign * sines[r * hd / 2 + i]
                        let a = px[o + 2 * i]
                        let b = px[o + 2 * i + 1]
                        px[o + 2 * i] = a * c - b * s
                        px[o + 2 * i + 1] = a * s + b * c
                    }
                }
            }
        }
    }
}
