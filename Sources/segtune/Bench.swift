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
        let b = ModelBenchmark(segmenter, runs: runs)

        print("model \(segmenter.model.preset.name), \(Threads.count) thread(s), \(runs) runs after a warm-up; checkpoint loaded in \(format(loadMs)) ms")
        print("part                     median ms    min ms    max ms   GFLOP  GFLOP/s")
        for (name, t, gf) in [("encoder", b.encoder, b.encoderGFLOP), ("prompt encoder + decoder", b.decoder, b.decoderGFLOP),
                              ("predict 512×512", b.predict, b.encoderGFLOP + b.decoderGFLOP),
                              ("decoder training step", b.decoderStep, .nan), ("deep training step", b.deepStep, .nan)] {
            print(name.padding(toLength: 24, withPad: " ", startingAt: 0),
                  pad(format(t.median), 10), pad(format(t.min), 9), pad(format(t.max), 9),
                  pad(String(format: "%.2f", gf), 7), pad(String(format: "%.1f", gf / t.median * 1e3), 8))
        }
        print("encoder stages (median ms): " + b.encoderStages.map { "\($0.name) \(format($0.median))" }.joined(separator: ", "))
        print("peak resident memory: \(format(b.peakResidentMB)) MB")
        if let deep = b.deepStepMemory {
            print("deep training step: peak resident \(format(deep.peak)) MB, \(format(deep.added)) MB above the loaded model")
        }
        guard json else { return }
        var object: [String: Any] = ["model": segmenter.model.preset.name, "threads": Threads.count, "runs": runs,
                                     "encoder_gflop": b.encoderGFLOP, "decoder_gflop": b.decoderGFLOP,
                                     "encoder_gflops_per_s": b.encoderGFLOP / b.encoder.median * 1e3, "peak_rss_mb": b.peakResidentMB]
        for (key, t) in [("encoder", b.encoder), ("decoder", b.decoder), ("predict", b.predict), ("decoder_step", b.decoderStep), ("deep_step", b.deepStep)] {
            (object["\(key)_ms"], object["\(key)_min_ms"], object["\(key)_max_ms"]) = (t.median, t.min, t.max)
        }
        if let deep = b.deepStepMemory { (object["deep_step_peak_rss_mb"], object["deep_step_added_mb"]) = (deep.peak, deep.added) }
        print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
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
        let (times, memory) = ModelBenchmark.deepSteps(segmenter, runs: runs)
        print("deep training step through SAM ViT-B's shapes (1024×1024, 12 blocks, 8 prompt tokens each), \(Threads.count) thread(s)")
        print("random encoder weights and LiteMedSAM's decoder: this measures time and memory, not a model")
        print("step ms: " + times.map(format).joined(separator: ", ") + " (the first includes first-touch allocation)")
        if let memory {
            print("peak resident \(format(memory.peak)) MB, \(format(memory.peak - memory.before)) MB above the loaded model (\(format(memory.before)) MB)")
        }
        if json {
            var object: [String: Any] = ["model": "vit-b-random", "threads": Threads.count, "deep_step_ms": times]
            if let memory { (object["deep_step_peak_rss_mb"], object["deep_step_added_mb"]) = (memory.peak, memory.peak - memory.before) }
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        }
    }
}

func format(_ v: Double) -> String { String(format: "%.1f", v) }
func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
