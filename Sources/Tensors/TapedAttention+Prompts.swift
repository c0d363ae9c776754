/// SAM ViT attention with extra key/value columns (deep visual prompts), taped.

/// Attention on SAM ViT's fused projection qkv (B, n + N, 3C) (per row: [q heads | k heads |
/// v heads]), where the first n rows are image tokens on a (rh.shape[0] × rw.shape[0]) grid and
/// the last N rows are prompt tokens. Only the n image tokens query; all n + N rows are keys and
/// values. The decomposed relative-position bias (rh (qh, kh, d), rw (qw, kw, d), as
/// `attention(q:k:v:heads:relativePosition:_:tape:)`) applies to the image columns; the prompt
/// columns get zero bias (they have no position). → (B, n, C). With N = 0 this is SAM's
/// attention. The backward recomputes the probabilities per (sequence, head) and block of query
/// rows (attentionBackward), so nothing quadratic is kept; the gradient lands in qkv's layout.
public func promptedRelativePositionAttention(qkv: Tensor, heads: Int, relativePosition rh: Tensor, _ rw: Tensor,
                                              tape: Tape?) -> Tensor {
    let (b, rows, c3) = (qkv.shape[0], qkv.shape[1], qkv.shape[2])
    let c = c3 / 3, d = c / heads
    let n = rh.shape[0] * rw.shape[0], keys = rows
    precondition(qkv.rank == 3 && c3 == 3 * c && c % heads == 0 && rows >= n, "promptedRelativePositionAttention: qkv \(qkv.shape), \(heads) heads")
    precondition(rh.rank == 3 && rw.rank == 3 && rh.shape[1] * rw.shape[1] == n && rh.shape[0] == rh.shape[1]
                 && rw.shape[0] == rw.shape[1] && rh.shape[2] == d && rw.shape[2] == d,
                 "promptedRelativePositionAttention: relative tables \(rh.shape), \(rw.shape) for \(n) tokens, head dim \(d)")
    let shape = AttentionShape(sequences: b, heads: heads, queries: n, keys: keys, headDim: d)
    let view = { (t: Tensor, part: Int) in HeadView(t, offset: part * c, sequenceStride: rows * c3, rowStride: c3, headStride: d) }
    let out = Tensor(uninitialized: [b, n, c])
    let outView = HeadView(out, sequenceStride: n * c, rowStride: c, headStride: d)
    // Rows of the bias have `keys` columns: the image columns from the tables, then zeros.
    // `relativePositionBiasRows` writes packed rows of n, so it is called one row at a time.
    let biasRows = { (qh: UnsafeMutablePointer<Float>, rowRange: Range<Int>, into: UnsafeMutablePointer<Float>) in
        for r in rowRange {
            let row = into + (r - rowRange.lowerBound) * keys
            relativePositionBiasRows(q: qh, qStride: c3, rh: rh, rw: rw, rows: r..<(r + 1), bias: row)
            if keys > n { (row + n).update(repeating: 0, count: keys - n) }
        }
    }
    let (qv, kv, vv) = (view(qkv, 0), view(qkv, 1), view(qkv, 2))
    attentionForward(q: qv, k: kv, v: vv, out: outView, shape: shape, addBias: { s, h, into in
        biasRows(qv.at(s, h), 0..<n, into)
    })
    guard let tape, let slot = tape.slot(of: qkv) else { return out }
    tape.record(out) { tape, dOut in
        let g = tape.gradient(slot: slot)
        let dQ = view(g, 0)
        attentionBackward(q: qv, k: kv, v: vv, dOut: HeadView(dOut, sequenceStride: n * c, rowStride: c, headStride: d),
                          dQ: dQ, dK: view(g, 1), dV: view(g, 2), shape: shape,
                          biasRows: { s, h, rowRange, into in biasRows(qv.at(s, h), rowRange, into) },
                          biasGradient: { s, h, rowRange, dBias in
                              for r in rowRange {
                                  relativePositionBiasBackward(dBias: dBias + (r - rowRange.lowerBound) * keys, rows: r..<(r + 1),
                                                               rh: rh, rw: rw, dq: dQ.at(s, h), dqStride: c3)
                              }
                          })
    }
    return out
}
