/// Backward of `layerNormForward` with respect to its input (weight and bias are constants).
/// The row statistics are recomputed from the input rather than stored: one cheap pass,
/// and the tape keeps only the input.

/// inp, dOut, dInp are (rows, width); weight (width). With x̂ = (x − mean)·rstd and
/// g = dOut ⊙ weight: dX += rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)), accumulated.
public func layerNormBackward(_ dOut: UnsafePointer<Float>, _ inp: UnsafePointer<Float>,
                              weight: UnsafePointer<Float>, _ dInp: UnsafeMutablePointer<Float>,
                              rows: Int, width n: Int, eps: Float) {
    let dy = UncheckedBox(dOut), src = UncheckedBox(inp), w = UncheckedBox(weight), dx = UncheckedBox(dInp)
    let grain = max(1, 16384 / max(n, 1))
    Threads.parallelRanges((rows + grain - 1) / grain) { chunks in
        for r in (chunks.lowerBound * grain)..<min(rows, chunks.upperBound * grain) {
            layerNormBackwardRow(dy.value + r * n, src.value + r * n, w.value, dx.value + r * n, n, eps)
        }
    }
}

/// One row: the forward's statistics, then the two means, then the update; SIMD8 with scalar tails.
@inline(__always) func layerNormBackwardRow(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ wt: UnsafePointer<Float>,
                                            _ out: UnsafeMutablePointer<Float>, _ n: Int, _ eps: Float) {
    var acc = Vec8(), i = 0
    while i + 8 <= n { acc += load8(x + i); i += 8 }
    var sum = acc.sum()
    while i < n { sum += x[i]; i += 1 }
    let mean = sum / Float(n), m8 = Vec8(repeating: mean)
    acc = Vec8(); i = 0
    while i + 8 <= n { let d = load8(x + i) - m8; acc = acc.addingProduct(d, d); i += 8 }
    var sq = acc.sum()
    while i < n { let d = x[i] - mean; sq += d * d; i += 1 }
    let rstd = 1 / (sq / Float(n) + eps).squareRoot(), r8 = Vec8(repeating: rstd)
    // gMean = mean(g ⊙ w), gxMean = mean(g ⊙ w ⊙ x̂)
    var ag = Vec8(), agx = Vec8()
    i = 0
    while i + 8 <= n {
        let gw = load8(g + i) * load8(wt + i)
        ag += gw
        agx = agx.addingProduct(gw, (load8(x + i) - m8) * r8)
        i += 8
    }
    var gSum = ag.sum(), gxSum = agx.sum()
    while i < n { let gw = g[i] * wt[i]; gSum += gw; gxSum += gw * (x[i] - mean) * rstd; i += 1 }
    let gMean = gSum / Float(n), gxMean = gxSum / Float(n)
    let gm8 = Vec8(repeating: gMean), gx8 = Vec8(repeating: gxMean)
    i = 0
    while i + 8 <= n {
        let xhat = (load8(x + i) - m8) * r8
        let d = (load8(g + i) * load8(wt + i) - gm8) - xhat * gx8
        store8(load8(out + i).addingProduct(r8, d), out + i)
        i += 8
    }
    while i < n {
        let xhat = (x[i] - mean) * rstd
        out[i] += rstd * (g[i] * wt[i] - gMean - xhat * gxMean)
        i += 1
    }
}
