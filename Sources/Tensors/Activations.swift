/// Pointwise activations. Forward kernels take (input, output, count) and may
/// run in place (input == output); the backward kernels will sit beside them.

/// GELU, exact erf form (PyTorch's nn.GELU default): x · ½ · (1 + erf(x/√2)).
@inline(__always) public func gelu8(_ x: Vec8) -> Vec8 {
    let half = x * Vec8(repeating: 0.5)
    return half.addingProduct(half, erfRational8(x * Vec8(repeating: 0.7071067811865476)))
}

@inline(__always) public func relu8(_ x: Vec8) -> Vec8 {
    x.replacing(with: 0, where: x .< 0)
}

@inline(__always) public func sigmoid8(_ x: Vec8) -> Vec8 {
    Vec8(repeating: 1) / (Vec8(repeating: 1) + exp8(-x))
}

public func geluForward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
    let inp = UncheckedBox(input), out = UncheckedBox(output)
    Threads.parallelRanges((count + 4095) / 4096) { blocks in
        let lo = blocks.lowerBound * 4096, hi = min(count, blocks.upperBound * 4096)
        map8(inp.value + lo, out.value + lo, hi - lo, gelu8)
    }
}

public func reluForward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
    map8(input, output, count, relu8)
}

public func sigmoidForward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, _ count: Int) {
    map8(input, output, count, sigmoid8)
}

extension Tensor {
    /// A new tensor holding GELU(self).
    public func gelu() -> Tensor { let r = Tensor(uninitialized: shape); geluForward(ptr, r.ptr, count); return r }
    public func relu() -> Tensor { let r = Tensor(uninitialized: shape); reluForward(ptr, r.ptr, count); return r }
    public func sigmoid() -> Tensor { let r = Tensor(uninitialized: shape); sigmoidForward(ptr, r.ptr, count); return r }
    public func geluInPlace() { geluForward(ptr, ptr, count) }
    public func reluInPlace() { reluForward(ptr, ptr, count) }
}
