#if canImport(Accelerate)
import Accelerate
#elseif canImport(CBLAS)
import CBLAS
#endif

/// C = alpha · op(A) · op(B) + beta · C, row-major, single precision (BLAS sgemm).
/// op(A) is m×k, op(B) is k×n, C is m×n; `ld*` are row strides in elements.
@inline(__always)
public func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                 alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int,
                 beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
    BLASCore.ensured
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// The BLAS kernels in use, e.g. "SkylakeX" (OpenBLAS), for reports.
public var blasCoreName: String? {
    BLASCore.ensured
    return BLASCore.coreName
}

extension Tensor {
    /// Base pointer for kernels (read-only use).
    @inline(__always) public var ptr: UnsafeMutablePointer<Float> { data.baseAddress! }
}
