#if canImport(Accelerate)
import Accelerate
#elseif canImport(CBLAS)
import CBLAS
#endif

/// C = alpha · op(A) · op(B) + beta · C, row-major, single precision (BLAS sgemm).
/// op(A) is m×k, op(B) is k×n, C is m×n; `ld*` are row strides in elements.
///
/// BLAS runs single-threaded (BLASCore); outside a parallel region a large product
/// is cut into row (or column) blocks that our threads share. The cut depends on
/// the shape alone, so the bits do not depend on the thread count; inside a
/// parallel region the caller already owns the threads and the product is one call.
public func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                 alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int,
                 beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
    BLASCore.ensured
    let split = Threads.isInsideParallelRegion ? GEMMSplit.whole : GEMMSplit(m: m, n: n, k: k)
    switch split {
    case .whole:
        sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    case .rows(let per):
        let aBox = UncheckedBox(a), bBox = UncheckedBox(b), cBox = UncheckedBox(c)
        Threads.parallelFor((m + per - 1) / per) { block in
            let i0 = block * per, rows = min(per, m - i0)
            let aBlock = transA ? aBox.value + i0 : aBox.value + i0 * lda
            sgemm(transA, transB, rows, n, k, alpha, aBlock, lda, bBox.value, ldb, beta, cBox.value + i0 * ldc, ldc)
        }
    case .columns(let per):
        let aBox = UncheckedBox(a), bBox = UncheckedBox(b), cBox = UncheckedBox(c)
        Threads.parallelFor((n + per - 1) / per) { block in
            let j0 = block * per, cols = min(per, n - j0)
            let bBlock = transB ? bBox.value + j0 * ldb : bBox.value + j0
            sgemm(transA, transB, m, cols, k, alpha, aBox.value, lda, bBlock, ldb, beta, cBox.value + j0, ldc)
        }
    }
}

/// How a top-level GEMM is cut: a function of (m, n, k) only. Blocks carry at least
/// `minBlockMACs` multiply-adds (so packing B again per block stays a few percent)
/// and there are at most `maxBlocks` of them; rows are cut in multiples of 16.
enum GEMMSplit: Equatable {
    case whole, rows(Int), columns(Int)

    static let minBlockMACs = 1 << 23
    static let maxBlocks = 16

    init(m: Int, n: Int, k: Int) {
        let macs = m * n * max(k, 1)
        let blocks = min(Self.maxBlocks, macs / Self.minBlockMACs)
        if blocks < 2 { self = .whole; return }
        func per(_ extent: Int) -> Int { ((extent + blocks - 1) / blocks + 15) / 16 * 16 }
        if m >= 32 * blocks { self = .rows(per(m)) }
        else if n >= 32 * blocks { self = .columns(per(n)) }
        else { self = .whole }
    }
}

@inline(__always)
private func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                   _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                   _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
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
