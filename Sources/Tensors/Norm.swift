/// Normalisations over the channel axis, and BatchNorm folding.
///
/// With channels-last tensors, LayerNorm over tokens (N, C) and SAM's
/// LayerNorm2d over (H, W, C) are the same kernel.

/// out[r, :] = (x[r, :] − mean) / √(var + eps) · weight + bias, per row of `width`.
public func layerNormForward(_ inp: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                             weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                             rows: Int, width: Int, eps: Float) {
    let src = UncheckedBox(inp), dst = UncheckedBox(out)
    let w = UncheckedBox(weight), b = UncheckedBox(bias)
    let grain = max(1, 16384 / max(width, 1))
    Threads.parallelRanges((rows + grain - 1) / grain) { chunks in
        for r in (chunks.lowerBound * grain)..<min(rows, chunks.upperBound * grain) {
            layerNormRow(src.value + r * width, dst.value + r * width, w.value, b.value, width, eps)
        }
    }
}

@inline(__always) func layerNormRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                    _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int, _ eps: Float) {
    var acc = Vec8(), i = 0
    while i + 8 <= n { acc += load8(x + i); i += 8 }
    var sum = acc.sum()
    while i < n { sum += x[i]; i += 1 }
    let mean = sum / Float(n)
    let m8 = Vec8(repeating: mean)
    acc = Vec8(); i = 0
    while i + 8 <= n { let d = load8(x + i) - m8; acc = acc.addingProduct(d, d); i += 8 }
    var sq = acc.sum()
    while i < n { let d = x[i] - mean; sq += d * d; i += 1 }
    let rstd = 1 / (sq / Float(n) + eps).squareRoot()
    let r8 = Vec8(repeating: rstd)
    i = 0
    while i + 8 <= n { store8(load8(b + i).addingProduct((load8(x + i) - m8) * r8, load8(w + i)), y + i); i += 8 }
    while i < n { y[i] = (x[i] - mean) * rstd * w[i] + b[i]; i += 1 }
}

/// LayerNorm over the last axis of x.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    let width = x.shape.last!
    precondition(weight.count == width && bias.count == width, "layerNorm: \(x.shape) vs \(weight.shape)")
    let out = Tensor(uninitialized: x.shape)
    layerNormForward(x.ptr, out.ptr, weight: weight.ptr, bias: bias.ptr, rows: x.count / width, width: width, eps: eps)
    return out
}

/// Folds an inference-mode BatchNorm that follows a convolution into the
/// convolution: w' = w · γ/√(σ²+ε) per output channel, b' = β − μ·γ/√(σ²+ε) (+ b·γ/√…).
/// `weight` is (out, ...) in any layout whose first axis is the output channel.
public func foldBatchNorm(weight: Tensor, bias: Tensor?, gamma: Tensor, beta: Tensor,
                          mean: Tensor, variance: Tensor, eps: Float = 1e-5) -> (weight: Tensor, bias: Tensor) {
    let outC = weight.shape[0], per = weight.count / outC
    let w = weight.copy(), b = Tensor(zeros: [outC])
    for o in 0..<outC {
        let s = gamma.data[o] / (variance.data[o] + eps).squareRoot()
        for i in 0..<per { w.data[o * per + i] *= s }
        b.data[o] = beta.data[o] - mean.data[o] * s + (bias?.data[o] ?? 0) * s
    }
    return (w, b)
}
