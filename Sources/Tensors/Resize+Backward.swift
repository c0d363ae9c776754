/// Backward of `resizeBilinear`: each output's gradient goes back to its four
/// source pixels with the forward's weights (a scatter, serial per plane).

/// dOut (P, outH, outW) ⇒ dX (P, H, W) += the weighted scatter.
public func resizeBilinearBackward(_ dOut: Tensor, into dX: Tensor) {
    let h = dX.shape[dX.rank - 2], w = dX.shape[dX.rank - 1]
    let outH = dOut.shape[dOut.rank - 2], outW = dOut.shape[dOut.rank - 1]
    let p = dX.count / (h * w)
    precondition(dOut.count == p * outH * outW, "resizeBilinearBackward: \(dOut.shape) for \(dX.shape)")
    let ys = sourceIndices(inSize: h, outSize: outH), xs = sourceIndices(inSize: w, outSize: outW)
    for plane in 0..<p {
        let src = dOut.ptr + plane * outH * outW, dst = dX.ptr + plane * h * w
        for oy in 0..<outH {
            let (y0, y1, ly) = ys[oy]
            for ox in 0..<outW {
                let (x0, x1, lx) = xs[ox]
                let g = src[oy * outW + ox]
                let top = g * (1 - ly), bottom = g * ly
                dst[y0 * w + x0] += top * (1 - lx)
                dst[y0 * w + x1] += top * lx
                dst[y1 * w + x0] += bottom * (1 - lx)
                dst[y1 * w + x1] += bottom * lx
            }
        }
    }
}
