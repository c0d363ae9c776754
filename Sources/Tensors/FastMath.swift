/// Vector exp and erf for the kernels: Foundation's scalar `exp`/`erf` cost
/// 5–20 ns each, and the encoder evaluates GELU on ~80 M values per image.

public typealias Vec8 = SIMD8<Float>

/// 1.5 · 2²³: adding it rounds a float to an integer held in the low mantissa bits.
@usableFromInline let roundingMagic: Float = 12582912.0

/// e^x, Cephes' single-precision polynomial, relative error ≈ 2e-7; x clamped to [-87.3, 88].
@inline(__always) public func exp8(_ input: Vec8) -> Vec8 {
    var x = input.replacing(with: 88.0, where: input .> 88.0)
    x.replace(with: -87.3, where: x .< -87.3)
    let shifted = (x * 1.44269504088896341) + Vec8(repeating: roundingMagic)
    let n = shifted - Vec8(repeating: roundingMagic)             // round(x / ln 2)
    x = x.addingProduct(n, Vec8(repeating: -0.693359375))
    x = x.addingProduct(n, Vec8(repeating: 2.12194440e-4))
    let z = x * x
    var y = Vec8(repeating: 1.9875691500e-4)
    y = y * x + Vec8(repeating: 1.3981999507e-3)
    y = y * x + Vec8(repeating: 8.3334519073e-3)
    y = y * x + Vec8(repeating: 4.1665795894e-2)
    y = y * x + Vec8(repeating: 1.6666665459e-1)
    y = y * x + Vec8(repeating: 5.0000001201e-1)
    y = (y * z + x) + Vec8(repeating: 1)
    let bits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 // n as an integer
    let scale = unsafeBitCast((bits &+ 127) &<< 23, to: Vec8.self)          // 2^n
    return y * scale
}

/// erf(x), Abramowitz & Stegun 7.1.26, absolute error ≤ 1.5e-7.
@inline(__always) public func erf8(_ x: Vec8) -> Vec8 {
    let negative = x .< 0
    let ax = x.replacing(with: -x, where: negative)
    let t = Vec8(repeating: 1) / (Vec8(repeating: 1) + Vec8(repeating: 0.3275911) * ax)
    var p = Vec8(repeating: 1.061405429)
    p = p * t + Vec8(repeating: -1.453152027)
    p = p * t + Vec8(repeating: 1.421413741)
    p = p * t + Vec8(repeating: -0.284496736)
    p = p * t + Vec8(repeating: 0.254829592)
    let r = Vec8(repeating: 1) - p * t * exp8(-(ax * ax))
    return r.replacing(with: -r, where: negative)
}

/// erf(x) as a rational function x·P(x²)/Q(x²) on x clamped to [−4, 4] (the
/// approximation Eigen and XLA use for float), a few ulp from the true erf and
/// about twice as fast as the exp-based form above: GELU's hot path.
@inline(__always) public func erfRational8(_ input: Vec8) -> Vec8 {
    var x = input.replacing(with: 4, where: input .> 4)
    x.replace(with: -4, where: x .< -4)
    let x2 = x * x
    var p = Vec8(repeating: -2.72614225801306e-10)
    p = Vec8(repeating: 2.77068142495902e-08).addingProduct(p, x2)
    p = Vec8(repeating: -2.10102402082508e-06).addingProduct(p, x2)
    p = Vec8(repeating: -5.69250639462346e-05).addingProduct(p, x2)
    p = Vec8(repeating: -7.34990630326855e-04).addingProduct(p, x2)
    p = Vec8(repeating: -2.95459980854025e-03).addingProduct(p, x2)
    p = Vec8(repeating: -1.60960333262415e-02).addingProduct(p, x2)
    var q = Vec8(repeating: -1.45660718464996e-05)
    q = Vec8(repeating: -2.13374055278905e-04).addingProduct(q, x2)
    q = Vec8(repeating: -1.68282697438203e-03).addingProduct(q, x2)
    q = Vec8(repeating: -7.37332916720468e-03).addingProduct(q, x2)
    q = Vec8(repeating: -1.42647390514189e-02).addingProduct(q, x2)
    return x * p / q
}

/// Applies an 8-wide function over a buffer, the tail through a zero-padded vector.
@inline(__always) public func map8(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                                    _ count: Int, _ f: (Vec8) -> Vec8) {
    var i = 0
    while i + 8 <= count {
        let v = UnsafeRawPointer(input + i).loadUnaligned(as: Vec8.self)
        UnsafeMutableRawPointer(output + i).storeBytes(of: f(v), as: Vec8.self)
        i += 8
    }
    if i < count {
        var v = Vec8()
        for j in 0..<(count - i) { v[j] = input[i + j] }
        let r = f(v)
        for j in 0..<(count - i) { output[i + j] = r[j] }
    }
}

@inline(__always) func load8(_ p: UnsafePointer<Float>) -> Vec8 {
    UnsafeRawPointer(p).loadUnaligned(as: Vec8.self)
}

@inline(__always) func store8(_ v: Vec8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec8.self)
}
