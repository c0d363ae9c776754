import Foundation
#if canImport(CBLAS)
import CBLAS
#endif

/// The one global setting of the engine: how many threads work at once.
///
/// One owner of parallelism at a time (DESIGN "Engine rules"): either BLAS runs
/// its own threads (a big GEMM called from serial code), or `parallelFor` splits
/// work over our threads and BLAS is single-threaded inside it. Never both.
/// Kernels expect one caller at a time (the BLAS thread count is process-wide);
/// concurrent callers stay correct but may oversubscribe the cores.
public enum Threads {
    nonisolated(unsafe) private static var configured: Int = {
        let env = ProcessInfo.processInfo.environment["SEGTUNE_THREADS"].flatMap { Int($0) }
        let n = max(1, env ?? ProcessInfo.processInfo.activeProcessorCount)
        setBLASThreads(n)
        return n
    }()
    nonisolated(unsafe) private static var insideParallel = false

    /// Threads in use: `SEGTUNE_THREADS`, else all cores, unless set (`--threads`).
    public static var count: Int {
        get { configured }
        set {
            configured = max(1, newValue)
            setBLASThreads(configured)
        }
    }

    /// Runs `body(i)` for i in 0..<n on up to `count` threads, contiguous chunks
    /// per thread. BLAS calls inside run single-threaded; a nested call runs serially.
    public static func parallelFor(_ n: Int, _ body: (Int) -> Void) {
        parallelRanges(n) { range in for i in range { body(i) } }
    }

    /// Splits 0..<n into at most `count` contiguous ranges and runs them in parallel.
    public static func parallelRanges(_ n: Int, _ body: (Range<Int>) -> Void) {
        let workers = min(count, n)
        if workers <= 1 || insideParallel {
            if n > 0 { body(0..<n) }
            return
        }
        insideParallel = true
        setBLASThreads(1)
        defer {
            setBLASThreads(configured)
            insideParallel = false
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let lo = n * w / workers, hi = n * (w + 1) / workers
                if lo < hi { box.value(lo..<hi) }
            }
        }
    }

    private static func setBLASThreads(_ n: Int) {
        #if canImport(CBLAS)
        openblas_set_num_threads(Int32(n))
        #endif
    }
}

/// Carries a non-Sendable value into `concurrentPerform`; the callers guarantee
/// that workers touch disjoint memory.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
