/// Bilinear resize matching PyTorch's F.interpolate(mode="bilinear",
/// align_corners=False, antialias=False) when given an output size.

/// planes (P, H, W) → (P, outH, outW).
public func resizeBilinear(_ x: Tensor, height outH: Int, width outW: Int) -> Tensor {
    let p = x.count / (x.shape[x.rank - 2] * x.shape[x.rank - 1])
    let h = x.shape[x.rank - 2], w = x.shape[x.rank - 1]
    let out = Tensor(uninitialized: Array(x.shape.dropLast(2)) + [outH, outW])
    let ys = sourceIndices(inSize: h, outSize: outH), xs = sourceIndices(inSize: w, outSize: outW)
    for plane in 0..<p {
        let src = x.ptr + plane * h * w, dst = out.ptr + plane * outH * outW
        for oy in 0..<outH {
            let (y0, y1, ly) = ys[oy]
            let r0 = src + y0 * w, r1 = src + y1 * w
            for ox in 0..<outW {
                let (x0, x1, lx) = xs[ox]
                let top = r0[x0] * (1 - lx) + r0[x1] * lx
                let bottom = r1[x0] * (1 - lx) + r1[x1] * lx
                dst[oy * outW + ox] = top * (1 - ly) + bottom * ly
            }
        }
    }
    return out
}

/// PyTorch's area_pixel_compute_source_index for align_corners=False:
/// src = (dst + ½)·in/out − ½, clamped at 0; neighbours i and min(i+1, in−1).
func sourceIndices(inSize: Int, outSize: Int) -> [(Int, Int, Float)] {
    let scale = Float(inSize) / Float(outSize)
    return (0..<outSize).map { d in
        let src = max(0, scale * (Float(d) + 0.5) - 0.5)
        let i0 = min(Int(src), inSize - 1)
        let i1 = i0 < inSize - 1 ? i0 + 1 : i0
        return (i0, i1, src - Float(i0))
    }
}
