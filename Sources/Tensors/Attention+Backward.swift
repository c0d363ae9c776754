/// Backward of softmax and of multi-head attention (Attention.swift), with
/// respect to q, k and v (and the softmax input); a bias is a constant.
///
/// Memory: the attention backward never keeps probabilities between forward and
/// backward. It recomputes them from q and k, per (sequence, head) and per block
/// of query rows (llm.c's attention backward, with flash-attention's
/// recompute), so a thread holds two tiles of at most `tileElements` floats (1 MB each by
/// default: 64 query rows of ViT-B's 4096-token global attention, instead of 64 MB per
/// head); short key sequences (the decoder's image→token attention) take all rows at once.

/// p = softmax(x) per row  ⇒  dX += p ⊙ (dP − Σ_j p_j dP_j). probs, dProbs, dInp are (rows, width).
public func softmaxRowsBackward(_ probs: UnsafePointer<Float>, _ dProbs: UnsafePointer<Float>,
                                _ dInp: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
    for r in 0..<rows {
        let p = probs + r * width, dp = dProbs + r * width, dx = dInp + r * width
        var dot: Float = 0
        for j in 0..<width { dot += p[j] * dp[j] }
        for j in 0..<width { dx[j] += p[j] * (dp[j] - dot) }
    }
}

/// Gradients of out = softmax(scale · q·kᵀ + bias) · v, accumulated into dQ, dK, dV
/// (views laid out like q, k, v; nil to skip one). Per (sequence s, head h), with
/// Q (queries, headDim), K (keys, headDim), V (keys, valueDim), dO (queries, valueDim),
/// for each block b of max(1, tileElements / keys) query rows:
///   P_b  = softmax(scale · Q_b Kᵀ + bias_b)     (recomputed, rows × keys)
///   dV  += P_bᵀ dO_b
///   dP_b = dO_b Vᵀ
///   dS_b = P_b ⊙ (dP_b − rowsum(P_b ⊙ dP_b))
///   dQ_b += scale · dS_b K
///   dK  += scale · dS_bᵀ Q_b
/// Parallel over (sequence, head) pairs, single-threaded BLAS inside; the pairs write
/// disjoint head slices, so q and k may share one gradient buffer (self-attention).
///
/// A bias that depends on activations (SAM ViT's relative positions, computed from q) comes
/// through two hooks instead of `bias`, called per (sequence, head, block of query rows):
/// `biasRows` writes the block's bias (rows.count × keys) for the recompute, and
/// `biasGradient` receives dL/dbias for the block (= dS_b) to route into its inputs.
/// Both run on worker threads; a hook must write only that (sequence, head)'s rows.
public func attentionBackward(q: HeadView, k: HeadView, v: HeadView, dOut: HeadView,
                              dQ: HeadView?, dK: HeadView?, dV: HeadView?, shape a: AttentionShape,
                              bias: UnsafePointer<Float>? = nil,
                              biasRows: ((_ sequence: Int, _ head: Int, _ rows: Range<Int>, _ into: UnsafeMutablePointer<Float>) -> Void)? = nil,
                              biasGradient: ((_ sequence: Int, _ head: Int, _ rows: Range<Int>, _ dBias: UnsafePointer<Float>) -> Void)? = nil,
                              tileElements: Int = 1 << 18) {
    let rowsPerBlock = min(a.queries, max(1, tileElements / max(a.keys, 1)))
    let tile = rowsPerBlock * a.keys
    let biasBox = UncheckedBox(bias), rowsBox = UncheckedBox(biasRows), gradBox = UncheckedBox(biasGradient)
    let biased = bias != nil || biasRows != nil
    Threads.parallelRanges(a.sequences * a.heads) { range in
        let p = UnsafeMutablePointer<Float>.allocate(capacity: tile)
        let dp = UnsafeMutablePointer<Float>.allocate(capacity: tile)
        defer { p.deallocate(); dp.deallocate() }
        for job in range {
            let s = job / a.heads, h = job % a.heads
            let qh = q.at(s, h), kh = k.at(s, h), vh = v.at(s, h), doh = dOut.at(s, h)
            for q0 in stride(from: 0, to: a.queries, by: rowsPerBlock) {
                let nb = min(rowsPerBlock, a.queries - q0)
                let qb = qh + q0 * q.rowStride, dob = doh + q0 * dOut.rowStride
                if let biasRows = rowsBox.value {
                    biasRows(s, h, q0..<(q0 + nb), p)
                } else if let bias = biasBox.value {
                    p.update(from: bias + (h * a.queries + q0) * a.keys, count: nb * a.keys)
                }
                gemm(transB: true, m: nb, n: a.keys, k: a.headDim, alpha: a.scale, a: qb, lda: q.rowStride,
                     b: kh, ldb: k.rowStride, beta: biased ? 1 : 0, c: p, ldc: a.keys)
                softmaxRowsForward(p, rows: nb, width: a.keys)
                if let dV {
                    gemm(transA: true, m: a.keys, n: a.valueDim, k: nb, a: p, lda: a.keys, b: dob, ldb: dOut.rowStride,
                         beta: 1, c: dV.at(s, h), ldc: dV.rowStride)
                }
                if dQ == nil && dK == nil && gradBox.value == nil { continue }
                gemm(transB: true, m: nb, n: a.keys, k: a.valueDim, a: dob, lda: dOut.rowStride,
                     b: vh, ldb: v.rowStride, c: dp, ldc: a.keys)
                for r in 0..<nb {
                    let pr = p + r * a.keys, dr = dp + r * a.keys
                    var dot: Float = 0
                    for j in 0..<a.keys { dot += pr[j] * dr[j] }
                    for j in 0..<a.keys { dr[j] = pr[j] * (dr[j] - dot) }
                }
                gradBox.value?(s, h, q0..<(q0 + nb), dp)
                if let dQ {
                    gemm(m: nb, n: a.headDim, k: a.keys, alpha: a.scale, a: dp, lda: a.keys, b: kh, ldb: k.rowStride,
                         beta: 1, c: dQ.at(s, h) + q0 * dQ.rowStride, ldc: dQ.rowStride)
                }
                if let dK {
                    gemm(transA: true, m: a.keys, n: a.headDim, k: nb, alpha: a.scale, a: dp, lda: a.keys,
                         b: qb, ldb: q.rowStride, beta: 1, c: dK.at(s, h), ldc: dK.rowStride)
                }
            }
        }
    }
}
