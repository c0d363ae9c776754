/// Fully connected layer, y = x · Wᵀ + b, over the last axis (PyTorch nn.Linear).

/// inp is (rows, inFeatures), weight is (outFeatures, inFeatures), bias (outFeatures) or nil;
/// out is (rows, outFeatures) with row stride `outStride` (≥ outFeatures).
public func linearForward(_ inp: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                          _ out: UnsafeMutablePointer<Float>, rows: Int, inFeatures: Int, outFeatures: Int,
                          inStride: Int? = nil, outStride: Int? = nil) {
    let ldo = outStride ?? outFeatures
    if let bias {
        for r in 0..<rows { (out + r * ldo).update(from: bias, count: outFeatures) }
    }
    gemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: inp, lda: inStride ?? inFeatures,
         b: weight, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: out, ldc: ldo)
}

/// x (..., in) → (..., out) with weight (out, in) and optional bias (out).
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let inF = weight.shape[1], outF = weight.shape[0]
    precondition(x.shape.last == inF, "linear: input \(x.shape) does not end in \(inF)")
    let rows = x.count / inF
    let outShape = Array(x.shape.dropLast()) + [outF]
    let out = bias == nil ? Tensor(zeros: outShape) : Tensor(uninitialized: outShape)
    linearForward(x.ptr, weight.ptr, bias?.ptr, out.ptr, rows: rows, inFeatures: inF, outFeatures: outF)
    return out
}
