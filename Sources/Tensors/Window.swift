/// Window partition and its inverse for windowed attention (TinyViT, SAM ViT).

/// x (N, H, W, C) → (N · nH · nW, window², C), zero-padded bottom/right up to a
/// multiple of `window`; windows numbered row-major within each image.
public func windowPartition(_ x: Tensor, window: Int) -> Tensor {
    let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let nh = (h + window - 1) / window, nw = (w + window - 1) / window
    let out = Tensor(zeros: [n * nh * nw, window * window, c])
    for b in 0..<n {
        for y in 0..<h {
            let wy = y / window, ty = y % window
            for xx in 0..<w {
                let win = (b * nh + wy) * nw + xx / window
                let token = ty * window + xx % window
                (out.ptr + (win * window * window + token) * c).update(from: x.ptr + ((b * h + y) * w + xx) * c, count: c)
            }
        }
    }
    return out
}

/// The inverse of `windowPartition`: windows (N · nH · nW, window², C) → (N, H, W, C),
/// dropping the padding.
public func windowUnpartition(_ windows: Tensor, window: Int, height h: Int, width w: Int) -> Tensor {
    let c = windows.shape[2]
    let nh = (h + window - 1) / window, nw = (w + window - 1) / window
    let n = windows.shape[0] / (nh * nw)
    let out = Tensor(uninitialized: [n, h, w, c])
    for b in 0..<n {
        for y in 0..<h {
            let wy = y / window, ty = y % window
            for xx in 0..<w {
                let win = (b * nh + wy) * nw + xx / window
                let token = ty * window + xx % window
                (out.ptr + ((b * h + y) * w + xx) * c).update(from: windows.ptr + (win * window * window + token) * c, count: c)
            }
        }
    }
    return out
}
