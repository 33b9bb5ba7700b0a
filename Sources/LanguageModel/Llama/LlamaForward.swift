import COpenBLAS
import Foundation

/// The Llama forward pass over one window of T tokens (inference; no KV cache across windows).
///
/// Activations are row-major [T][width]. Per layer (llama.cpp's LLM_ARCH_LLAMA graph):
///   h = RMSNorm(x)·g_attn;  q = h Wqᵀ, k = h Wkᵀ, v = h Wvᵀ;  RoPE(q, k) on adjacent pairs
///   (x₂ᵢ, x₂ᵢ₊₁) at angle pos·θ^(−2i/d_head) (GGUF's llama layout);  per head, causal
///   softmax(q kᵀ/√d_head) v with KV head ⌊h·kv/heads⌋;  x += attn Woᵀ;
///   h = RMSNorm(x)·g_ffn;  x += (SiLU(h Wgᵀ) ⊙ h Wuᵀ) Wdᵀ.
/// Then logits = RMSNorm(x)·g_out · Eᵀ (E the output matrix, or the embeddings when tied).
/// Every matrix product is one sgemm.
public struct LlamaForward {
    public let model: LlamaModel
    /// LoRA adapter added to the projections it targets: y = h Wᵀ + (α/r)(h Aᵀ) Bᵀ.
    public let adapter: LoRAAdapter?

    public init(model: LlamaModel, adapter: LoRAAdapter? = nil) {
        if let a = adapter { precondition(a.pairs.count == model.config.layers, "adapter has \(a.pairs.count) layers, model \(model.config.layers)") }
        self.model = model
        self.adapter = adapter
    }

    /// Logits [T][vocab] for `tokens` (positions 0..<T).
    public func logits(_ tokens: [Int]) throws -> [Float] {
        let c = model.config
        let T = tokens.count, d = c.embedding, kv = c.kvDimension, ff = c.feedForward, hd = c.headDimension
        guard T > 0 else { return [] }
        for (i, t) in tokens.enumerated() where t < 0 || t >= c.vocabulary {
            throw GGUFError(path: "tokens", offset: nil, problem: "token \(i) = \(t) is outside the vocabulary of \(c.vocabulary)")
        }
        var x = [Float](repeating: 0, count: T * d)
        for (i, t) in tokens.enumerated() { for j in 0..<d { x[i * d + j] = model.embeddings[t * d + j] } }
        var h = [Float](repeating: 0, count: T * d)
        var q = [Float](repeating: 0, count: T * d), k = [Float](repeating: 0, count: T * kv), v = [Float](repeating: 0, count: T * kv)
        var attn = [Float](repeating: 0, count: T * d)
        var scores = [Float](repeating: 0, count: T * T)
        var g = [Float](repeating: 0, count: T * ff), u = [Float](repeating: 0, count: T * ff)
        let (cosines, sines) = rotaryTables(positions: T, headDimension: hd, base: c.ropeBase)
        for (index, layer) in model.layers.enumerated() {
            let lora = adapter?.pairs[index] ?? [:]
            rmsNorm(x, layer.attentionNorm, rows: T, width: d, eps: c.rmsEpsilon, into: &h)
            matmul(h, layer.wq, rows: T, inner: d, outputs: d, into: &q)
            matmul(h, layer.wk, rows: T, inner: d, outputs: kv, into: &k)
            matmul(h, layer.wv, rows: T, inner: d, outputs: kv, into: &v)
            if let p = lora[.q] { addLoRA(h, p, rows: T, into: &q) }
            if let p = lora[.k] { addLoRA(h, p, rows: T, into: &k) }
            if let p = lora[.v] { addLoRA(h, p, rows: T, into: &v) }
            rotate(&q, rows: T, width: d, headDimension: hd, cosines, sines)
            rotate(&k, rows: T, width: kv, headDimension: hd, cosines, sines)
            attention(q: q, k: k, v: v, tokens: T, scores: &scores, into: &attn)
            matmul(attn, layer.wo, rows: T, inner: d, outputs: d, into: &h)
            if let p = lora[.o] { addLoRA(attn, p, rows: T, into: &h) }
            for i in 0..<(T * d) { x[i] += h[i] }
            rmsNorm(x, layer.ffnNorm, rows: T, width: d, eps: c.rmsEpsilon, into: &h)
            matmul(h, layer.gate, rows: T, inner: d, outputs: ff, into: &g)
            matmul(h, layer.up, rows: T, inner: d, outputs: ff, into: &u)
            if let p = lora[.gate] { addLoRA(h, p, rows: T, into: &g) }
            if let p = lora[.up] { addLoRA(h, p, rows: T, into: &u) }
            for i in 0..<(T * ff) { g[i] = g[i] / (1 + exp(-g[i])) * u[i] }
            matmul(g, layer.down, rows: T, inner: ff, outputs: d, into: &h)
            if let p = lora[.down] { addLoRA(g, p, rows: T, into: &h) }
            for i in 0..<(T * d) { x[i] += h[i] }
        }
        rmsNorm(x, model.outputNorm, rows: T, width: d, eps: c.rmsEpsilon, into: &h)
        var out = [Float](repeating: 0, count: T * c.vocabulary)
        matmul(h, model.output ?? model.embeddings, rows: T, inner: d, outputs: c.vocabulary, into: &out)
        return out
    }

    /// Causal grouped-query attention; q [T][heads·hd], k and v [T][kvHeads·hd], out [T][heads·hd].
    func attention(q: [Float], k: [Float], v: [Float], tokens T: Int, scores: inout [Float], into out: inout [Float]) {
        let c = model.config, hd = c.headDimension, d = c.embedding, kv = c.kvDimension
        let scale = 1 / Float(hd).squareRoot()
        for head in 0..<c.heads {
            let g = head * c.kvHeads / c.heads
            q.withUnsafeBufferPointer { pq in k.withUnsafeBufferPointer { pk in scores.withUnsafeMutableBufferPointer { ps in
                // scores[i][j] = q_i · k_j (row-major T×T).
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(T), Int32(T), Int32(hd), scale,
                            pq.baseAddress! + head * hd, Int32(d), pk.baseAddress! + g * hd, Int32(kv), 0, ps.baseAddress!, Int32(T))
            } } }
            for i in 0..<T {
                var m = -Float.infinity
                for j in 0...i { m = max(m, scores[i * T + j]) }
                var sum: Float = 0
                for j in 0...i { let e = exp(scores[i * T + j] - m); scores[i * T + j] = e; sum += e }
                for j in 0...i { scores[i * T + j] /= sum }
                for j in (i + 1)..<max(i + 1, T) { scores[i * T + j] = 0 }
            }
            scores.withUnsafeBufferPointer { ps in v.withUnsafeBufferPointer { pv in out.withUnsafeMutableBufferPointer { po in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(T), Int32(hd), Int32(T), 1,
                            ps.baseAddress!, Int32(T), pv.baseAddress! + g * hd, Int32(kv), 0, po.baseAddress! + head * hd, Int32(d))
            } } }
        }
    }

    /// out[T][outputs] = a[T][inner] · Wᵀ, W row-major [outputs][inner].
    func matmul(_ a: [Float], _ w: [Float], rows: Int, inner: Int, outputs: Int, into out: inout [Float]) {
        a.withUnsafeBufferPointer { pa in w.withUnsafeBufferPointer { pw in out.withUnsafeMutableBufferPointer { po in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inner), 1,
                        pa.baseAddress!, Int32(inner), pw.baseAddress!, Int32(inner), 0, po.baseAddress!, Int32(outputs))
        } } }
    }

    /// y[T][d_out] += (α/r) · (x Aᵀ) Bᵀ, two sgemms through a [T][r] intermediate.
    func addLoRA(_ x: [Float], _ p: LoRAPair, rows: Int, into y: inout [Float]) {
        let r = p.a.count / p.dIn
        var t = [Float](repeating: 0, count: rows * r)
        x.withUnsafeBufferPointer { px in p.a.withUnsafeBufferPointer { pa in t.withUnsafeMutableBufferPointer { pt in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(r), Int32(p.dIn), 1,
                        px.baseAddress!, Int32(p.dIn), pa.baseAddress!, Int32(p.dIn), 0, pt.baseAddress!, Int32(r))
        } } }
        t.withUnsafeBufferPointer { pt in p.b.withUnsafeBufferPointer { pb in y.withUnsafeMutableBufferPointer { py in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(p.dOut), Int32(r), adapter!.scale,
                        pt.baseAddress!, Int32(r), pb.baseAddress!, Int32(r), 1, py.baseAddress!, Int32(p.dOut))
        } } }
    }

    func rmsNorm(_ x: [Float], _ gain: [Float], rows: Int, width: Int, eps: Float, into out: inout [Float]) {
        for r in 0..<rows {
            var s: Float = 0
            for j in 0..<width { s += x[r * width + j] * x[r * width + j] }
            let inv = 1 / (s / Float(width) + eps).squareRoot()
            for j in 0..<width { out[r * width + j] = x[r * width + j] * inv * gain[j] }
        }
    }

    func rotaryTables(positions: Int, headDimension hd: Int, base: Float) -> ([Float], [Float]) {
        var cosines = [Float](repeating: 0, count: positions * hd / 2), sines = cosines
        for p in 0..<positions {
            for i in 0..<(hd / 2) {
                let angle = Double(p) * pow(Double(base), -2 * Double(i) / Double(hd))
                cosines[p * hd / 2 + i] = Float(cos(angle))
                sines[p * hd / 2 + i] = Float(sin(angle))
            }
        }
        return (cosines, sines)
    }

    func rotate(_ x: inout [Float], rows: Int, width: Int, headDimension hd: Int, _ cosines: [Float], _ sines: [Float]) {
        for r in 0..<rows {
            for head in 0..<(width / hd) {
                let o = r * width + head * hd
                for i in 0..<(hd / 2) {
                    let c = cosines[r * hd / 2 + i], s = sines[r * hd / 2 + i]
                    let a = x[o + 2 * i], b = x[o + 2 * i + 1]
                    x[o + 2 * i] = a * c - b * s
                    x[o + 2 * i + 1] = a * s + b * c
                }
            }
        }
    }
}

/// Perplexity as the issue defines it: the text's tokens (no BOS) in non-overlapping windows of
/// `context` tokens; every token but each window's first is scored by the log-probability the
/// model gives it from the tokens before it in the window.
public struct PerplexityResult: Sendable {
    public var perplexity: Double
    public var scoredTokens: Int
    /// log p of every scored token, in order.
    public var logProbabilities: [Double]
}

extension LlamaForward {
    public func perplexity(tokens: [Int], context: Int) throws -> PerplexityResult {
        precondition(context >= 2, "context must be at least 2")
        var logps = [Double]()
        let V = model.config.vocabulary
        var start = 0
        while start + 1 < tokens.count {
            let window = Array(tokens[start..<min(start + context, tokens.count)])
            let logits = try self.logits(window)
            for i in 0..<(window.count - 1) {
                let row = logits[(i * V)..<((i + 1) * V)]
                let m = Double(row.max()!)
                var sum = 0.0
                for z in row { sum += exp(Double(z) - m) }
                logps.append(Double(row[row.startIndex + window[i + 1]]) - m - log(sum))
            }
            start += context
        }
        let nll = -logps.reduce(0, +) / Double(max(logps.count, 1))
        return PerplexityResult(perplexity: exp(nll), scoredTokens: logps.count, logProbabilities: logps)
    }
}
