import Foundation
import Imaging
import Models
import Tensors
import Testing
@testable import Tuning

private let checkpoint = repositoryRoot.appendingPathComponent("models/lite_medsam.pth")
private let hasCheckpoint = FileManager.default.fileExists(atPath: checkpoint.path)

/// The engine's determinism promise (docs/architecture.md, "Determinism"): on one binary
/// and machine kind, the same input gives the same bits at any thread count and whatever
/// else runs in the process. Equality here is the designed property, not a tolerance.
@Suite(.enabled(if: hasCheckpoint)) struct DeterminismTests {
    static let segmenter = DecoderTuningTests.segmenter
    static let example = DecoderTuningTests.example

    /// Three decoder-mode steps from seed 3: the prompts after them.
    static func tunedPrompts() -> [Float] {
        var settings = FitSettings()
        settings.seed = 3
        let tuner = PromptTuner(segmenter: segmenter, settings: settings)
        for _ in 0 ..< 3 { tuner.step([example], rate: 3e-3) }
        return tuner.arena.values.values
    }

    static func embedding() -> [Float] { segmenter.imageEmbedding(example.geometry).values }

    /// Runs `work` on `callers` threads at once, each with `threadsPerCaller` threads of its own.
    static func concurrently<T: Sendable>(callers: Int, threadsPerCaller: Int, _ work: @escaping @Sendable () -> T) -> [T] {
        let results = ResultSlots<T>(callers)
        let group = DispatchGroup()
        for i in 0 ..< callers {
            let thread = Thread { Threads.withCount(threadsPerCaller) { results.set(i, work()) }; group.leave() }
            group.enter()
            thread.start()
        }
        group.wait()
        return results.values
    }

    @Test func encoderGivesTheSameBitsAtOneAndTwoThreads() {
        let one = Threads.withCount(1) { Self.embedding() }
        let two = Threads.withCount(2) { Self.embedding() }
        let three = Threads.withCount(3) { Self.embedding() }
        #expect(one == two)
        #expect(one == three)
    }

    @Test func tuningGivesTheSamePromptsAtOneAndTwoThreads() {
        let one = Threads.withCount(1) { Self.tunedPrompts() }
        let two = Threads.withCount(2) { Self.tunedPrompts() }
        #expect(one == two)
        #expect(one.contains { $0 != 0 })
    }

    /// Four callers sharing one Segmenter each get exactly what a lone caller gets.
    @Test func concurrentEncoderCallsMatchASerialOne() {
        let serial = Threads.withCount(2) { Self.embedding() }
        let parallel = Self.concurrently(callers: 4, threadsPerCaller: 2) { Self.embedding() }
        #expect(parallel.count == 4)
        for result in parallel { #expect(result == serial) }
    }

    @Test func concurrentTuningRunsMatchASerialOne() {
        let serial = Threads.withCount(2) { Self.tunedPrompts() }
        let parallel = Self.concurrently(callers: 4, threadsPerCaller: 2) { Self.tunedPrompts() }
        #expect(parallel.count == 4)
        for result in parallel { #expect(result == serial) }
    }
}

/// One slot per caller, filled from other threads.
final class ResultSlots<T: Sendable>: @unchecked Sendable {
    private var slots: [T?]
    private let lock = NSLock()
    init(_ n: Int) { slots = Array(repeating: nil, count: n) }
    func set(_ i: Int, _ value: T) { lock.lock(); slots[i] = value; lock.unlock() }
    var values: [T] { lock.lock(); defer { lock.unlock() }; return slots.compactMap { $0 } }
}
