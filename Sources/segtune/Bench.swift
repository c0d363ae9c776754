import ArgumentParser
import Foundation
import Models
import Tensors
import Tuning
import Imaging

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the model on this machine: encoder, prompt encoder + decoder, and a whole predict.",
        discussion: """
            Times the image encoder, the prompt encoder + mask decoder (one box), a whole \
            prediction of one synthetic 512×512 image (preprocess, encode, decode, resize back), \
            and one training step of each mode (decoder; deep, with its peak memory), \
            each after a warm-up: median, min and max over --runs, GFLOP/s, the encoder's time \
            per stage, and peak resident memory. Build with -c release for meaningful numbers.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Timed runs per measurement (at least 10 for the reported medians).")
    var runs: Int = 10

    @Flag(help: "Print one JSON object as the last line.")
    var json = false

    @Flag(help: ArgumentHelp("""
        Instead: time one deep training step (8 visual prompt tokens per block) through SAM ViT-B's \
        encoder at 1024×1024 with seeded random encoder weights and LiteMedSAM's prompt encoder and \
        decoder (the same shapes as SAM's), and its peak memory. Needs no ViT checkpoint.
        """, visibility: .hidden))
    var deepVitB = false

    func validate() throws {
        if runs < 1 { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        modelOptions.applyThreads()
        if deepVitB { return try runDeepViTB() }
        let loadStart = ContinuousClock.now
        let segmenter = try modelOptions.load().segmenter
        let loadMs = milliseconds(ContinuousClock.now - loadStart)

        let side = 512
        let pixels = syntheticScan(side: side)
        let box = BoxPrompt(x0: 100, y0: 130, x1: 420, y1: 350)
        let image = segmenter.prepare(pixels: pixels, width: side, height: side, channels: 1)
        let embedding = segmenter.imageEmbedding(image)

        var stageTimes: [String: [Double]] = [:]
        var stageOrder: [String] = []
        let encoder = measure(runs) {
            var trace: TinyViT.Trace? = TinyViT.Trace()
            _ = segmenter.model.imageEncoder.forward(image.input, trace: &trace)
            for (name, ms) in trace!.timings {
                if stageTimes[name] == nil { stageOrder.append(name) }
                stageTimes[name, default: []].append(ms)
            }
        }
        let decoder = measure(runs) {
            let (sparse, dense) = segmenter.promptEmbeddings(box: box, points: [], for: image)
            _ = segmenter.decode(imageEmbedding: embedding, sparse: sparse, dense: dense)
        }
        let predict = measure(runs) {
            _ = segmenter.predict(pixels: pixels, width: side, height: side, channels: 1, box: box)
        }
        // One decoder-mode training step (4 tokens): taped decoder forward, Dice + BCE,
        // backward to the tokens, AdamW — what `fit` repeats per example.
        let tuner = PromptTuner(segmenter: segmenter, settings: FitSettings())
        let mask = Mask(width: side, height: side, voxels: pixels.map { $0 > 150 ? 1 : 0 })
        let example = TuningExample(name: "bench", caseName: "bench", embedding: embedding, geometry: image,
                                    target: paddedTarget(mask, geometry: image, size: lowResolutionSize(segmenter)),
                                    mask: mask, box: nil)
        let decoderStep = measure(runs) { tuner.step([example], rate: 3e-3) }
        // One deep-mode training step (4 tokens, 8 visual prompt tokens per encoder block):
        // taped encoder and decoder forward, loss, backward through both, AdamW. Its peak
        // memory: the high-water mark reset just before (Linux), minus what was resident then.
        var settings = FitSettings()
        settings.mode = .deep
        settings.augment = false
        let deepTuner = PromptTuner(segmenter: segmenter, settings: settings)
        let deepExample = TuningExample(name: "bench", caseName: "bench", embedding: nil, geometry: image,
                                        target: example.target, mask: mask, box: nil)
        let before = resetPeakResidentMegabytes()
        let deepStep = measure(runs) { deepTuner.step([deepExample], rate: 3e-3) }
        // The high-water mark can be reset on Linux only; elsewhere no per-step figure.
        let deepPeak = before.flatMap { before in peakResidentSinceResetMegabytes().map { (peak: $0, added: $0 - before) } }
        let encoderGF = segmenter.model.imageEncoder.forwardFLOPs / 1e9
        let decoderGF = segmenter.model.maskDecoder.forwardFLOPs(sparseTokens: 2) / 1e9
        let rssMB = peakResidentMegabytes()

        print("model \(segmenter.model.preset.name), \(Threads.count) thread(s), \(runs) runs after a warm-up; checkpoint loaded in \(format(loadMs)) ms")
        print("part                     median ms    min ms    max ms   GFLOP  GFLOP/s")
        for (name, t, gf) in [("encoder", encoder, encoderGF), ("prompt encoder + decoder", decoder, decoderGF),
                              ("predict 512×512", predict, encoderGF + decoderGF),
                              ("decoder training step", decoderStep, .nan), ("deep training step", deepStep, .nan)] {
            print(name.padding(toLength: 24, withPad: " ", startingAt: 0),
                  pad(format(t.median), 10), pad(format(t.min), 9), pad(format(t.max), 9),
                  pad(String(format: "%.2f", gf), 7), pad(String(format: "%.1f", gf / t.median * 1e3), 8))
        }
        print("encoder stages (median ms): " + stageOrder.map { name in
            let t = stageTimes[name]!.sorted()
            return "\(name) \(format(t[t.count / 2]))"
        }.joined(separator: ", "))
        print("peak resident memory: \(format(rssMB)) MB")
        if let deepPeak {
            print("deep training step: peak resident \(format(deepPeak.peak)) MB, \(format(deepPeak.added)) MB above the loaded model")
        }
        if json {
            var object: [String: Any] = [
                "model": segmenter.model.preset.name, "threads": Threads.count, "runs": runs,
                "encoder_ms": encoder.median, "encoder_min_ms": encoder.min, "encoder_max_ms": encoder.max,
                "decoder_ms": decoder.median, "decoder_min_ms": decoder.min, "decoder_max_ms": decoder.max,
                "predict_ms": predict.median, "predict_min_ms": predict.min, "predict_max_ms": predict.max,
                "decoder_step_ms": decoderStep.median, "decoder_step_min_ms": decoderStep.min, "decoder_step_max_ms": decoderStep.max,
                "encoder_gflop": encoderGF, "decoder_gflop": decoderGF,
                "encoder_gflops_per_s": encoderGF / encoder.median * 1e3, "peak_rss_mb": rssMB,
            ]
            object["deep_step_ms"] = deepStep.median
            object["deep_step_min_ms"] = deepStep.min
            object["deep_step_max_ms"] = deepStep.max
            if let deepPeak {
                object["deep_step_peak_rss_mb"] = deepPeak.peak
                object["deep_step_added_mb"] = deepPeak.added
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

extension Bench {
    /// One deep step through ViT-B's shapes: a memory and speed measurement, not a model (the
    /// encoder's weights are random; their values do not change the work or the memory).
    func runDeepViTB() throws {
        let liteURL = try checkpointURL(modelOptions, preset: .liteMedSAM)
        var weights = try loadCheckpoint(at: liteURL).filter { $0.key.hasPrefix("prompt_encoder.") || $0.key.hasPrefix("mask_decoder.") }
        for (key, value) in ImageEncoderViT.randomWeights(.vitB, seed: 1) { weights["image_encoder." + key] = value }
        let segmenter = try Segmenter(preset: .samViTB, weights: weights)
        weights = [:]
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
        var settings = FitSettings()
        settings.mode = .deep
        settings.augment = false
        let tuner = PromptTuner(segmenter: segmenter, settings: settings)
        let before = resetPeakResidentMegabytes()
        var times: [Double] = []
        for _ in 0..<max(1, min(runs, 3)) {
            let start = ContinuousClock.now
            tuner.step([example], rate: 3e-3)
            times.append(milliseconds(ContinuousClock.now - start))
        }
        let peak = peakResidentSinceResetMegabytes()
        print("deep training step through SAM ViT-B's shapes (1024×1024, 12 blocks, 8 prompt tokens each), \(Threads.count) thread(s)")
        print("random encoder weights and LiteMedSAM's decoder: this measures time and memory, not a model")
        print("step ms: " + times.map(format).joined(separator: ", ") + " (the first includes first-touch allocation)")
        if let before, let peak {
            print("peak resident \(format(peak)) MB, \(format(peak - before)) MB above the loaded model (\(format(before)) MB)")
        }
        if json {
            var object: [String: Any] = ["model": "vit-b-random", "threads": Threads.count, "deep_step_ms": times]
            if let before, let peak { object["deep_step_peak_rss_mb"] = peak; object["deep_step_added_mb"] = peak - before }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

struct Timing { var median: Double, min: Double, max: Double }

/// One warm-up call, then `runs` timed calls.
func measure(_ runs: Int, _ body: () -> Void) -> Timing {
    body()
    var times: [Double] = []
    for _ in 0..<runs {
        let start = ContinuousClock.now
        body()
        times.append(milliseconds(ContinuousClock.now - start))
    }
    times.sort()
    let mid = times.count / 2
    let median = times.count % 2 == 1 ? times[mid] : (times[mid - 1] + times[mid]) / 2
    return Timing(median: median, min: times.first!, max: times.last!)
}

func milliseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15
}

/// Peak resident set size of this process (getrusage; kilobytes on Linux, bytes on macOS).
func peakResidentMegabytes() -> Double {
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
/// /proc/self/clear_refs, mode 5) and returns that size in MB; nil where unsupported.
func resetPeakResidentMegabytes() -> Double? {
    guard FileManager.default.isWritableFile(atPath: "/proc/self/clear_refs"),
          let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return nil }
    defer { try? handle.close() }
    guard (try? handle.write(contentsOf: Data("5".utf8))) != nil else { return nil }
    return procStatusMegabytes("VmRSS")
}

/// The resident high-water mark since the last reset (VmHWM), in MB.
func peakResidentSinceResetMegabytes() -> Double? { procStatusMegabytes("VmHWM") }

private func procStatusMegabytes(_ field: String) -> Double? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
          let kB = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
    return kB / 1024
}

func format(_ v: Double) -> String { String(format: "%.1f", v) }
func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }

/// A synthetic scan-like gray image (side × side, 512 as benchmarked): a bright
/// ellipse (values above 150) on a textured background.
func syntheticScan(side: Int) -> [Float] {
    var pixels = [Float](repeating: 0, count: side * side)
    for y in 0..<side {
        for x in 0..<side {
            let dx = Float(x - 260) / 150, dy = Float(y - 240) / 100
            pixels[y * side + x] = 40 + 20 * sin(Float(x) / 13) + (dx * dx + dy * dy < 1 ? 150 : 0)
        }
    }
    return pixels
}
