/// MobileNetV2's inverted residual (TinyViT's MBConv) fused over row tiles:
///   y = act(x + project(act(depthwise3×3(act(expand(x))))))
/// with act = GELU and every convolution carrying a bias (BatchNorm folded).
///
/// Unfused, each stage streams a (H, W, 4C) tensor through memory — 64 MB per
/// pass at LiteMedSAM's 256×256 stage 0, far beyond any cache. Here bands of rows
/// run in parallel, and each walks its band a few rows at a time: the expanded rows it
/// needs (plus one halo row above and below) live in a small buffer that stays in
/// cache, are computed once (rows shared with the previous tile are moved, not
/// recomputed), and never reach main memory. Same arithmetic as the unfused path.

public struct InvertedResidualWeights {
    /// (hidden, C) and (hidden): the 1×1 expansion as a linear layer.
    public var expand: Tensor, expandBias: Tensor
    /// (3, 3, hidden) packed depthwise weight and (hidden) bias.
    public var depthwise: Tensor, depthwiseBias: Tensor
    /// (C, hidden) and (C): the 1×1 projection.
    public var project: Tensor, projectBias: Tensor
    public init(expand: Tensor, expandBias: Tensor, depthwise: Tensor, depthwiseBias: Tensor, project: Tensor, projectBias: Tensor) {
        self.expand = expand; self.expandBias = expandBias
        self.depthwise = depthwise; self.depthwiseBias = depthwiseBias
        self.project = project; self.projectBias = projectBias
    }
}

/// x (1, H, W, C) → (1, H, W, C). `tileRows` output rows per step, bands of `bandRows` rows in parallel.
public func invertedResidualForward(_ x: Tensor, _ p: InvertedResidualWeights, tileRows: Int = 2, bandRows: Int = 32) -> Tensor {
    let (h, w, c) = (x.shape[1], x.shape[2], x.shape[3])
    let hidden = p.expand.shape[0]
    precondition(x.shape[0] == 1 && p.expand.shape == [hidden, c] && p.depthwise.shape == [3, 3, hidden]
                 && p.project.shape == [c, hidden], "invertedResidualForward: \(x.shape) with expand \(p.expand.shape)")
    let out = Tensor(uninitialized: x.shape)
    let rowSize = w * hidden
    let geometry = ConvGeometry(kernel: 3, stride: 1, padding: 1)
    withExtendedLifetime((x, p, out)) {
        let xs = UncheckedBox(x.ptr), ys = UncheckedBox(out.ptr)
        let e = UncheckedBox((p.expand.ptr, p.expandBias.ptr, p.depthwise.ptr, p.depthwiseBias.ptr, p.project.ptr, p.projectBias.ptr))
        // Fixed bands (not one per thread): a band's first tile computes its halo
        // rows afresh, so the bits depend on where bands start, never on the thread count.
        let bands = (h + bandRows - 1) / bandRows
        Threads.parallelRanges(bands) { bandIndices in
            let (we, be, wd, bd, wp, bp) = e.value
            let expanded = UnsafeMutablePointer<Float>.allocate(capacity: (tileRows + 2) * rowSize)
            let mid = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * rowSize)
            defer { expanded.deallocate(); mid.deallocate() }
            for bandIndex in bandIndices {
                let band = (bandIndex * bandRows)..<min(h, (bandIndex + 1) * bandRows)
                var held = 0..<0                      // image rows now in `expanded`, in order
                var y0 = band.lowerBound
                while y0 < band.upperBound {
                    let y1 = min(y0 + tileRows, band.upperBound)
                    let need = max(y0 - 1, 0)..<min(y1 + 1, h)
                    // Keep the rows shared with the previous tile, compute the rest.
                    let kept = held.clamped(to: need)
                    if !kept.isEmpty && kept.lowerBound > held.lowerBound {
                        expanded.update(from: expanded + (kept.lowerBound - held.lowerBound) * rowSize, count: kept.count * rowSize)
                    }
                    let first = kept.isEmpty ? need.lowerBound : kept.upperBound
                    let dst = expanded + (first - need.lowerBound) * rowSize
                    let newRows = need.upperBound - first
                    if newRows > 0 {
                        linearForward(xs.value + first * w * c, we, be, dst, rows: newRows * w, inFeatures: c, outFeatures: hidden)
                        map8(dst, dst, newRows * rowSize, gelu8)
                    }
                    held = need
                    // Depthwise 3×3 + GELU for rows y0..<y1, reading the buffer as an image of `need.count` rows.
                    for y in y0..<y1 {
                        depthwiseRow(expanded, mid + (y - y0) * rowSize, wd, bd,
                                     h: need.count, w: w, c: hidden, oy: y - need.lowerBound, wo: w, g: geometry)
                    }
                    map8(mid, mid, (y1 - y0) * rowSize, gelu8)
                    // Project, add the input, GELU.
                    let target = ys.value + y0 * w * c
                    linearForward(mid, wp, bp, target, rows: (y1 - y0) * w, inFeatures: hidden, outFeatures: c)
                    addForward(target, xs.value + y0 * w * c, target, (y1 - y0) * w * c)
                    map8(target, target, (y1 - y0) * w * c, gelu8)
                    y0 = y1
                }
            }
        }
    }
    return out
}

