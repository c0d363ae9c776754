/// SAM ViT's decomposed relative positions (segment_anything/modeling/image_encoder.py,
/// add_decomposed_rel_pos) for the taped attention: a bias computed from the unscaled q,
///   bias[(y, x), (ky, kx)] = q[(y, x)]·Rh[y, ky] + q[(y, x)]·Rw[x, kx],
/// so its gradient flows into q. Rh (qh, kh, C) and Rw (qw, kw, C) are the gathered
/// tables (constants). Both kernels work on a block of query rows, so the attention
/// backward's blockwise recompute never needs a whole (queries × keys) tile.

/// Writes the bias of query rows `rows` into `bias` (rows.count × kh·kw). q points at
/// query row 0 of one (sequence, head), rows `qStride` apart.
public func relativePositionBiasRows(q: UnsafePointer<Float>, qStride: Int, rh: Tensor, rw: Tensor,
                                     rows: Range<Int>, bias: UnsafeMutablePointer<Float>) {
    let (kh, c) = (rh.shape[1], rh.shape[2])
    let (qw, kw) = (rw.shape[0], rw.shape[1])
    var relH = [Float](repeating: 0, count: kh), relW = [Float](repeating: 0, count: kw)
    for r in rows {
        let (y, x) = (r / qw, r % qw)
        let row = q + r * qStride
        for ky in 0..<kh { relH[ky] = innerProduct(row, rh.ptr + (y * kh + ky) * c, c) }
        for kx in 0..<kw { relW[kx] = innerProduct(row, rw.ptr + (x * kw + kx) * c, c) }
        let out = bias + (r - rows.lowerBound) * kh * kw
        for ky in 0..<kh { for kx in 0..<kw { out[ky * kw + kx] = relH[ky] + relW[kx] } }
    }
}

/// dBias (rows.count × kh·kw) ⇒ dq[(y, x)] += Σ_ky (Σ_kx dBias)·Rh[y, ky] + Σ_kx (Σ_ky dBias)·Rw[x, kx],
/// accumulated; dq points at query row 0 of one (sequence, head), rows `dqStride` apart.
public func relativePositionBiasBackward(dBias: UnsafePointer<Float>, rows: Range<Int>, rh: Tensor, rw: Tensor,
                                         dq: UnsafeMutablePointer<Float>, dqStride: Int) {
    let (kh, c) = (rh.shape[1], rh.shape[2])
    let (qw, kw) = (rw.shape[0], rw.shape[1])
    var sumH = [Float](repeating: 0, count: kh), sumW = [Float](repeating: 0, count: kw)
    for r in rows {
        let (y, x) = (r / qw, r % qw)
        let g = dBias + (r - rows.lowerBound) * kh * kw
        for ky in 0..<kh { sumH[ky] = 0 }
        for kx in 0..<kw { sumW[kx] = 0 }
        for ky in 0..<kh { for kx in 0..<kw { let v = g[ky * kw + kx]; sumH[ky] += v; sumW[kx] += v } }
        let out = dq + r * dqStride
        for ky in 0..<kh { addScaled(out, rh.ptr + (y * kh + ky) * c, sumH[ky], c) }
        for kx in 0..<kw { addScaled(out, rw.ptr + (x * kw + kx) * c, sumW[kx], c) }
    }
}

@inline(__always) func innerProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = Vec8(), i = 0
    while i + 8 <= n { acc = acc.addingProduct(load8(a + i), load8(b + i)); i += 8 }
    var s = acc.sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// y += alpha · x over n values.
@inline(__always) func addScaled(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ alpha: Float, _ n: Int) {
    let a8 = Vec8(repeating: alpha)
    var i = 0
    while i + 8 <= n { store8(load8(y + i).addingProduct(load8(x + i), a8), y + i); i += 8 }
    while i < n { y[i] += alpha * x[i]; i += 1 }
}
