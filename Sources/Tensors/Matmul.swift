/// Products of two activations (both sides carry gradients), e.g. the mask
/// decoder's hypernetwork weights times the upscaled image features.
/// The engine has no such Tensor op: this file holds the forward and the backward.

/// c = a · op(b) for each of `batch` pairs. a is (batch, m, k); b is (batch, n, k) when
/// `transposeB` (c = a·bᵀ), else (batch, k, n); c is (batch, m, n), overwritten.
public func matmulForward(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                          batch: Int, m: Int, n: Int, k: Int, transposeB: Bool) {
    for i in 0..<batch {
        gemm(transB: transposeB, m: m, n: n, k: k, a: a + i * m * k, lda: k,
             b: b + i * n * k, ldb: transposeB ? k : n, c: c + i * m * n, ldc: n)
    }
}

/// dC (batch, m, n) ⇒ dA (batch, m, k) += dC · op(b)ᵀ and dB += (dCᵀ · a) or (aᵀ · dC), accumulated;
/// a nil gradient is skipped.
public func matmulBackward(_ dC: UnsafePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                           dA: UnsafeMutablePointer<Float>?, dB: UnsafeMutablePointer<Float>?,
                           batch: Int, m: Int, n: Int, k: Int, transposeB: Bool) {
    for i in 0..<batch {
        let dc = dC + i * m * n, ai = a + i * m * k, bi = b + i * n * k
        if let dA {
            // b (n, k) when transposed: dA = dC·b; b (k, n) otherwise: dA = dC·bᵀ.
            gemm(transB: !transposeB, m: m, n: k, k: n, a: dc, lda: n, b: bi, ldb: transposeB ? k : n,
                 beta: 1, c: dA + i * m * k, ldc: k)
        }
        if let dB {
            if transposeB {   // dB (n, k) = dCᵀ (n, m) · a (m, k)
                gemm(transA: true, m: n, n: k, k: m, a: dc, lda: n, b: ai, ldb: k, beta: 1, c: dB + i * n * k, ldc: k)
            } else {          // dB (k, n) = aᵀ (k, m) · dC (m, n)
                gemm(transA: true, m: k, n: n, k: m, a: ai, lda: k, b: dc, ldb: n, beta: 1, c: dB + i * n * k, ldc: n)
            }
        }
    }
}
