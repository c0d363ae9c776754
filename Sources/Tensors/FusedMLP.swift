/// A transformer MLP with pre-norm and residual, fused over token tiles:
///   y = x + fc2(GELU(fc1(LayerNorm(x))))
/// Unfused, the (tokens, 4C) hidden activation streams through memory twice
/// (GELU, then fc2) and every op waits for the whole tensor; here each tile of
/// tokens keeps its normalised rows and hidden activation in cache, and tiles
/// run in parallel with single-threaded BLAS inside (one owner of threads).

public struct MLPWeights {
    public var normWeight: Tensor, normBias: Tensor, normEps: Float
    /// (hidden, C), (hidden); (C, hidden), (C).
    public var fc1: Tensor, fc1Bias: Tensor, fc2: Tensor, fc2Bias: Tensor
    public init(normWeight: Tensor, normBias: Tensor, normEps: Float, fc1: Tensor, fc1Bias: Tensor, fc2: Tensor, fc2Bias: Tensor) {
        self.normWeight = normWeight; self.normBias = normBias; self.normEps = normEps
        self.fc1 = fc1; self.fc1Bias = fc1Bias; self.fc2 = fc2; self.fc2Bias = fc2Bias
    }
}

/// x (..., C) → x + MLP(LayerNorm(x)), same shape. `tileTokens` tokens per step.
public func residualMLPForward(_ x: Tensor, _ p: MLPWeights, tileTokens: Int = 128) -> Tensor {
    let c = x.shape.last!, hidden = p.fc1.shape[0]
    precondition(p.fc1.shape == [hidden, c] && p.fc2.shape == [c, hidden], "residualMLPForward: \(x.shape) with fc1 \(p.fc1.shape)")
    let tokens = x.count / c
    let out = Tensor(uninitialized: x.shape)
    let tiles = (tokens + tileTokens - 1) / tileTokens
    withExtendedLifetime((x, p, out)) {
        let xs = UncheckedBox(x.ptr), ys = UncheckedBox(out.ptr)
        let w = UncheckedBox((p.normWeight.ptr, p.normBias.ptr, p.fc1.ptr, p.fc1Bias.ptr, p.fc2.ptr, p.fc2Bias.ptr))
        Threads.parallelRanges(tiles) { range in
            let (nw, nb, w1, b1, w2, b2) = w.value
            let normed = UnsafeMutablePointer<Float>.allocate(capacity: tileTokens * c)
            let act = UnsafeMutablePointer<Float>.allocate(capacity: tileTokens * hidden)
            defer { normed.deallocate(); act.deallocate() }
            for tile in range {
                let t0 = tile * tileTokens, n = min(tileTokens, tokens - t0)
                let src = xs.value + t0 * c, dst = ys.value + t0 * c
                for r in 0..<n { layerNormRow(src + r * c, normed + r * c, nw, nb, c, p.normEps) }
                linearForward(normed, w1, b1, act, rows: n, inFeatures: c, outFeatures: hidden)
                map8(act, act, n * hidden, gelu8)
                linearForward(act, w2, b2, dst, rows: n, inFeatures: hidden, outFeatures: c)
                addForward(dst, src, dst, n * c)
            }
        }
    }
    return out
}
