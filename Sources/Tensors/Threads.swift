import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How the engine uses threads, designed so that results never depend on it.
///
/// The promise (docs/architecture.md, "Determinism"): the same input on the same
/// binary and machine kind gives the same bits at any thread count and whatever
/// else runs in the process. Three rules keep it:
/// - BLAS is single-threaded for good (set once, before the first GEMM); our own
///   parallel loops own the cores, and `gemm` splits large products into blocks
///   whose shape depends on the problem's shape alone (GEMM.swift).
/// - Work is cut into items whose results do not depend on how items are grouped
///   onto threads: a body given a range must give each item what it would give it alone.
/// - Nothing here is process-wide mutable state changed per call: the nesting
///   flag and a caller's thread budget are thread-local; the process default is
///   read under a lock and only ever changes speed.
public enum Threads {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var processDefault: Int = {
        let env = ProcessInfo.processInfo.environment["SEGTUNE_THREADS"].flatMap { Int($0) }
        return max(1, env ?? ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Threads a parallel loop started on this thread may use: the innermost
    /// `withCount` budget, else the process default (`SEGTUNE_THREADS`, else all
    /// cores; a CLI sets it once from `--threads`). Changes speed, never results.
    public static var count: Int {
        get {
            let local = ThreadState.current.budget
            if local > 0 { return local }
            lock.lock(); defer { lock.unlock() }
            return processDefault
        }
        set {
            lock.lock(); defer { lock.unlock() }
            processDefault = max(1, newValue)
        }
    }

    /// Runs `body` with at most `n` threads for the parallel loops it starts on
    /// this thread, leaving every other caller's budget alone.
    public static func withCount<R>(_ n: Int, _ body: () throws -> R) rethrows -> R {
        let saved = ThreadState.current
        ThreadState.current = ThreadState(insideParallel: saved.insideParallel, budget: max(1, n))
        defer { ThreadState.current = saved }
        return try body()
    }

    /// True inside a `parallelFor`/`parallelRanges` body, whether it runs on
    /// several threads or serially: a property of the code's structure, not of the
    /// thread count, so kernels may choose their blocking by it.
    public static var isInsideParallelRegion: Bool { ThreadState.current.insideParallel }

    /// Runs `body(i)` for i in 0..<n on up to `count` threads, contiguous chunks per thread.
    public static func parallelFor(_ n: Int, _ body: (Int) -> Void) {
        parallelRanges(n) { range in for i in range { body(i) } }
    }

    /// Splits 0..<n into at most `count` contiguous ranges and runs them in parallel.
    /// The grouping changes with the thread count, so `body` must treat every item
    /// of a range as it would treat it alone. BLAS calls inside are single-threaded
    /// (always) and a nested call runs serially on the calling thread.
    public static func parallelRanges(_ n: Int, _ body: (Range<Int>) -> Void) {
        guard n > 0 else { return }
        let outer = ThreadState.current
        let workers = outer.insideParallel ? 1 : min(count, n)
        let inner = ThreadState(insideParallel: true, budget: outer.budget)
        if workers <= 1 {
            ThreadState.current = inner
            defer { ThreadState.current = outer }
            body(0..<n)
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                let lo = n * w / workers, hi = n * (w + 1) / workers
                guard lo < hi else { return }
                let saved = ThreadState.current
                ThreadState.current = inner
                defer { ThreadState.current = saved }
                box.value(lo..<hi)
            }
        }
    }
}

/// Per-thread engine state, packed into one pthread-specific word (no allocation,
/// no Foundation dictionary on the hot path): bit 0 = inside a parallel region,
/// the rest = this thread's budget (0 = the process default).
struct ThreadState: Equatable {
    var insideParallel: Bool
    var budget: Int

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key, nil)
        precondition(status == 0, "pthread_key_create failed (\(status))")
        return key
    }()

    static var current: ThreadState {
        get {
            let word = Int(bitPattern: pthread_getspecific(key))
            return ThreadState(insideParallel: word & 1 == 1, budget: word >> 1)
        }
        set {
            let word = (newValue.budget << 1) | (newValue.insideParallel ? 1 : 0)
            pthread_setspecific(key, UnsafeRawPointer(bitPattern: word))
        }
    }
}

/// Carries a non-Sendable value into `concurrentPerform`; the callers guarantee
/// that workers touch disjoint memory.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
