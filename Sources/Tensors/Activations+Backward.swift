import Foundation

/// Backward of the pointwise activations; each accumulates into dInp.

/// GELU (exact erf form): d/dx [x·Φ(x)] = Φ(x) + x·φ(x). Needs the input. Parallel in
/// blocks of 4096, as the forward.
public func geluBackward(_ inp: UnsafePointer<Float>, _ dOut: UnsafePointer<Float>,
                         _ dInp: UnsafeMutablePointer<Float>, _ count: Int) {
    let x = UncheckedBox(inp), dy = UncheckedBox(dOut), dx = UncheckedBox(dInp)
    Threads.parallelRanges((count + 4095) / 4096) { blocks in
        let lo = blocks.lowerBound * 4096, hi = min(count, blocks.upperBound * 4096)
        geluBackwardSpan(x.value + lo, dy.value + lo, dx.value + lo, hi - lo)
    }
}

@inline(__always) func geluBackwardSpan(_ inp: UnsafePointer<Float>, _ dOut: UnsafePointer<Float>,
                                        _ dInp: UnsafeMutablePointer<Float>, _ count: Int) {
    let invSqrt2 = Vec8(repeating: 0.7071067811865476), invSqrt2Pi = Vec8(repeating: 0.3989422804014327)
    let half = Vec8(repeating: 0.5), minusHalf = Vec8(repeating: -0.5)
    var i = 0
    while i + 8 <= count {
        let x = load8(inp + i)
        let cdf = half.addingProduct(half, erfRational8(x * invSqrt2))
        let pdf = invSqrt2Pi * exp8(minusHalf * x * x)
        store8(load8(dInp + i).addingProduct(load8(dOut + i), cdf.addingProduct(x, pdf)), dInp + i)
        i += 8
    }
    while i < count {
        let x = inp[i]
        let d = 0.5 * (1 + Foundation.erf(x * 0.7071067811865476)) + x * 0.3989422804014327 * Foundation.exp(-0.5 * x * x)
        dInp[i] += dOut[i] * d
        i += 1
    }
}

/// ReLU: the gradient passes where the output is positive. Needs the output (works after an in-place ReLU).
public func reluBackward(_ out: UnsafePointer<Float>, _ dOut: UnsafePointer<Float>,
                         _ dInp: UnsafeMutablePointer<Float>, _ count: Int) {
    for i in 0..<count where out[i] > 0 { dInp[i] += dOut[i] }
}

/// Sigmoid: s' = s·(1 − s). Needs the output.
public func sigmoidBackward(_ out: UnsafePointer<Float>, _ dOut: UnsafePointer<Float>,
                            _ dInp: UnsafeMutablePointer<Float>, _ count: Int) {
    for i in 0..<count { dInp[i] += dOut[i] * out[i] * (1 - out[i]) }
}
