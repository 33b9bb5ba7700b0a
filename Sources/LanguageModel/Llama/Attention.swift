/// Causal self-attention, forward and backward, one sgemm per product on OpenBLAS's own threads.
/// (Heads side by side on single-threaded sgemms were faster, but OpenBLAS's thread count is a
/// process-wide setting that passes running side by side in one process must not change under
/// each other.) Layouts are `LayerActivations`'.
extension LayerPass {
    /// a ← per head softmax(q kᵀ/√hd + causal mask) v; probabilities kept in acts.p when it records
    /// every head, else in a [H][T][T] scratch for the pass.
    func attentionForward(_ acts: inout LayerActivations<S>) {
        let c = config
        let T = acts.tokens
        let hd = c.headDimension
        let d = c.embedding
        let kv = c.kvDimension
        let scale = 1 / S.sqrt(S(hd))
        let records = acts.recordsAllHeads
        matmul.elementwise(c.heads * T * (T + 1) / 2, 5) // causal softmax: max, subtract, exp, sum, scale
        var scratch = records ? [] : [S](repeating: 0, count: c.heads * T * T)
        for head in 0..<c.heads {
            let group = head * c.kvHeads / c.heads
            if records {
                matmul(
                    false, true, m: T, n: T, k: hd, alpha: scale, acts.q, head * hd, lda: d, acts.k, group * hd,
                    ldb: kv, &acts.p, head * T * T, ldc: T)
            } else {
                matmul(
                    false, true, m: T, n: T, k: hd, alpha: scale, acts.q, head * hd, lda: d, acts.k, group * hd,
                    ldb: kv, &scratch, head * T * T, ldc: T)
            }
        }
        func softmaxAll(_ p: UnsafeMutablePointer<S>) {
            for head in 0..<c.heads { Self.causalSoftmax(p + head * T * T, T) }
        }
        if records {
            acts.p.withUnsafeMutableBufferPointer { softmaxAll($0.baseAddress!) }
        } else {
            scratch.withUnsafeMutableBufferPointer { softmaxAll($0.baseAddress!) }
        }
        for head in 0..<c.heads {
            let group = head * c.kvHeads / c.heads
            matmul(
                false, false, m: T, n: hd, k: T, records ? acts.p : scratch, head * T * T, lda: T, acts.v, group * hd,
                ldb: kv, &acts.a, head * hd, ldc: d)
        }
    }

    /// Each row i of s [T][T] ← softmax of its first i + 1 entries, zero after them.
    static func causalSoftmax(_ s: UnsafeMutablePointer<S>, _ T: Int) {
        for i in 0..<T {
            let row = s + i * T
            var mx = -S.infinity
            for j in 0...i { mx = max(mx, row[j]) }
            var sum: S = 0
            for j in 0...i {
                let e = S.exp(row[j] - mx)
                row[j] = e
                sum += e
            }
            let inv = 1 / sum
            for j in 0...i { row[j] *= inv }
            for j in (i + 1)..<max(i + 1, T) { row[j] = 0 }
        }
    }

    /// From da: dv += Pᵀ·da_h;  dP = da_h·vᵀ;  dS = P⊙(dP − rowsum(P⊙dP));  dq_h = dS·k/√hd;
    /// dk += dSᵀ·q_h/√hd (heads sharing a KV head accumulate into it, in head order).
    func attentionBackward(_ acts: LayerActivations<S>, da: [S], dq: inout [S], dk: inout [S], dv: inout [S]) {
        precondition(acts.recordsAllHeads, "attention backward needs every head's probabilities")
        let c = config
        let T = acts.tokens
        let hd = c.headDimension
        let d = c.embedding
        let kv = c.kvDimension
        let scale = 1 / S.sqrt(S(hd))
        matmul.elementwise(c.heads * T * (T + 1) / 2, 4) // softmax backward: dot (2), subtract, multiply
        var dp = [S](repeating: 0, count: c.heads * T * T)
        for head in 0..<c.heads {
            let group = head * c.kvHeads / c.heads
            let po = acts.probabilityOffset(head: head)
            matmul(
                true, false, m: T, n: hd, k: T, acts.p, po, lda: T, da, head * hd, ldb: d, beta: 1, &dv, group * hd,
                ldc: kv)
            matmul(
                false, true, m: T, n: T, k: hd, da, head * hd, lda: d, acts.v, group * hd, ldb: kv, &dp, head * T * T,
                ldc: T)
        }
        acts.p.withUnsafeBufferPointer { p in
            dp.withUnsafeMutableBufferPointer { ds in
                let (p, ds) = (p.baseAddress!, ds.baseAddress!)
                for head in 0..<c.heads { Self.softmaxBackward(p + head * T * T, ds + head * T * T, T) }
            }
        }
        for head in 0..<c.heads {
            let group = head * c.kvHeads / c.heads
            matmul(
                false, false, m: T, n: hd, k: T, alpha: scale, dp, head * T * T, lda: T, acts.k, group * hd, ldb: kv,
                &dq, head * hd, ldc: d)
            matmul(
                true, false, m: T, n: hd, k: T, alpha: scale, dp, head * T * T, lda: T, acts.q, head * hd, ldb: d,
                beta: 1, &dk, group * hd, ldc: kv)
        }
    }

    /// dS = P⊙(dP − rowsum(P⊙dP)) in place of dP, row by row over the causal entries.
    static func softmaxBackward(_ p: UnsafePointer<S>, _ dp: UnsafeMutablePointer<S>, _ T: Int) {
        for i in 0..<T {
            let pr = p + i * T
            let dr = dp + i * T
            var dot: S = 0
            for j in 0...i { dot += pr[j] * dr[j] }
            for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) }
            for j in (i + 1)..<max(i + 1, T) { dr[j] = 0 }
        }
    }
}
