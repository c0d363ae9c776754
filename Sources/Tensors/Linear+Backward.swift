/// Backward of `linearForward` with respect to its input only (weights are constants).

/// y = x · Wᵀ + b  ⇒  dX += dY · W.
/// dOut is (rows, outFeatures), weight (outFeatures, inFeatures), dInp (rows, inFeatures), accumulated.
public func linearBackward(_ dOut: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                           _ dInp: UnsafeMutablePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int) {
    gemm(m: rows, n: inFeatures, k: outFeatures, a: dOut, lda: outFeatures,
         b: weight, ldb: inFeatures, beta: 1, c: dInp, ldc: inFeatures)
}
