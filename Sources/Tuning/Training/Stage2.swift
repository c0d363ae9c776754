import Foundation
import Imaging
import Models
import Tensors

/// How far stage 1's boxes are from the reference's, per side, as fractions of the
/// image's longest side: (x0, y0, x1, y1) of the stage-1 box minus the reference box.
/// Measured on the training slices once stage 1 has trained, and the distribution
/// stage 2 draws its training boxes from.
public struct BoxErrors: Sendable, Equatable {
    public var offsets: [[Double]]
    /// Training slices with the structure where stage 1 found nothing (no box to refine).
    public var missed: Int

    /// The median of each side's offset, for the log.
    public var medians: [Double] {
        (0..<4).map { side in
            let values = offsets.map { $0[side] }.sorted()
            return values.isEmpty ? 0 : values[values.count / 2]
        }
    }
}

extension PromptTuner {
    /// Stage 1's boxes against the reference boxes on `training` (the original images,
    /// not their augmented variants), with the cascade's own box rule (a volume's largest
    /// 3-D component, gaps interpolated) and no margin.
    public func measureBoxErrors(_ training: [TuningExample]) -> BoxErrors {
        let originals = training.filter { $0.augmentation == .identity }
        let validation = CascadeValidation(originals, segmenter: segmenter, embeddings: false)
        var errors = BoxErrors(offsets: [], missed: 0)
        // Cases in name order: the offsets' order feeds the seeded sampling.
        for name in validation.cases.keys.sorted() {
            let examples = validation.cases[name]!
            let coarse = examples.map { predictedMask(for: $0) }
            let boxes = cascadeBoxes(coarse, isVolume: examples.count > 1 && examples[0].sliceIndex != nil, margin: 0)
            for (example, box) in zip(examples, boxes) {
                guard let reference = example.box else { continue }
                guard let box else { errors.missed += 1; continue }
                let side = Double(max(example.geometry.originalWidth, example.geometry.originalHeight))
                errors.offsets.append([box.x0 - reference.x0, box.y0 - reference.y0, box.x1 - reference.x1, box.y1 - reference.y1]
                    .map { Double($0) / side })
            }
        }
        return errors
    }
}

/// The cascade's stage 2, tuned: tokens beside the box prompt, trained on boxes drawn as
/// stage 1 will draw them (the reference box moved by one of stage 1's measured errors,
/// then grown by one of the candidate margins), judged each epoch by the cascade's
/// validation Dice on stage 1's own masks. The tokens start near zero, so stage 2 starts
/// as the frozen model with the box; validation decides whether it is used.
public struct Stage2Training {
    public let settings: FitSettings
    public let errors: BoxErrors

    public init(stage1 settings: FitSettings, errors: BoxErrors) {
        self.settings = Self.settings(stage1: settings)
        self.errors = errors
    }

    /// Epochs without a better cascade validation Dice after which stage 2 stops. Its
    /// tokens start as the frozen model with the box and gain in the first epochs or not at
    /// all: in the held-out table's eight one-scan fits (docs/tuning.md) no stage 2 improved
    /// after two epochs without, and the one-scan liver's kept epoch 1 of 5 (it now stops after 3).
    public static let patience = 2

    /// Stage-2 settings from stage 1's: decoder mode, the same number of tokens beside
    /// the box, no dense prompt, no moves, half the epochs (at least 2), early stop. Also
    /// the layout a loaded task's stage-2 tokens have.
    public static func settings(stage1 settings: FitSettings) -> FitSettings {
        var s = settings
        (s.mode, s.withBox, s.dense, s.augmentations, s.positionJitter) = (.decoder, true, .none, [], 0)
        s.epochs = max(2, settings.epochs / 2)
        s.patience = patience
        s.seed = settings.seed &+ 2
        return s
    }

    /// A training box for `example`: its reference box, moved by a measured error and grown
    /// by a candidate margin, inside the image. Nil for an example without the structure.
    static func box(for example: TuningExample, errors: BoxErrors, using generator: inout SeededGenerator) -> BoxPrompt? {
        guard let reference = example.box else { return nil }
        let (w, h) = (Float(example.geometry.originalWidth), Float(example.geometry.originalHeight))
        let side = max(w, h)
        let offset = errors.offsets.isEmpty ? [0, 0, 0, 0] : errors.offsets[Int.random(in: 0..<errors.offsets.count, using: &generator)]
        let margin = Float(CascadeChoice.candidateMargins.randomElement(using: &generator)!) * side
        var box = BoxPrompt(x0: min(max(reference.x0 + Float(offset[0]) * side - margin, 0), w - 1),
                            y0: min(max(reference.y0 + Float(offset[1]) * side - margin, 0), h - 1),
                            x1: min(max(reference.x1 + Float(offset[2]) * side + margin, 0), w - 1),
                            y1: min(max(reference.y1 + Float(offset[3]) * side + margin, 0), h - 1))
        if box.x1 <= box.x0 { (box.x0, box.x1) = (max(0, min(box.x0, box.x1) - 1), min(w - 1, max(box.x0, box.x1) + 1)) }
        if box.y1 <= box.y0 { (box.y0, box.y1) = (max(0, min(box.y0, box.y1) - 1), min(h - 1, max(box.y0, box.y1) + 1)) }
        return box
    }

    /// Trains the stage-2 tokens; `stage1` holds the kept stage-1 prompts. Returns the
    /// tuner with the best epoch's tokens, and the loop's stop reason.
    public func run(segmenter: Segmenter, stage1: PromptTuner, training: [TuningExample], validation: CascadeValidation,
                    shouldStop: () -> Bool, onStep: (Int, Int) -> Void, onEpoch: (TrainingLoop.EpochEnd) throws -> Void) rethrows
        -> (tuner: PromptTuner, stop: TrainingLoop.StopReason) {
        let tuner = PromptTuner(segmenter: segmenter, settings: settings)
        tuner.initialiseTokensNearZero()
        let errors = self.errors
        tuner.trainingBox = { example, generator in Self.box(for: example, errors: errors, using: &generator) }
        // Stage 1's masks do not change while stage 2 trains: computed once.
        let coarse = validation.coarseMasks { stage1.predictedMask(for: $0) }
        var loop = TrainingLoop(tuner: tuner, training: training.filter { $0.box != nil }, validation: [])
        loop.validationScore = { tuned in validation.bestOneRoundDice(coarse, stage2: tuned.boxStage, tuner: tuned) }
        let stop = try loop.run(shouldStop: shouldStop, onStep: onStep, onEpoch: onEpoch)
        tuner.restore(values: loop.bestValues)
        return (tuner, stop)
    }
}
