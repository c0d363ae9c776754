/// Backward of window partition and unpartition (Window.swift): each is the other's
/// adjoint, accumulated; padding positions carry no gradient.

/// dWindows (N · nH · nW, window², C) ⇒ dX (N, H, W, C) += the unpadded tokens.
public func windowPartitionBackward(_ dWindows: Tensor, window: Int, into dX: Tensor) {
    let (n, h, w, c) = (dX.shape[0], dX.shape[1], dX.shape[2], dX.shape[3])
    let nh = (h + window - 1) / window, nw = (w + window - 1) / window
    precondition(dWindows.shape == [n * nh * nw, window * window, c], "windowPartitionBackward: \(dWindows.shape) for \(dX.shape)")
    for b in 0..<n {
        for y in 0..<h {
            for xx in 0..<w {
                let win = (b * nh + y / window) * nw + xx / window
                let token = (y % window) * window + xx % window
                let dst = dX.ptr + ((b * h + y) * w + xx) * c
                addForward(dst, dWindows.ptr + (win * window * window + token) * c, dst, c)
            }
        }
    }
}

/// dX (N, H, W, C) ⇒ dWindows (N · nH · nW, window², C) += dX at each unpadded token.
public func windowUnpartitionBackward(_ dX: Tensor, window: Int, into dWindows: Tensor) {
    let (n, h, w, c) = (dX.shape[0], dX.shape[1], dX.shape[2], dX.shape[3])
    let nh = (h + window - 1) / window, nw = (w + window - 1) / window
    precondition(dWindows.shape == [n * nh * nw, window * window, c], "windowUnpartitionBackward: \(dWindows.shape) for \(dX.shape)")
    for b in 0..<n {
        for y in 0..<h {
            for xx in 0..<w {
                let win = (b * nh + y / window) * nw + xx / window
                let token = (y % window) * window + xx % window
                let dst = dWindows.ptr + (win * window * window + token) * c
                addForward(dst, dX.ptr + ((b * h + y) * w + xx) * c, dst, c)
            }
        }
    }
}
