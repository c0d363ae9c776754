/// Multi-head attention on token sequences, taped (see TapedOps.swift).

/// softmax(q·kᵀ/√d + bias)·v per head, with heads split as SAM's `_separate_heads`
/// (channel = head · d + j): q (B, Nq, C), k (B, Nk, C), v (B, Nk, Cv) → (B, Nq, Cv).
/// bias (heads, Nq, Nk) is a constant (TinyViT's attention biases), or nil.
/// The backward keeps q, k, v and recomputes the probabilities per head and per
/// block of query rows (Attention+Backward.swift): nothing quadratic is stored.
public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, bias: Tensor? = nil, tape: Tape?) -> Tensor {
    let (b, nq, c) = (q.shape[0], q.shape[1], q.shape[2])
    let (nk, cv) = (k.shape[1], v.shape[2])
    precondition(q.rank == 3 && k.shape == [b, nk, c] && v.shape == [b, nk, cv] && c % heads == 0 && cv % heads == 0,
                 "attention: q \(q.shape), k \(k.shape), v \(v.shape), \(heads) heads")
    precondition(bias == nil || bias!.shape == [heads, nq, nk], "attention: bias \(bias!.shape) for \(heads)×\(nq)×\(nk)")
    let shape = AttentionShape(sequences: b, heads: heads, queries: nq, keys: nk, headDim: c / heads, valueDim: cv / heads)
    let view = { (t: Tensor) in
        HeadView(t, sequenceStride: t.shape[1] * t.shape[2], rowStride: t.shape[2], headStride: t.shape[2] / heads)
    }
    let out = Tensor(uninitialized: [b, nq, cv])
    withExtendedLifetime(bias) {
        attentionForward(q: view(q), k: view(k), v: view(v), out: view(out), shape: shape, bias: bias?.ptr)
    }
    guard let tape else { return out }
    let qs = tape.slot(of: q), ks = tape.slot(of: k), vs = tape.slot(of: v)
    if qs == nil && ks == nil && vs == nil { return out }
    tape.record(out) { tape, dOut in
        withExtendedLifetime(bias) {
            attentionBackward(q: view(q), k: view(k), v: view(v), dOut: view(dOut),
                              dQ: qs.map { view(tape.gradient(slot: $0)) }, dK: ks.map { view(tape.gradient(slot: $0)) },
                              dV: vs.map { view(tape.gradient(slot: $0)) }, shape: shape, bias: bias?.ptr)
        }
    }
    return out
}

/// Attention on TinyViT's fused projection: qkv (B, N, heads · (2·keyDim + valueDim)), each
/// head's slice laid out [q | k | v] (as TinyViT's checkpoint stores it), → (B, N, heads · valueDim), heads merged.
/// The gradient lands in the same fused layout. bias (heads, N, N) is a constant, or nil.
public func fusedAttention(qkv: Tensor, heads: Int, keyDim: Int, valueDim: Int, bias: Tensor? = nil, tape: Tape?) -> Tensor {
    let (b, n, row) = (qkv.shape[0], qkv.shape[1], qkv.shape[2])
    let perHead = 2 * keyDim + valueDim
    precondition(qkv.rank == 3 && row == heads * perHead, "fusedAttention: qkv \(qkv.shape) for \(heads) heads × \(perHead)")
    precondition(bias == nil || bias!.shape == [heads, n, n], "fusedAttention: bias \(bias!.shape) for \(heads)×\(n)×\(n)")
    let shape = AttentionShape(sequences: b, heads: heads, queries: n, keys: n, headDim: keyDim, valueDim: valueDim)
    let view = { (t: Tensor, offset: Int) in HeadView(t, offset: offset, sequenceStride: n * row, rowStride: row, headStride: perHead) }
    let out = Tensor(uninitialized: [b, n, heads * valueDim])
    let outView = HeadView(out, sequenceStride: n * heads * valueDim, rowStride: heads * valueDim, headStride: valueDim)
    withExtendedLifetime(bias) {
        attentionForward(q: view(qkv, 0), k: view(qkv, keyDim), v: view(qkv, 2 * keyDim), out: outView, shape: shape, bias: bias?.ptr)
    }
    guard let tape, let s = tape.slot(of: qkv) else { return out }
    tape.record(out) { tape, dOut in
        let g = tape.gradient(slot: s)
        let dOutView = HeadView(dOut, sequenceStride: n * heads * valueDim, rowStride: heads * valueDim, headStride: valueDim)
        withExtendedLifetime(bias) {
            attentionBackward(q: view(qkv, 0), k: view(qkv, keyDim), v: view(qkv, 2 * keyDim), dOut: dOutView,
                              dQ: view(g, 0), dK: view(g, keyDim), dV: view(g, 2 * keyDim), shape: shape, bias: bias?.ptr)
        }
    }
    return out
}

/// Attention with SAM ViT's decomposed relative positions: q (B, qh·qw, C), k (B, kh·kw, C),
/// v (B, kh·kw, C), heads split as SAM's; rh (qh, kh, C/heads) and rw (qw, kw, C/heads) are the
/// gathered tables (`relativePositionTable`, constants). The bias depends on q, so it is built
/// per (sequence, head) in the forward (the engine's `addBias`) and per block of query rows in
/// the backward, where its gradient is added to dq.
public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, relativePosition rh: Tensor, _ rw: Tensor,
                      tape: Tape?) -> Tensor {
    let (b, nq, c) = (q.shape[0], q.shape[1], q.shape[2]), nk = k.shape[1]
    let d = c / heads
    precondition(k.shape == [b, nk, c] && v.shape == [b, nk, c] && c % heads == 0, "attention: q \(q.shape), k \(k.shape), v \(v.shape)")
    precondition(rh.rank == 3 && rw.rank == 3 && rh.shape[0] * rw.shape[0] == nq && rh.shape[1] * rw.shape[1] == nk
                 && rh.shape[2] == d && rw.shape[2] == d, "attention: relative tables \(rh.shape), \(rw.shape) for \(nq) × \(nk), head dim \(d)")
    let shape = AttentionShape(sequences: b, heads: heads, queries: nq, keys: nk, headDim: d)
    let view = { (t: Tensor) in HeadView(t, sequenceStride: t.shape[1] * c, rowStride: c, headStride: d) }
    let out = Tensor(uninitialized: [b, nq, c])
    let (qv, kv, vv, ov) = (view(q), view(k), view(v), view(out))
    attentionForward(q: qv, k: kv, v: vv, out: ov, shape: shape, addBias: { s, h, into in
        relativePositionBiasRows(q: qv.at(s, h), qStride: c, rh: rh, rw: rw, rows: 0..<nq, bias: into)
    })
    guard let tape else { return out }
    let qs = tape.slot(of: q), ks = tape.slot(of: k), vs = tape.slot(of: v)
    if qs == nil && ks == nil && vs == nil { return out }
    tape.record(out) { tape, dOut in
        let dQ = qs.map { view(tape.gradient(slot: $0)) }
        attentionBackward(q: view(q), k: view(k), v: view(v), dOut: view(dOut), dQ: dQ,
                          dK: ks.map { view(tape.gradient(slot: $0)) }, dV: vs.map { view(tape.gradient(slot: $0)) },
                          shape: shape,
                          biasRows: { s, h, rows, into in
                              relativePositionBiasRows(q: view(q).at(s, h), qStride: c, rh: rh, rw: rw, rows: rows, bias: into)
                          },
                          biasGradient: dQ.map { dQ in { s, h, rows, dBias in
                              relativePositionBiasBackward(dBias: dBias, rows: rows, rh: rh, rw: rw, dq: dQ.at(s, h), dqStride: c)
                          } })
    }
    return out
}
