/// Floating-point operations of one forward pass, counted from the layer shapes
/// (2 per multiply-add; GEMMs, convolutions and attention products only —
/// pointwise work is a rounding error). Used by `segtune bench` for GFLOP/s.

extension TinyViT {
    /// FLOPs of one forward pass on a square image of `config.imageSize`.
    public var forwardFLOPs: Double {
        let c = config
        var f = 0.0
        var side = Double(c.imageSize)
        let e = c.embedDims.map(Double.init)
        func pix() -> Double { side * side }
        f += 2 * pix() * (3 * e[0] / 2 + e[0] / 2 * e[0])                       // patch_embed: two 1×1
        let hidden = e[0] * Double(c.mbconvExpandRatio)
        f += Double(c.depths[0]) * 2 * pix() * (2 * e[0] * hidden + 9 * hidden)  // MBConv
        for i in 0..<(c.depths.count) {
            if i > 0 {
                let window = Double(c.windowSizes[i])
                let padded = (side / window).rounded(.up) * window
                let tokens = padded * padded, dim = e[i]
                let perBlock = 2 * tokens * dim * 3 * dim      // qkv
                    + 4 * tokens * window * window * dim        // q·kᵀ and p·v
                    + 2 * tokens * dim * dim                    // proj
                    + 2 * pix() * 9 * dim                       // local conv
                    + 2 * pix() * 2 * dim * Double(c.mlpRatio) * dim // mlp
                f += Double(c.depths[i]) * perBlock
            }
            if i + 1 < c.depths.count {                          // PatchMerging
                let out = e[i + 1]
                f += 2 * pix() * e[i] * out
                if ![320.0, 448, 576].contains(out) { side /= 2 }
                f += 2 * pix() * (9 * out + out * out)
            }
        }
        let n = Double(c.outChannels)
        f += 2 * pix() * (e.last! * n + 9 * n * n)                               // neck
        return f
    }
}

extension ImageEncoderViT {
    /// FLOPs of one forward pass at `config.imageSize`.
    public var forwardFLOPs: Double {
        let c = config
        let grid = Double(c.imageSize / c.patchSize), n = grid * grid, d = Double(c.embedDim)
        var f = 2 * n * 3 * Double(c.patchSize * c.patchSize) * d                  // patch embedding
        for i in 0..<c.depth {
            let global = c.globalAttnIndexes.contains(i)
            let w = Double(c.windowSize)
            let tokens = global ? n : pow2((grid / w).rounded(.up) * w)
            let keys = global ? n : w * w
            let side = global ? grid : w
            f += 2 * tokens * d * 4 * d                                            // qkv and proj
            f += 4 * tokens * keys * d                                             // q·kᵀ and p·v
            f += 2 * tokens * 2 * side * d                                         // relative positions
            f += 2 * n * 2 * d * Double(c.mlpRatio) * d                            // mlp
        }
        let o = Double(c.outChans)
        return f + 2 * n * (d * o + 9 * o * o)                                     // neck
    }
}

@inline(__always) func pow2(_ x: Double) -> Double { x * x }

extension MaskDecoder {
    /// FLOPs of one decode of `tokens` sparse tokens on an h×w embedding (64×64).
    public func forwardFLOPs(sparseTokens: Int, side: Int = 64) -> Double {
        let d = Double(transformerDim), hw = Double(side * side)
        let t = Double(1 + numMaskTokens + sparseTokens), half = d / 2
        var f = 0.0
        let selfAttn = 2 * t * d * d * 4 + 4 * t * t * d
        let crossProjections = 2 * (t * d * half + hw * d * half * 2 + t * half * d) // q, k, v, out for token→image
        let crossProducts = 4 * t * hw * half
        let mlp = 2 * t * d * 2048 * 2
        let imageToToken = 2 * (hw * d * half + t * d * half * 2 + hw * half * d) + 4 * t * hw * half
        f += Double(transformer.layers.count) * (selfAttn + crossProjections + crossProducts + mlp + imageToToken)
        f += crossProjections + crossProducts                                          // final attention
        f += 2 * hw * d * d + 2 * 4 * hw * (d / 4) * (d / 2)                           // two transposed convs
        f += Double(numMaskTokens) * (2 * 2 * d * d + 2 * d * d / 8) + 2 * 16 * hw * (d / 8) * Double(numMaskTokens)
        return f
    }
}
