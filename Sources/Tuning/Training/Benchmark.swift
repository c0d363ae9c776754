import Foundation
import Imaging
import Models
import Tensors

/// A timed call's median, fastest and slowest run, in milliseconds.
public struct Timing: Sendable {
    public var median: Double, min: Double, max: Double
}

/// One warm-up call, then `runs` timed calls.
public func measure(_ runs: Int, _ body: () -> Void) -> Timing {
    body()
    var times: [Double] = []
    for _ in 0..<max(1, runs) {
        let start = ContinuousClock.now
        body()
        times.append(milliseconds(ContinuousClock.now - start))
    }
    times.sort()
    let mid = times.count / 2
    let median = times.count % 2 == 1 ? times[mid] : (times[mid - 1] + times[mid]) / 2
    return Timing(median: median, min: times.first!, max: times.last!)
}

public func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15
}

/// What `segtune bench` measures of the model on this machine, on one synthetic 512×512
/// scan: the encoder (and its stages), the prompt encoder + decoder, a whole prediction,
/// and one training step of each mode, each after a warm-up.
public struct ModelBenchmark: Sendable {
    public var encoder, decoder, predict, decoderStep, deepStep: Timing
    /// The encoder's stages in order, with their median milliseconds.
    public var encoderStages: [(name: String, median: Double)]
    public var encoderGFLOP, decoderGFLOP: Double
    /// This process's peak resident memory (MB) after all of it.
    public var peakResidentMB: Double
    /// The deep step's resident high-water mark, and how far above the loaded model it
    /// went (MB); nil where the mark cannot be reset (not Linux).
    public var deepStepMemory: (peak: Double, added: Double)?

    public init(_ segmenter: Segmenter, runs: Int) {
        let side = 512
        let pixels = syntheticScan(side: side)
        let box = BoxPrompt(x0: 100, y0: 130, x1: 420, y1: 350)
        let image = segmenter.prepare(pixels: pixels, width: side, height: side, channels: 1)
        let embedding = segmenter.imageEmbedding(image)

        var stageTimes: [String: [Double]] = [:], stageOrder: [String] = []
        encoder = measure(runs) {
            var trace: TinyViT.Trace? = TinyViT.Trace()
            _ = segmenter.model.imageEncoder.forward(image.input, trace: &trace)
            for (name, ms) in trace!.timings {
                if stageTimes[name] == nil { stageOrder.append(name) }
                stageTimes[name, default: []].append(ms)
            }
        }
        encoderStages = stageOrder.map { name in
            let t = stageTimes[name]!.sorted()
            return (name, t[t.count / 2])
        }
        decoder = measure(runs) {
            let (sparse, dense) = segmenter.promptEmbeddings(box: box, points: [], for: image)
            _ = segmenter.decode(imageEmbedding: embedding, sparse: sparse, dense: dense)
        }
        predict = measure(runs) { _ = segmenter.predict(pixels: pixels, width: side, height: side, channels: 1, box: box) }
        // One decoder-mode training step (4 tokens): taped decoder forward, Dice + BCE,
        // backward to the tokens, AdamW — what `fit` repeats per example.
        let tuner = PromptTuner(segmenter: segmenter, settings: FitSettings())
        let mask = Mask(width: side, height: side, voxels: pixels.map { $0 > 150 ? 1 : 0 })
        let example = TuningExample(name: "bench", caseName: "bench", embedding: embedding, geometry: image,
                                    target: paddedTarget(mask, geometry: image, size: lowResolutionSize(segmenter)),
                                    mask: mask, box: nil)
        decoderStep = measure(runs) { tuner.step([example], rate: 3e-3) }
        // One deep-mode training step (4 tokens, 8 visual prompt tokens per encoder block):
        // taped encoder and decoder forward, loss, backward through both, AdamW.
        let deepTuner = Self.deepTuner(segmenter)
        let deepExample = TuningExample(name: "bench", caseName: "bench", embedding: nil, geometry: image,
                                        target: example.target, mask: mask, box: nil)
        let before = ResidentMemory.resetPeak()
        deepStep = measure(runs) { deepTuner.step([deepExample], rate: 3e-3) }
        deepStepMemory = before.flatMap { before in ResidentMemory.peakSinceReset().map { (peak: $0, added: $0 - before) } }
        encoderGFLOP = segmenter.model.imageEncoder.forwardFLOPs / 1e9
        decoderGFLOP = segmenter.model.maskDecoder.forwardFLOPs(sparseTokens: 2) / 1e9
        peakResidentMB = ResidentMemory.peak()
    }

    /// One deep training step through `segmenter` (SAM ViT-B's shapes at 1024×1024, for
    /// `bench --deep-vit-b`): up to 3 timed steps, the first with first-touch allocation,
    /// and the step's resident memory as for `deepStepMemory`.
    public static func deepSteps(_ segmenter: Segmenter, runs: Int) -> (milliseconds: [Double], memory: (peak: Double, before: Double)?) {
        let side = 512
        let pixels = syntheticScan(side: side)
        let image = segmenter.prepare(pixels: pixels, width: side, height: side, channels: 1)
        let mask = Mask(width: side, height: side, voxels: pixels.map { $0 > 150 ? 1 : 0 })
        // The decoder's logits are 256 × 256 for a 1024 input: the target at a quarter of the resized size.
        let low = lowResolutionSize(segmenter), quarter = segmenter.inputSize / low
        var targetGeometry = image
        (targetGeometry.resizedWidth, targetGeometry.resizedHeight) = (image.resizedWidth / quarter, image.resizedHeight / quarter)
        let example = TuningExample(name: "bench", caseName: "bench", embedding: nil, geometry: image,
                                    target: paddedTarget(mask, geometry: targetGeometry, size: low), mask: mask, box: nil)
        let tuner = deepTuner(segmenter)
        let before = ResidentMemory.resetPeak()
        let times = (0..<max(1, min(runs, 3))).map { _ in
            let start = ContinuousClock.now
            tuner.step([example], rate: 3e-3)
            return milliseconds(ContinuousClock.now - start)
        }
        let peak = ResidentMemory.peakSinceReset()
        return (times, before.flatMap { before in peak.map { ($0, before) } })
    }

    /// Deep mode's tuner with fit's defaults, without augmentation (a step's work is the same).
    private static func deepTuner(_ segmenter: Segmenter) -> PromptTuner {
        var settings = FitSettings()
        settings.mode = .deep
        settings.augment = false
        return PromptTuner(segmenter: segmenter, settings: settings)
    }
}

/// This process's resident memory, in MB.
public enum ResidentMemory {
    /// Peak resident set size (getrusage; kilobytes on Linux, bytes on macOS).
    public static func peak() -> Double {
        var usage = rusage()
        #if os(macOS)
        getrusage(RUSAGE_SELF, &usage)
        return Double(usage.ru_maxrss) / 1_048_576
        #else
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
        #endif
    }

    /// Resets the kernel's resident high-water mark to the current resident size (Linux
    /// /proc/self/clear_refs, mode 5) and returns that size; nil where unsupported.
    public static func resetPeak() -> Double? {
        guard FileManager.default.isWritableFile(atPath: "/proc/self/clear_refs"),
              let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return nil }
        defer { try? handle.close() }
        guard (try? handle.write(contentsOf: Data("5".utf8))) != nil else { return nil }
        return status("VmRSS")
    }

    /// The resident high-water mark since the last reset (VmHWM).
    public static func peakSinceReset() -> Double? { status("VmHWM") }

    private static func status(_ field: String) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
              let kB = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kB / 1024
    }
}

/// A synthetic scan-like gray image (side × side, 512 as benchmarked): a bright
/// ellipse (values above 150) on a textured background.
public func syntheticScan(side: Int) -> [Float] {
    var pixels = [Float](repeating: 0, count: side * side)
    for y in 0..<side {
        for x in 0..<side {
            let dx = Float(x - 260) / 150, dy = Float(y - 240) / 100
            pixels[y * side + x] = 40 + 20 * sin(Float(x) / 13) + (dx * dx + dy * dy < 1 ? 150 : 0)
        }
    }
    return pixels
}
