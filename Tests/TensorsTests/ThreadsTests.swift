import Foundation
import Testing
@testable import Tensors

/// The rules in Threads.swift and GEMM.swift that the determinism promise rests on.
@Suite struct ThreadsTests {
    @Test func withCountIsScopedToTheCallingThread() {
        let outside = Threads.count
        Threads.withCount(7) {
            #expect(Threads.count == 7)
            let other = ResultBox()
            let thread = Thread { other.set(Threads.count) }
            thread.start()
            while other.value == nil { usleep(1000) }
            #expect(other.value == outside)
            Threads.withCount(1) { #expect(Threads.count == 1) }
            #expect(Threads.count == 7)
        }
        #expect(Threads.count == outside)
    }

    /// Nesting is structural: a parallel body knows it is one even when it runs serially.
    @Test func parallelRegionIsMarkedWhateverTheThreadCount() {
        #expect(!Threads.isInsideParallelRegion)
        for n in [1, 2, 4] {
            let inside = ResultBox()
            Threads.withCount(n) {
                Threads.parallelFor(8) { i in if i == 0 { inside.set(Threads.isInsideParallelRegion ? 1 : 0) } }
            }
            #expect(inside.value == 1, "threads \(n)")
        }
        #expect(!Threads.isInsideParallelRegion)
    }

    /// scripts/test-determinism re-runs the suite under each core: it must really run it.
    @Test func blasRunsTheCoreAskedFor() throws {
        let name = try #require(blasCoreName)
        if let wanted = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
            #expect(name.lowercased() == wanted.lowercased())
        } else {
            #expect(!["prescott", "core2", "penryn", "nehalem", "katmai"].contains(name.lowercased()))
        }
    }

    @Test func gemmSplitDependsOnTheShapeOnly() {
        #expect(GEMMSplit(m: 16, n: 16, k: 16) == .whole)
        #expect(GEMMSplit(m: 4096, n: 960, k: 320) == .rows(256))
        #expect(GEMMSplit(m: 8, n: 65536, k: 256) == .columns(4096))
    }

    /// A split GEMM agrees with a naive product, and gives the same bits at 1, 2 and 3 threads.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func splitGEMMIsRightAndThreadCountFree(transA: Bool, transB: Bool) {
        var rng = SeededRandom(21)
        let (m, n, k) = (1000, 96, 200)
        #expect(GEMMSplit(m: m, n: n, k: k) != .whole)
        let a = rng.tensor([m * k]), b = rng.tensor([k * n]), c0 = rng.tensor([m * n])
        let lda = transA ? m : k, ldb = transB ? k : n
        func run(_ threads: Int) -> [Float] {
            let c = c0.copy()
            Threads.withCount(threads) {
                gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a.ptr, lda: lda,
                     b: b.ptr, ldb: ldb, beta: 1, c: c.ptr, ldc: n)
            }
            return c.values
        }
        let one = run(1)
        #expect(run(2) == one)
        #expect(run(3) == one)
        var expected = c0.values
        for i in 0..<m {
            for j in 0..<n {
                var s: Float = 0
                for p in 0..<k {
                    s += a[flat: transA ? p * m + i : i * k + p] * b[flat: transB ? j * k + p : p * n + j]
                }
                expected[i * n + j] += 0.5 * s
            }
        }
        #expect(maxAbsDiff(one, expected) < 1e-3)
    }
}

final class ResultBox: @unchecked Sendable {
    private var stored: Int?
    private let lock = NSLock()
    func set(_ v: Int) { lock.lock(); stored = v; lock.unlock() }
    var value: Int? { lock.lock(); defer { lock.unlock() }; return stored }
}

@Suite struct FixedBandTests {
    /// The fused MBConv cuts rows into fixed bands, so the thread count cannot move a halo.
    @Test func invertedResidualBitsDoNotDependOnTheThreadCount() {
        var rng = SeededRandom(23)
        let (h, w, c, hidden) = (21, 6, 8, 32)
        let x = rng.tensor([1, h, w, c])
        let p = rng.invertedResidualWeights(c: c, hidden: hidden)
        let one = Threads.withCount(1) { invertedResidualForward(x, p, bandRows: 4).values }
        #expect(Threads.withCount(2) { invertedResidualForward(x, p, bandRows: 4).values } == one)
        #expect(Threads.withCount(3) { invertedResidualForward(x, p, bandRows: 4).values } == one)
        // Another cut is another rounding, not another result.
        #expect(maxAbsDiff(invertedResidualForward(x, p, bandRows: 5).values, one) < 1e-5)
    }
}
