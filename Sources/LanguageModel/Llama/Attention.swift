import COpenBLAS
import Dispatch

/// Splits 0..<count into `workers` contiguous chunks and runs them at once (inline for one).
func forEachChunk(_ count: Int, workers: Int, _ body: (Range<Int>) -> Void) {
    let n = max(1, min(workers, count))
    guard n > 1 else { body(0..<count); return }
    let per = (count + n - 1) / n
    DispatchQueue.concurrentPerform(iterations: n) { w in body((w * per)..<min(count, (w + 1) * per)) }
}

/// Runs `body` with OpenBLAS on one thread (restored after): heads run side by side, each on
/// its own core, and every sgemm then rounds the same way whatever the thread budget.
func withSingleThreadedBLAS<R>(_ body: () -> R) -> R {
    let threads = openblas_get_num_threads()
    if threads != 1 { openblas_set_num_threads(1) }
    defer { if threads != 1 { openblas_set_num_threads(threads) } }
    return body()
}

/// Causal self-attention, forward and backward, heads side by side on the pass's threads (the
/// forward splits heads; the backward splits KV groups, since heads of one group add into the
/// same dk and dv). Layouts are `LayerActivations`'.
extension LayerPass {
    /// a ← per head softmax(q kᵀ/√hd + causal mask) v; probabilities kept in acts.p.
    func attentionForward(_ acts: inout LayerActivations<S>) {
        let c = config, T = acts.tokens, hd = c.headDimension, d = c.embedding, kv = c.kvDimension
        let scale = 1 / S.sqrt(S(hd)), workers = min(matmul.threads, c.heads), records = acts.recordsAllHeads
        matmul.elementwise(c.heads * T * (T + 1) / 2, 5)  // causal softmax: max, subtract, exp, sum, scale
        matmul.meter?.add(Double(c.heads) * 4 * Double(T * T * hd))  // the two products per head
        // Without recording, each worker overwrites its own [T][T] scratch.
        var scratch = records ? [] : [S](repeating: 0, count: workers * T * T)
        withSingleThreadedBLAS {
            acts.q.withUnsafeBufferPointer { q in acts.k.withUnsafeBufferPointer { k in acts.v.withUnsafeBufferPointer { v in
                acts.a.withUnsafeMutableBufferPointer { a in acts.p.withUnsafeMutableBufferPointer { p in scratch.withUnsafeMutableBufferPointer { sp in
                    let (q, k, v, a, p, sp) = (q.baseAddress!, k.baseAddress!, v.baseAddress!, a.baseAddress!, p.baseAddress!, sp.baseAddress)
                    forEachChunk(workers, workers: workers) { range in
                        for w in range {
                            for head in stride(from: w, to: c.heads, by: workers) {
                                let group = head * c.kvHeads / c.heads
                                let probabilities = records ? p + head * T * T : sp! + w * T * T
                                S.gemm(false, true, m: T, n: T, k: hd, alpha: scale, q + head * hd, lda: d, k + group * hd, ldb: kv,
                                       beta: 0, probabilities, ldc: T)
                                Self.causalSoftmax(probabilities, T)
                                S.gemm(false, false, m: T, n: hd, k: T, alpha: 1, probabilities, lda: T, v + group * hd, ldb: kv,
                                       beta: 0, a + head * hd, ldc: d)
                            }
                        }
                    }
                } } }
            } } }
        }
    }

    /// Each row i of s [T][T] ← softmax of its first i + 1 entries, zero after them.
    static func causalSoftmax(_ s: UnsafeMutablePointer<S>, _ T: Int) {
        for i in 0..<T {
            let row = s + i * T
            var mx = -S.infinity
            for j in 0...i { mx = max(mx, row[j]) }
            var sum: S = 0
            for j in 0...i { let e = S.exp(row[j] - mx); row[j] = e; sum += e }
            let inv = 1 / sum
            for j in 0...i { row[j] *= inv }
            for j in (i + 1)..<max(i + 1, T) { row[j] = 0 }
        }
    }

    /// From da: dv += Pᵀ·da_h;  dP = da_h·vᵀ;  dS = P⊙(dP − rowsum(P⊙dP));  dq_h = dS·k/√hd;
    /// dk += dSᵀ·q_h/√hd (heads sharing a KV head accumulate into it, in head order).
    func attentionBackward(_ acts: LayerActivations<S>, da: [S], dq: inout [S], dk: inout [S], dv: inout [S]) {
        precondition(acts.recordsAllHeads, "attention backward needs every head's probabilities")
        let c = config, T = acts.tokens, hd = c.headDimension, d = c.embedding, kv = c.kvDimension
        let scale = 1 / S.sqrt(S(hd)), workers = min(matmul.threads, c.kvHeads)
        matmul.elementwise(c.heads * T * (T + 1) / 2, 4)  // softmax backward: dot (2), subtract, multiply
        matmul.meter?.add(Double(c.heads) * 8 * Double(T * T * hd))  // the four products per head
        var scratch = [S](repeating: 0, count: workers * T * T)
        withSingleThreadedBLAS {
            acts.p.withUnsafeBufferPointer { p in acts.q.withUnsafeBufferPointer { q in acts.k.withUnsafeBufferPointer { k in
                acts.v.withUnsafeBufferPointer { v in da.withUnsafeBufferPointer { da in scratch.withUnsafeMutableBufferPointer { sp in
                    dq.withUnsafeMutableBufferPointer { dq in dk.withUnsafeMutableBufferPointer { dk in dv.withUnsafeMutableBufferPointer { dv in
                        let (p, q, k, v, da, sp) = (p.baseAddress!, q.baseAddress!, k.baseAddress!, v.baseAddress!, da.baseAddress!, sp.baseAddress!)
                        let (dq, dk, dv) = (dq.baseAddress!, dk.baseAddress!, dv.baseAddress!)
                        forEachChunk(workers, workers: workers) { range in
                            for w in range {
                                let dp = sp + w * T * T
                                for head in 0..<c.heads where (head * c.kvHeads / c.heads) % workers == w {
                                    let group = head * c.kvHeads / c.heads, ph = p + head * T * T
                                    S.gemm(true, false, m: T, n: hd, k: T, alpha: 1, ph, lda: T, da + head * hd, ldb: d, beta: 1, dv + group * hd, ldc: kv)
                                    S.gemm(false, true, m: T, n: T, k: hd, alpha: 1, da + head * hd, lda: d, v + group * hd, ldb: kv, beta: 0, dp, ldc: T)
                                    Self.softmaxBackward(ph, dp, T)
                                    S.gemm(false, false, m: T, n: hd, k: T, alpha: scale, dp, lda: T, k + group * hd, ldb: kv, beta: 0, dq + head * hd, ldc: d)
                                    S.gemm(true, false, m: T, n: hd, k: T, alpha: scale, dp, lda: T, q + head * hd, ldb: d, beta: 1, dk + group * hd, ldc: kv)
                                }
                            }
                        }
                    } } }
                } } }
            } } }
        }
    }

    /// dS = P⊙(dP − rowsum(P⊙dP)) in place of dP, row by row over the causal entries.
    static func softmaxBackward(_ p: UnsafePointer<S>, _ dp: UnsafeMutablePointer<S>, _ T: Int) {
        for i in 0..<T {
            let pr = p + i * T, dr = dp + i * T
            var dot: S = 0
            for j in 0...i { dot += pr[j] * dr[j] }
            for j in 0...i { dr[j] = pr[j] * (dr[j] - dot) }
            for j in (i + 1)..<max(i + 1, T) { dr[j] = 0 }
        }
    }
}
