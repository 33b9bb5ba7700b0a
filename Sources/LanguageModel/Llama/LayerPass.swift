/// One Llama transformer layer, forward and backward side by side (llama.cpp's LLM_ARCH_LLAMA graph):
///
///     h1 = RMSNorm(x)·g_attn;  q = h1Wqᵀ, k = h1Wkᵀ, v = h1Wvᵀ;  RoPE(q, k)
///     a  = per head, causal softmax(q kᵀ/√hd) v with KV head ⌊h·kvHeads/heads⌋
///     x2 = x + a Woᵀ
///     h2 = RMSNorm(x2)·g_ffn;  g = h2Wgᵀ, u = h2Wuᵀ;  m = SiLU(g)⊙u
///     y  = x2 + m Wdᵀ
///
/// Every adapted projection W adds (α/r)(in·Aᵀ)Bᵀ. The backward computes activation gradients
/// through the frozen weights (dx = dy·W) and gradients for the LoRA pairs only. Every matrix
/// product is one gemm; the layouts are `LayerActivations`'. A and B are read in place from the
/// adapter's flat buffer, and ∂L/∂A, ∂L/∂B written in place into a gradient buffer of the same
/// `LoRALayout` (the gemms take the slot's offsets; nothing is copied out).
struct LayerPass<S: LlamaScalar> {
    let config: LlamaConfig
    let rope: RotaryTables<S>
    let matmul: Matmul<S>
    /// The adapter's α/r.
    let loraScale: S

    // MARK: Forward

    /// Runs layer `layer` on `acts.x` (already filled), filling the rest of `acts`; y ← the output.
    func forward(
        _ w: LlamaLayer<S>, _ lora: LoRAParameters<S>?, layer: Int, _ acts: inout LayerActivations<S>, into y: inout [S]
    ) {
        let c = config
        let T = acts.tokens
        let d = c.embedding
        let kv = c.kvDimension
        let ff = c.feedForward
        /// y += s·(x·Aᵀ)·Bᵀ when `target` is adapted in this layer.
        func adapt(_ target: LoRATarget, _ x: [S], _ y: inout [S]) {
            if let lora, let s = lora.layout.slot(layer: layer, target: target) {
                loraForward(x, lora.values, s, rows: T, into: &y)
            }
        }
        // The frozen products on the file's blocks when the weights carry them (each activation
        // quantized once for the products that read it), else sgemm on the Float copies.
        let blocks = w.blocks
        rmsNorm(acts.x, w.attentionNorm, rows: T, into: &acts.h1, inverse: &acts.inv1)
        if let b = blocks, let h1 = matmul.quantize(acts.h1, rows: T, inner: d) {
            matmul.linear(h1, b.wq, into: &acts.q)
            matmul.linear(h1, b.wk, into: &acts.k)
            matmul.linear(h1, b.wv, into: &acts.v)
        } else {
            matmul.linear(acts.h1, w.wq, rows: T, inner: d, outputs: d, into: &acts.q)
            matmul.linear(acts.h1, w.wk, rows: T, inner: d, outputs: kv, into: &acts.k)
            matmul.linear(acts.h1, w.wv, rows: T, inner: d, outputs: kv, into: &acts.v)
        }
        adapt(.q, acts.h1, &acts.q)
        adapt(.k, acts.h1, &acts.k)
        adapt(.v, acts.h1, &acts.v)
        rope.rotate(&acts.q, rows: T, width: d, inverse: false)
        rope.rotate(&acts.k, rows: T, width: kv, inverse: false)
        matmul.elementwise(T * (d + kv), 3) // a rotation is 6 FLOPs per pair
        attentionForward(&acts)
        copy(acts.x, into: &acts.x2)
        if let b = blocks, let a = matmul.quantize(acts.a, rows: T, inner: d) {
            matmul.linear(a, b.wo, beta: 1, into: &acts.x2)
        } else {
            matmul.linear(acts.a, w.wo, rows: T, inner: d, outputs: d, beta: 1, into: &acts.x2)
        }
        adapt(.o, acts.a, &acts.x2)
        rmsNorm(acts.x2, w.ffnNorm, rows: T, into: &acts.h2, inverse: &acts.inv2)
        if let b = blocks, let h2 = matmul.quantize(acts.h2, rows: T, inner: d) {
            matmul.linear(h2, b.gate, into: &acts.g)
            matmul.linear(h2, b.up, into: &acts.u)
        } else {
            matmul.linear(acts.h2, w.gate, rows: T, inner: d, outputs: ff, into: &acts.g)
            matmul.linear(acts.h2, w.up, rows: T, inner: d, outputs: ff, into: &acts.u)
        }
        adapt(.gate, acts.h2, &acts.g)
        adapt(.up, acts.h2, &acts.u)
        swiGLU(acts.g, acts.u, into: &acts.m)
        copy(acts.x2, into: &y)
        if let b = blocks, let m = matmul.quantize(acts.m, rows: T, inner: ff) {
            matmul.linear(m, b.down, beta: 1, into: &y)
        } else {
            matmul.linear(acts.m, w.down, rows: T, inner: ff, outputs: d, beta: 1, into: &y)
        }
        adapt(.down, acts.m, &y)
    }

    /// dst ← src element by element, into dst's own buffer (not sharing src's, which a write to
    /// dst would then copy); dst is resized when its count differs.
    func copy(_ src: [S], into dst: inout [S]) {
        if dst.count != src.count { dst = [S](repeating: 0, count: src.count) }
        dst.withUnsafeMutableBufferPointer { d in
            src.withUnsafeBufferPointer { s in d.baseAddress!.update(from: s.baseAddress!, count: s.count) }
        }
    }

    // MARK: Backward

    /// Given dy = ∂L/∂y, returns ∂L/∂x in `dx` and adds layer `layer`'s LoRA gradients into
    /// `grads`, a buffer of `lora.layout` (other layers' slots untouched).
    func backward(
        _ w: LlamaLayer<S>, _ lora: LoRAParameters<S>, layer: Int, _ acts: LayerActivations<S>,
        dy: [S], dx: inout [S], grads: inout [S]
    ) {
        let c = config
        let T = acts.tokens
        let d = c.embedding
        let kv = c.kvDimension
        let ff = c.feedForward
        /// Adds `target`'s gradients and its dIn contribution when it is adapted in this layer.
        func adapt(_ target: LoRATarget, _ x: [S], _ dOut: [S], _ dIn: inout [S]) {
            if let s = lora.layout.slot(layer: layer, target: target) {
                loraBackward(x, lora.values, s, dOut: dOut, rows: T, dIn: &dIn, grads: &grads)
            }
        }
        // y = x2 + m·Wdᵀ
        var dm = [S](repeating: 0, count: T * ff)
        backProject(dy, w.down, w.blocks?.transposed?.down, rows: T, inner: ff, outputs: d, into: &dm)
        adapt(.down, acts.m, dy, &dm)
        // m = SiLU(g)⊙u
        var dg = [S](repeating: 0, count: T * ff)
        var du = dg
        swiGLUBackward(acts.g, acts.u, dm: dm, dg: &dg, du: &du)
        // g = h2·Wgᵀ, u = h2·Wuᵀ
        var dh2 = [S](repeating: 0, count: T * d)
        backProject(dg, w.gate, w.blocks?.transposed?.gate, rows: T, inner: d, outputs: ff, into: &dh2)
        backProject(du, w.up, w.blocks?.transposed?.up, rows: T, inner: d, outputs: ff, beta: 1, into: &dh2)
        adapt(.gate, acts.h2, dg, &dh2)
        adapt(.up, acts.h2, du, &dh2)
        // h2 = RMSNorm(x2), and the residual: dx2 = dy + RMSNorm'(dh2)
        var dx2 = dy
        rmsNormBackward(acts.x2, acts.inv2, w.ffnNorm, dh: dh2, rows: T, accumulateInto: &dx2)
        // x2 = x + a·Woᵀ
        var da = [S](repeating: 0, count: T * d)
        backProject(dx2, w.wo, w.blocks?.transposed?.wo, rows: T, inner: d, outputs: d, into: &da)
        adapt(.o, acts.a, dx2, &da)
        // attention, then RoPE's transpose
        var dq = [S](repeating: 0, count: T * d)
        var dk = [S](repeating: 0, count: T * kv)
        var dv = dk
        attentionBackward(acts, da: da, dq: &dq, dk: &dk, dv: &dv)
        rope.rotate(&dq, rows: T, width: d, inverse: true)
        rope.rotate(&dk, rows: T, width: kv, inverse: true)
        matmul.elementwise(T * (d + kv), 3)
        // q, k, v = h1·W{q,k,v}ᵀ
        var dh1 = [S](repeating: 0, count: T * d)
        backProject(dq, w.wq, w.blocks?.transposed?.wq, rows: T, inner: d, outputs: d, into: &dh1)
        backProject(dk, w.wk, w.blocks?.transposed?.wk, rows: T, inner: d, outputs: kv, beta: 1, into: &dh1)
        backProject(dv, w.wv, w.blocks?.transposed?.wv, rows: T, inner: d, outputs: kv, beta: 1, into: &dh1)
        adapt(.q, acts.h1, dq, &dh1)
        adapt(.k, acts.h1, dk, &dh1)
        adapt(.v, acts.h1, dv, &dh1)
        // h1 = RMSNorm(x), and the residual
        dx = dx2
        rmsNormBackward(acts.x, acts.inv1, w.attentionNorm, dh: dh1, rows: T, accumulateInto: &dx)
    }

    /// dIn[rows][inner] ← dOut[rows][outputs]·W (+ dIn when β = 1): on W's Q8_0 transpose when the
    /// layer carries blocks (dOut quantized per block), else sgemm on the Float W.
    func backProject(
        _ dOut: [S], _ w: [S], _ wT: QuantizedMatrix?, rows: Int, inner: Int, outputs: Int, beta: S = 0,
        into dIn: inout [S]
    ) {
        if let wT, let q = matmul.quantize(dOut, rows: rows, inner: outputs) {
            matmul.linear(q, wT, beta: beta, into: &dIn)
        } else {
            precondition(
                w.count == inner * outputs, "a backward through blocks needs the layer asked for with its transposes")
            matmul.linearBackward(dOut, w, rows: rows, inner: inner, outputs: outputs, beta: beta, into: &dIn)
        }
    }

    // MARK: RMSNorm

    /// out = x·inv·gain per row, inv = 1/√(mean(x²)+ε).
    func rmsNorm(_ x: [S], _ gain: [S], rows: Int, into out: inout [S], inverse: inout [S]) {
        let n = gain.count
        let eps = S(config.rmsEpsilon)
        matmul.elementwise(rows * n, 4) // square, sum, two products
        for r in 0..<rows {
            var s: S = 0
            for j in 0..<n { s += x[r * n + j] * x[r * n + j] }
            let inv = 1 / S.sqrt(s / S(n) + eps)
            inverse[r] = inv
            for j in 0..<n { out[r * n + j] = x[r * n + j] * inv * gain[j] }
        }
    }

    /// dx += inv·(gain⊙dh) − x·inv³/n·Σ(x⊙gain⊙dh), per row.
    func rmsNormBackward(_ x: [S], _ inverse: [S], _ gain: [S], dh: [S], rows: Int, accumulateInto dx: inout [S]) {
        let n = gain.count
        matmul.elementwise(rows * n, 8) // the dot (3) and the update (5)
        for r in 0..<rows {
            let inv = inverse[r]
            var dot: S = 0
            for j in 0..<n { dot += x[r * n + j] * gain[j] * dh[r * n + j] }
            let k = inv * inv * inv * dot / S(n)
            for j in 0..<n { dx[r * n + j] += inv * gain[j] * dh[r * n + j] - k * x[r * n + j] }
        }
    }

    // MARK: SwiGLU

    /// m = SiLU(g)⊙u, SiLU(g) = g·σ(g).
    func swiGLU(_ g: [S], _ u: [S], into m: inout [S]) {
        matmul.elementwise(g.count, 5) // negate, exp, add, divide, multiply
        for i in 0..<g.count { m[i] = g[i] / (1 + S.exp(-g[i])) * u[i] }
    }

    /// dg = dm⊙u⊙σ(g)(1 + g(1−σ(g))), du = dm⊙SiLU(g).
    func swiGLUBackward(_ g: [S], _ u: [S], dm: [S], dg: inout [S], du: inout [S]) {
        matmul.elementwise(g.count, 11)
        for i in 0..<g.count {
            let s = 1 / (1 + S.exp(-g[i]))
            du[i] = dm[i] * g[i] * s
            dg[i] = dm[i] * u[i] * s * (1 + g[i] * (1 - s))
        }
    }

    // MARK: LoRA

    /// y[T][d_out] += s·(x·Aᵀ)·Bᵀ through a [T][r] intermediate; A and B are `p`'s slot of `ab`.
    func loraForward(_ x: [S], _ ab: [S], _ p: LoRALayout.Slot, rows: Int, into y: inout [S]) {
        let r = p.rank
        var t = [S](repeating: 0, count: rows * r)
        matmul(false, true, m: rows, n: r, k: p.dIn, x, lda: p.dIn, ab, p.a, ldb: p.dIn, &t, ldc: r)
        matmul(
            false, true, m: rows, n: p.dOut, k: r, alpha: loraScale, t, lda: r, ab, p.b, ldb: r, beta: 1, &y,
            ldc: p.dOut)
    }

    /// With t = x·Aᵀ (recomputed, it is cheap): dB += s·dyᵀ·t;  dt = s·dy·B;  dA += dtᵀ·x;  dx += dt·A.
    /// A, B are `p`'s slot of `ab`; dA, dB the same slot of `grads`.
    func loraBackward(
        _ x: [S], _ ab: [S], _ p: LoRALayout.Slot, dOut dy: [S], rows: Int, dIn dx: inout [S], grads: inout [S]
    ) {
        let r = p.rank
        var t = [S](repeating: 0, count: rows * r)
        matmul(false, true, m: rows, n: r, k: p.dIn, x, lda: p.dIn, ab, p.a, ldb: p.dIn, &t, ldc: r)
        matmul(
            true, false, m: p.dOut, n: r, k: rows, alpha: loraScale, dy, lda: p.dOut, t, ldb: r, beta: 1, &grads, p.b,
            ldc: r)
        var dt = [S](repeating: 0, count: rows * r)
        matmul(false, false, m: rows, n: r, k: p.dOut, alpha: loraScale, dy, lda: p.dOut, ab, p.b, ldb: r, &dt, ldc: r)
        matmul(true, false, m: r, n: p.dIn, k: rows, dt, lda: r, x, ldb: p.dIn, beta: 1, &grads, p.a, ldc: p.dIn)
        matmul(false, false, m: rows, n: p.dIn, k: r, dt, lda: r, ab, p.a, ldb: p.dIn, beta: 1, &dx, ldc: p.dIn)
    }
}
