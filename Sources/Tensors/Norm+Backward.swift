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
            let x = src.value + r * n, g = dy.value + r * n, out = dx.value + r * n, wt = w.value
            var mean: Float = 0
            for i in 0..<n { mean += x[i] }
            mean /= Float(n)
            var sq: Float = 0
            for i in 0..<n { let d = x[i] - mean; sq += d * d }
            let rstd = 1 / (sq / Float(n) + eps).squareRoot()
            var gMean: Float = 0, gxMean: Float = 0
            for i in 0..<n {
                let gi = g[i] * wt[i]
                gMean += gi
                gxMean += gi * (x[i] - mean) * rstd
            }
            gMean /= Float(n); gxMean /= Float(n)
            for i in 0..<n {
                let xhat = (x[i] - mean) * rstd
                out[i] += rstd * (g[i] * wt[i] - gMean - xhat * gxMean)
            }
        }
    }
}
