/// SAM ViT's decomposed relative positions (segment_anything/modeling/image_encoder.py,
/// get_rel_pos and add_decomposed_rel_pos): an additive attention bias built from
/// one table per axis, so a (q_h·q_w) × (k_h·k_w) bias costs (k_h + k_w) dot products per query.

/// get_rel_pos: the table (L, C) resized to 2·max(q, k) − 1 rows when L differs
/// (F.interpolate mode="linear", align_corners=False), then gathered into (q, k, C)
/// at relative coordinate (i·max(k/q, 1) − j·max(q/k, 1)) + (k − 1)·max(q/k, 1).
public func relativePositionTable(querySize q: Int, keySize k: Int, table: Tensor) -> Tensor {
    let length = 2 * max(q, k) - 1, c = table.shape[1]
    var resized = table
    if table.shape[0] != length {
        // Resize along the length axis: (L, C) → (C, L) planes of one row, then back.
        let planes = table.permuted([1, 0]).reshaped([c, 1, table.shape[0]])
        resized = resizeBilinear(planes, height: 1, width: length).reshaped([c, length]).permuted([1, 0])
    }
    let qScale = max(Double(k) / Double(q), 1), kScale = max(Double(q) / Double(k), 1)
    let out = Tensor(uninitialized: [q, k, c])
    for i in 0..<q {
        for j in 0..<k {
            // torch computes these coordinates in float and truncates with .long().
            let coord = Int(Double(i) * qScale - Double(j) * kScale + Double(k - 1) * kScale)
            (out.ptr + (i * k + j) * c).update(from: resized.ptr + coord * c, count: c)
        }
    }
    return out
}

/// Writes the decomposed relative-position bias of one (sequence, head) into `bias`
/// ((qh·qw) × (kh·kw)): bias[(y, x), (ky, kx)] = q[(y, x)]·Rh[y, ky] + q[(y, x)]·Rw[x, kx],
/// with q unscaled. q rows start at `q` with stride `qStride`; Rh (qh, kh, C), Rw (qw, kw, C).
public func decomposedRelativePositionBias(q: UnsafePointer<Float>, qStride: Int, rh: Tensor, rw: Tensor,
                                           bias: UnsafeMutablePointer<Float>) {
    let (qh, kh, c) = (rh.shape[0], rh.shape[1], rh.shape[2])
    let (qw, kw) = (rw.shape[0], rw.shape[1])
    var relH = [Float](repeating: 0, count: kh), relW = [Float](repeating: 0, count: kw)
    for y in 0..<qh {
        for x in 0..<qw {
            let row = q + (y * qw + x) * qStride
            for ky in 0..<kh { relH[ky] = dot(row, rh.ptr + (y * kh + ky) * c, c) }
            for kx in 0..<kw { relW[kx] = dot(row, rw.ptr + (x * kw + kx) * c, c) }
            let out = bias + (y * qw + x) * kh * kw
            for ky in 0..<kh { for kx in 0..<kw { out[ky * kw + kx] = relH[ky] + relW[kx] } }
        }
    }
}

@inline(__always) func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = Vec8(), i = 0
    while i + 8 <= n { acc = acc.addingProduct(load8(a + i), load8(b + i)); i += 8 }
    var s = acc.sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}
