/// 2-D convolutions over channels-last tensors (N, H, W, C).
///
/// The engine keeps images channels-last so that a 1×1 convolution is a plain
/// GEMM, a depthwise convolution vectorises over channels, and LayerNorm2d is
/// the token LayerNorm. Weights are packed once at load time from PyTorch's
/// (out, in/groups, kh, kw) into (out, kh, kw, in/groups); depthwise ones into (kh, kw, C).

/// Packs a PyTorch conv weight (out, in/g, kh, kw) into (out, kh, kw, in/g).
public func packConvWeight(_ w: Tensor) -> Tensor {
    w.permuted([0, 2, 3, 1])
}

/// Packs a depthwise PyTorch weight (C, 1, kh, kw) into (kh, kw, C).
public func packDepthwiseWeight(_ w: Tensor) -> Tensor {
    w.reshaped([w.shape[0], w.shape[2], w.shape[3]]).permuted([1, 2, 0])
}

public struct ConvGeometry: Sendable, Equatable {
    public var kernel: Int, stride: Int, padding: Int
    public init(kernel: Int, stride: Int = 1, padding: Int = 0) {
        self.kernel = kernel; self.stride = stride; self.padding = padding
    }
    public func outSize(_ n: Int) -> Int { (n + 2 * padding - kernel) / stride + 1 }
}

/// Dense or grouped convolution. x (N, H, W, Cin), packed weight (Cout, k, k, Cin/groups),
/// bias (Cout) or nil → (N, Ho, Wo, Cout). 1×1 stride-1 convolutions go straight to
/// GEMM; others through im2col per group.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry, groups: Int = 1) -> Tensor {
    let (n, h, w, cin) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let cout = weight.shape[0], cg = cin / groups, og = cout / groups
    precondition(weight.shape == [cout, g.kernel, g.kernel, cg], "conv2d: weight \(weight.shape) for input \(x.shape)")
    let ho = g.outSize(h), wo = g.outSize(w)
    // Every output is written: bias copy + GEMM (beta 1), or GEMM alone (beta 0).
    let out = bias == nil ? Tensor(zeros: [n, ho, wo, cout]) : Tensor(uninitialized: [n, ho, wo, cout])
    if g.kernel == 1 && g.stride == 1 && g.padding == 0 && groups == 1 {
        linearForward(x.ptr, weight.ptr, bias?.ptr, out.ptr, rows: n * h * w, inFeatures: cin, outFeatures: cout)
        return out
    }
    let kk = g.kernel * g.kernel * cg
    let col = Tensor(uninitialized: [ho * wo, kk])
    for b in 0..<n {
        let src = x.ptr + b * h * w * cin, dst = out.ptr + b * ho * wo * cout
        if let bias { for p in 0..<(ho * wo) { (dst + p * cout).update(from: bias.ptr, count: cout) } }
        for grp in 0..<groups {
            im2col(src, col.ptr, h: h, w: w, c: cin, channelOffset: grp * cg, channels: cg, geometry: g, ho: ho, wo: wo)
            gemm(transB: true, m: ho * wo, n: og, k: kk, a: col.ptr, lda: kk,
                 b: weight.ptr + grp * og * kk, ldb: kk, beta: bias == nil ? 0 : 1,
                 c: dst + grp * og, ldc: cout)
        }
    }
    return out
}

/// col[(oy·Wo + ox), (ky·k + kx)·cg + ci] = x[oy·s − p + ky, ox·s − p + kx, offset + ci], zero outside.
func im2col(_ x: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, h: Int, w: Int, c: Int,
            channelOffset: Int, channels cg: Int, geometry g: ConvGeometry, ho: Int, wo: Int) {
    let k = g.kernel, kk = k * k * cg
    for oy in 0..<ho {
        for ox in 0..<wo {
            let row = col + (oy * wo + ox) * kk
            for ky in 0..<k {
                let iy = oy * g.stride - g.padding + ky
                for kx in 0..<k {
                    let ix = ox * g.stride - g.padding + kx
                    let dst = row + (ky * k + kx) * cg
                    if iy < 0 || iy >= h || ix < 0 || ix >= w {
                        dst.update(repeating: 0, count: cg)
                    } else {
                        dst.update(from: x + (iy * w + ix) * c + channelOffset, count: cg)
                    }
                }
            }
        }
    }
}

/// Depthwise convolution (groups == channels). x (N, H, W, C), packed weight (k, k, C),
/// bias (C) → (N, Ho, Wo, C); vectorised over channels, parallel over output rows.
public func depthwiseConv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry) -> Tensor {
    let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    precondition(weight.shape == [g.kernel, g.kernel, c], "depthwiseConv2d: weight \(weight.shape) for \(x.shape)")
    let ho = g.outSize(h), wo = g.outSize(w)
    let out = Tensor(uninitialized: [n, ho, wo, c])
    let zeros = Tensor(zeros: [c])
    let src = UncheckedBox(x.ptr), dst = UncheckedBox(out.ptr), wt = UncheckedBox(weight.ptr)
    let biasTensor = bias ?? zeros
    let bs = UncheckedBox(biasTensor.ptr)
    withExtendedLifetime(biasTensor) { Threads.parallelRanges(n * ho) { rows in
        for r in rows {
            let b = r / ho, oy = r % ho
            depthwiseRow(src.value + b * h * w * c, dst.value + (b * ho + oy) * wo * c, wt.value, bs.value,
                         h: h, w: w, c: c, oy: oy, wo: wo, g: g)
        }
    } }
    return out
}

/// One output row of a depthwise convolution.
@inline(__always) func depthwiseRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                    _ wt: UnsafePointer<Float>, _ bias: UnsafePointer<Float>,
                                    h: Int, w: Int, c: Int, oy: Int, wo: Int, g: ConvGeometry) {
    let k = g.kernel
    let ky0 = max(0, g.padding - oy * g.stride), ky1 = min(k, h + g.padding - oy * g.stride)
    for ox in 0..<wo {
        let kx0 = max(0, g.padding - ox * g.stride), kx1 = min(k, w + g.padding - ox * g.stride)
        let out = y + ox * c
        var ch = 0
        while ch + 8 <= c {
            var acc = load8(bias + ch)
            for ky in ky0..<ky1 {
                let iy = oy * g.stride - g.padding + ky
                for kx in kx0..<kx1 {
                    let ix = ox * g.stride - g.padding + kx
                    acc = acc.addingProduct(load8(x + (iy * w + ix) * c + ch), load8(wt + (ky * k + kx) * c + ch))
                }
            }
            store8(acc, out + ch)
            ch += 8
        }
        while ch < c {
            var acc = bias[ch]
            for ky in ky0..<ky1 {
                let iy = oy * g.stride - g.padding + ky
                for kx in kx0..<kx1 {
                    let ix = ox * g.stride - g.padding + kx
                    acc += x[(iy * w + ix) * c + ch] * wt[(ky * k + kx) * c + ch]
                }
            }
            out[ch] = acc
            ch += 1
        }
    }
}

/// Packs a PyTorch ConvTranspose2d weight (Cin, Cout, 2, 2) into (Cin, 2, 2, Cout).
public func packTransposedConvWeight(_ w: Tensor) -> Tensor {
    w.permuted([0, 2, 3, 1])
}

/// Transposed convolution, kernel 2, stride 2 (SAM's output upscaling): every input
/// pixel writes one 2×2 block. x (N, H, W, Cin), packed weight (Cin, 2, 2, Cout),
/// bias (Cout) → (N, 2H, 2W, Cout). One GEMM (HW × Cin)·(Cin × 4Cout), then a scatter.
public func transposedConv2x2(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let (n, h, w, cin) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let cout = weight.shape[3]
    precondition(weight.shape == [cin, 2, 2, cout], "transposedConv2x2: weight \(weight.shape) for \(x.shape)")
    let blocks = Tensor(zeros: [h * w, 4 * cout])
    let out = Tensor(uninitialized: [n, 2 * h, 2 * w, cout])
    for b in 0..<n {
        gemm(m: h * w, n: 4 * cout, k: cin, a: x.ptr + b * h * w * cin, lda: cin,
             b: weight.ptr, ldb: 4 * cout, c: blocks.ptr, ldc: 4 * cout)
        let dst = out.ptr + b * 4 * h * w * cout
        for y in 0..<h {
            for xx in 0..<w {
                for a in 0..<2 {
                    for bb in 0..<2 {
                        let o = dst + ((2 * y + a) * 2 * w + 2 * xx + bb) * cout
                        let s = blocks.ptr + (y * w + xx) * 4 * cout + (a * 2 + bb) * cout
                        if let bias { addForward(s, bias.ptr, o, cout) } else { o.update(from: s, count: cout) }
                    }
                }
            }
        }
    }
    return out
}
