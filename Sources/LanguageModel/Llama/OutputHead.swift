/// The model's head and loss: hN = RMSNorm(x)·g_out, logits z = hN·Eᵀ (E the output matrix, or the
/// embeddings when tied), and the next-token log-probabilities log softmax(z_t)[tokens[t+1]] for
/// t = 0..<T−1 (the last position has no target; as llama.cpp's perplexity, each window's first
/// token is never a target).
///
/// The vocabulary is processed in row chunks of E (`weights.outputChunkRows`): one chunk of all V
/// rows in the cached mode, a few thousand rows in the streamed mode (an online log-sum-exp in
/// forward). Backward uses each chunk's logits kept from forward when asked to (the [T][V] of them),
/// else recomputes them chunk by chunk, so that mode never holds [T][V].
struct OutputHead<S: LlamaScalar> {
    let weights: LlamaWeights<S>
    let matmul: Matmul<S>

    /// z [T][C] ← hN·E[chunk]ᵀ: on E's blocks when the weights carry them (hNq, hN quantized once
    /// per pass; forward and backward's recomputation then see the same logits), else sgemm.
    func chunkLogits(
        _ hN: [S], _ hNq: QuantizedActivations?, _ chunk: Range<Int>, _ e: @autoclosure () -> [S], into z: inout [S]
    ) {
        if let hNq, let blocks = weights.outputBlocks {
            matmul.linear(hNq, blocks.rows(chunk), into: &z)
            weights.releaseOutput(rows: chunk)
        } else {
            matmul.linear(
                hN, e(), rows: hN.count / weights.config.embedding, inner: weights.config.embedding,
                outputs: chunk.count, into: &z)
        }
    }

    /// hN quantized for the output's blocks, or nil when the head runs on Float weights.
    func quantizedInput(_ hN: [S], rows: Int) -> QuantizedActivations? {
        weights.outputBlocks == nil ? nil : matmul.quantize(hN, rows: rows, inner: weights.config.embedding)
    }

    /// What backward needs: the normalised input, its row scales, the logits when kept, the log-sum-exp.
    struct Saved {
        var x: [S] // [T][d] final residual stream
        var hN: [S] // [T][d]
        var inv: [S] // [T]
        var logits: [[S]]? // [T][C] per vocabulary chunk, when kept
        var logSumExp: [S] // [T]
    }

    var chunks: [Range<Int>] {
        let V = weights.config.vocabulary
        let n = weights.outputChunkRows
        return stride(from: 0, to: V, by: n).map { $0..<min($0 + n, V) }
    }

    /// Log-probabilities of tokens[1...] ([T−1]) from the final residual stream x [T][d].
    func forward(_ x: [S], tokens: [Int], pass: LayerPass<S>, keepLogits: Bool) -> (logProbabilities: [S], saved: Saved)
    {
        let T = tokens.count
        let d = weights.config.embedding
        var hN = [S](repeating: 0, count: T * d)
        var inv = [S](repeating: 0, count: T)
        pass.rmsNorm(x, weights.outputNorm, rows: T, into: &hN, inverse: &inv)
        var runningMax = [S](repeating: -S.infinity, count: T)
        var runningSum = [S](repeating: 0, count: T)
        var target = [S](repeating: 0, count: T)
        var kept: [[S]]? = keepLogits ? [] : nil
        let hNq = quantizedInput(hN, rows: T)
        for chunk in chunks {
            let C = chunk.count
            var z = [S](repeating: 0, count: T * C)
            chunkLogits(hN, hNq, chunk, weights.outputRows(chunk), into: &z)
            matmul.elementwise(T * C, 4) // online log-sum-exp: max, subtract, exp, add
            z.withUnsafeBufferPointer { pz in
                for t in 0..<T {
                    let row = pz.baseAddress! + t * C
                    var mx = runningMax[t]
                    for j in 0..<C { mx = max(mx, row[j]) }
                    var sum = runningSum[t] * S.exp(runningMax[t] - mx)
                    for j in 0..<C { sum += S.exp(row[j] - mx) }
                    runningMax[t] = mx
                    runningSum[t] = sum
                    if t + 1 < T, chunk.contains(tokens[t + 1]) { target[t] = row[tokens[t + 1] - chunk.lowerBound] }
                }
            }
            if keepLogits { kept!.append(z) }
        }
        let lse = (0..<T).map { runningMax[$0] + S.log(runningSum[$0]) }
        let logps = (0..<(T - 1)).map { target[$0] - lse[$0] }
        return (logps, Saved(x: x, hN: hN, inv: inv, logits: kept, logSumExp: lse))
    }

    /// dx [T][d] of the loss L = weight·Σ_t −log p_t: dz = weight·(softmax(z_t) − onehot(tokens[t+1]))
    /// on every scored row, dhN = dz·E, then RMSNorm's backward.
    /// Consumes the kept logits (they become the gradient in place, no [T][V] copy).
    func backward(_ saved: inout Saved, tokens: [Int], pass: LayerPass<S>, weight: S) -> [S] {
        let T = tokens.count
        let d = weights.config.embedding
        var dhN = [S](repeating: 0, count: T * d)
        let hNq = saved.logits == nil ? quantizedInput(saved.hN, rows: T) : nil
        let blocksT = weights.quantized?.outputTransposed
        for (i, chunk) in chunks.enumerated() {
            // The Float rows only when a product runs on them.
            let e = blocksT == nil ? weights.outputRows(chunk) : []
            let C = chunk.count
            var z: [S]
            if saved.logits != nil {
                z = []
                swap(&z, &saved.logits![i])
            } else {
                z = [S](repeating: 0, count: T * C)
                chunkLogits(saved.hN, hNq, chunk, e, into: &z)
            }
            matmul.elementwise(T * C, 3) // softmax − one-hot: subtract, exp, scale
            z.withUnsafeMutableBufferPointer { pz in
                for t in 0..<T {
                    let row = pz.baseAddress! + t * C
                    guard t + 1 < T else {
                        for j in 0..<C { row[j] = 0 }
                        continue
                    }
                    let lse = saved.logSumExp[t]
                    for j in 0..<C { row[j] = weight * S.exp(row[j] - lse) }
                    if chunk.contains(tokens[t + 1]) { row[tokens[t + 1] - chunk.lowerBound] -= weight }
                }
            }
            // dhN += dz·E[chunk]: on Eᵀ's blocks (the head on blocks has one chunk, all V rows).
            if let blocksT, C == weights.config.vocabulary, let zq = matmul.quantize(z, rows: T, inner: C) {
                matmul.linear(zq, blocksT, beta: 1, into: &dhN)
            } else {
                let e = e.isEmpty ? weights.outputRows(chunk) : e
                matmul(false, false, m: T, n: d, k: C, z, lda: C, e, ldb: d, beta: 1, &dhN, ldc: d)
            }
        }
        var dx = [S](repeating: 0, count: T * d)
        pass.rmsNormBackward(saved.x, saved.inv, weights.outputNorm, dh: dhN, rows: T, accumulateInto: &dx)
        return dx
    }

    /// Full logits [T][V] (for tests and callers that want them).
    func logits(_ x: [S], pass: LayerPass<S>) -> [S] {
        let V = weights.config.vocabulary
        let d = weights.config.embedding
        let T = x.count / d
        var hN = [S](repeating: 0, count: T * d)
        var inv = [S](repeating: 0, count: T)
        pass.rmsNorm(x, weights.outputNorm, rows: T, into: &hN, inverse: &inv)
        var out = [S](repeating: 0, count: T * V)
        let hNq = quantizedInput(hN, rows: T)
        for chunk in chunks {
            if hNq != nil {
                var z = [S](repeating: 0, count: T * chunk.count)
                chunkLogits(hN, hNq, chunk, [], into: &z)
                for t in 0..<T {
                    for j in 0..<chunk.count { out[t * V + chunk.lowerBound + j] = z[t * chunk.count + j] }
                }
            } else {
                let e = weights.outputRows(chunk)
                matmul(false, true, m: T, n: chunk.count, k: d, hN, lda: d, e, ldb: d, &out, chunk.lowerBound, ldc: V)
            }
        }
        return out
    }
}
