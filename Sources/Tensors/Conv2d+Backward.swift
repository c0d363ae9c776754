/// Backward of the convolutions in Conv2d.swift with respect to their input only
/// (weights are constants). Channels-last, packed weights, as in the forwards;
/// every kernel accumulates into dX.

/// Dense or grouped convolution. dOut (N, Ho, Wo, Cout), packed weight (Cout, k, k, Cin/groups),
/// dX (N, H, W, Cin). Per image and group: dCol (Ho·Wo, k·k·cg) = dOut_g · W_g, then col2im
/// adds each column entry back onto the input pixel im2col read it from.
public func conv2dBackward(_ dOut: Tensor, weight: Tensor, into dX: Tensor, geometry g: ConvGeometry, groups: Int = 1) {
    let (n, h, w, cin) = (dX.shape[0], dX.shape[1], dX.shape[2], dX.shape[3])
    let cout = weight.shape[0], cg = cin / groups, og = cout / groups
    let ho = g.outSize(h), wo = g.outSize(w)
    precondition(dOut.shape == [n, ho, wo, cout], "conv2dBackward: dOut \(dOut.shape) for input \(dX.shape)")
    if g.kernel == 1 && g.stride == 1 && g.padding == 0 && groups == 1 {
        linearBackward(dOut.ptr, weight.ptr, dX.ptr, rows: n * h * w, inFeatures: cin, outFeatures: cout)
        return
    }
    let kk = g.kernel * g.kernel * cg
    let col = Tensor(uninitialized: [ho * wo, kk])
    for b in 0..<n {
        let src = dOut.ptr + b * ho * wo * cout, dst = dX.ptr + b * h * w * cin
        for grp in 0..<groups {
            gemm(m: ho * wo, n: kk, k: og, a: src + grp * og, lda: cout,
                 b: weight.ptr + grp * og * kk, ldb: kk, c: col.ptr, ldc: kk)
            col2im(col.ptr, dst, h: h, w: w, c: cin, channelOffset: grp * cg, channels: cg, geometry: g, ho: ho, wo: wo)
        }
    }
}

/// The adjoint of `im2col`: x[oy·s − p + ky, ox·s − p + kx, offset + ci] += col[(oy·Wo + ox), (ky·k + kx)·cg + ci].
func col2im(_ col: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, h: Int, w: Int, c: Int,
            channelOffset: Int, channels cg: Int, geometry g: ConvGeometry, ho: Int, wo: Int) {
    let k = g.kernel, kk = k * k * cg
    for oy in 0..<ho {
        for ox in 0..<wo {
            let row = col + (oy * wo + ox) * kk
            for ky in 0..<k {
                let iy = oy * g.stride - g.padding + ky
                if iy < 0 || iy >= h { continue }
                for kx in 0..<k {
                    let ix = ox * g.stride - g.padding + kx
                    if ix < 0 || ix >= w { continue }
                    let dst = x + (iy * w + ix) * c + channelOffset
                    addForward(dst, row + (ky * k + kx) * cg, dst, cg)
                }
            }
        }
    }
}

/// Depthwise convolution. dOut (N, Ho, Wo, C), packed weight (k, k, C), dX (N, H, W, C).
/// Written as a gather over the outputs each input pixel fed (oy·s − p + ky = iy), so
/// rows of dX are independent and run in parallel.
public func depthwiseConv2dBackward(_ dOut: Tensor, weight: Tensor, into dX: Tensor, geometry g: ConvGeometry) {
    let (n, h, w, c) = (dX.shape[0], dX.shape[1], dX.shape[2], dX.shape[3])
    let ho = g.outSize(h), wo = g.outSize(w), k = g.kernel
    precondition(dOut.shape == [n, ho, wo, c] && weight.shape == [k, k, c], "depthwiseConv2dBackward: \(dOut.shape), \(weight.shape) for \(dX.shape)")
    let dy = UncheckedBox(dOut.ptr), dx = UncheckedBox(dX.ptr), wt = UncheckedBox(weight.ptr)
    Threads.parallelRanges(n * h) { rows in
        for r in rows {
            let b = r / h, iy = r % h
            let src = dy.value + b * ho * wo * c
            for ix in 0..<w {
                let out = dx.value + ((b * h + iy) * w + ix) * c
                for ky in 0..<k {
                    let ty = iy + g.padding - ky
                    guard ty >= 0, ty % g.stride == 0, ty / g.stride < ho else { continue }
                    let oy = ty / g.stride
                    for kx in 0..<k {
                        let tx = ix + g.padding - kx
                        guard tx >= 0, tx % g.stride == 0, tx / g.stride < wo else { continue }
                        let ox = tx / g.stride
                        let dyp = src + (oy * wo + ox) * c, wp = wt.value + (ky * k + kx) * c
                        var ch = 0
                        while ch + 8 <= c { store8(load8(out + ch).addingProduct(load8(dyp + ch), load8(wp + ch)), out + ch); ch += 8 }
                        while ch < c { out[ch] += dyp[ch] * wp[ch]; ch += 1 }
                    }
                }
            }
        }
    }
}

/// Transposed convolution 2×2 stride 2. dOut (N, 2H, 2W, Cout), packed weight (Cin, 2, 2, Cout),
/// dX (N, H, W, Cin). The forward's scatter becomes a gather of each pixel's 2×2 block of
/// dOut into dBlocks (H·W, 4·Cout), then dX += dBlocks · Wᵀ.
public func transposedConv2x2Backward(_ dOut: Tensor, weight: Tensor, into dX: Tensor) {
    let (n, h, w, cin) = (dX.shape[0], dX.shape[1], dX.shape[2], dX.shape[3])
    let cout = weight.shape[3]
    precondition(dOut.shape == [n, 2 * h, 2 * w, cout], "transposedConv2x2Backward: dOut \(dOut.shape) for \(dX.shape)")
    let blocks = Tensor(uninitialized: [h * w, 4 * cout])
    for b in 0..<n {
        let src = dOut.ptr + b * 4 * h * w * cout
        for y in 0..<h {
            for xx in 0..<w {
                for a in 0..<2 {
                    for bb in 0..<2 {
                        let s = src + ((2 * y + a) * 2 * w + 2 * xx + bb) * cout
                        (blocks.ptr + (y * w + xx) * 4 * cout + (a * 2 + bb) * cout).update(from: s, count: cout)
                    }
                }
            }
        }
        gemm(transB: true, m: h * w, n: cin, k: 4 * cout, a: blocks.ptr, lda: 4 * cout,
             b: weight.ptr, ldb: 4 * cout, beta: 1, c: dX.ptr + b * h * w * cin, ldc: cin)
    }
}
