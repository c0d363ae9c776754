/// Windowed multi-head self-attention with pre-norm and residual, fused over rows
/// of windows (TinyViT's attention path):
///   y = x + unpartition(proj(attention(qkv(LayerNorm(partition(x))))))
/// Unfused, the padded windows, their normalised copy, the (tokens, 3C) qkv and
/// the attention output each make a full pass through memory. Here one row of
/// windows at a time is gathered (zero padding as upstream: before the norm),
/// normalised, projected, attended and scattered back with the residual, while
/// its buffers stay in cache; rows run in parallel with single-threaded BLAS.

public struct WindowAttentionWeights {
    public var normWeight: Tensor, normBias: Tensor, normEps: Float
    /// (3C, C), (3C); (C, C), (C).
    public var qkv: Tensor, qkvBias: Tensor, proj: Tensor, projBias: Tensor
    /// Additive bias (heads, window², window²), or nil.
    public var bias: Tensor?
    public var heads: Int
    /// Where head h's q, k, v sit in a qkv row: part p at `p · partStride + h · headStride`
    /// (TinyViT: partStride = d, headStride = 3d; SAM: partStride = C, headStride = d).
    public var partStride: Int, headStride: Int
    public init(normWeight: Tensor, normBias: Tensor, normEps: Float, qkv: Tensor, qkvBias: Tensor,
                proj: Tensor, projBias: Tensor, bias: Tensor?, heads: Int, partStride: Int, headStride: Int) {
        self.normWeight = normWeight; self.normBias = normBias; self.normEps = normEps
        self.qkv = qkv; self.qkvBias = qkvBias; self.proj = proj; self.projBias = projBias
        self.bias = bias; self.heads = heads; self.partStride = partStride; self.headStride = headStride
    }
}

/// x (1, H, W, C) → x + windowed attention of x, same shape.
public func residualWindowAttentionForward(_ x: Tensor, _ p: WindowAttentionWeights, window: Int) -> Tensor {
    let (h, w, c) = (x.shape[1], x.shape[2], x.shape[3])
    precondition(x.shape[0] == 1 && p.qkv.shape == [3 * c, c] && p.proj.shape == [c, c], "residualWindowAttentionForward: \(x.shape)")
    let nh = (h + window - 1) / window, nw = (w + window - 1) / window
    let n = window * window, tileTokens = nw * n, d = c / p.heads
    let out = Tensor(uninitialized: x.shape)
    withExtendedLifetime((x, p, out)) {
        let xs = UncheckedBox(x.ptr), ys = UncheckedBox(out.ptr)
        let wts = UncheckedBox((p.normWeight.ptr, p.normBias.ptr, p.qkv.ptr, p.qkvBias.ptr, p.proj.ptr, p.projBias.ptr, p.bias?.ptr))
        Threads.parallelRanges(nh) { windowRows in
            let (nwt, nb, wq, bq, wp, bp, bias) = wts.value
            let tokens = UnsafeMutablePointer<Float>.allocate(capacity: tileTokens * c)
            let qkv = UnsafeMutablePointer<Float>.allocate(capacity: tileTokens * 3 * c)
            let attended = UnsafeMutablePointer<Float>.allocate(capacity: tileTokens * c)
            let projected = UnsafeMutablePointer<Float>.allocate(capacity: tileTokens * c)
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
            defer { tokens.deallocate(); qkv.deallocate(); attended.deallocate(); projected.deallocate(); scores.deallocate() }
            for wy in windowRows {
                // Gather the row of windows (window-major, row-major inside), zero-padded, normalised in place.
                for wx in 0..<nw {
                    for t in 0..<n {
                        let y = wy * window + t / window, xx = wx * window + t % window
                        let dst = tokens + (wx * n + t) * c
                        if y < h && xx < w { dst.update(from: xs.value + (y * w + xx) * c, count: c) } else { dst.update(repeating: 0, count: c) }
                        layerNormRow(dst, dst, nwt, nb, c, p.normEps)
                    }
                }
                linearForward(tokens, wq, bq, qkv, rows: tileTokens, inFeatures: c, outFeatures: 3 * c)
                for wx in 0..<nw {
                    for head in 0..<p.heads {
                        let base = qkv + wx * n * 3 * c + head * p.headStride
                        if let bias { scores.update(from: bias + head * n * n, count: n * n) }
                        gemm(transB: true, m: n, n: n, k: d, alpha: 1 / Float(d).squareRoot(), a: base, lda: 3 * c,
                             b: base + p.partStride, ldb: 3 * c, beta: bias == nil ? 0 : 1, c: scores, ldc: n)
                        softmaxRowsForward(scores, rows: n, width: n)
                        gemm(m: n, n: d, k: n, a: scores, lda: n, b: base + 2 * p.partStride, ldb: 3 * c,
                             c: attended + wx * n * c + head * d, ldc: c)
                    }
                }
                linearForward(attended, wp, bp, projected, rows: tileTokens, inFeatures: c, outFeatures: c)
                // Scatter back the real (unpadded) tokens with the residual.
                for wx in 0..<nw {
                    for t in 0..<n {
                        let y = wy * window + t / window, xx = wx * window + t % window
                        guard y < h && xx < w else { continue }
                        let o = (y * w + xx) * c
                        addForward(projected + (wx * n + t) * c, xs.value + o, ys.value + o, c)
                    }
                }
            }
        }
    }
    return out
}
