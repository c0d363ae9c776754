import Foundation
import Imaging

/// What `fit` (and `embed`) report while they work, as data: the CLI turns each into the
/// line it prints (Sources/segtune/FitLines.swift), another program shows it its own way,
/// and tests check the values rather than prose.
public enum FitEvent: Sendable {
    /// Something a user should know about the dataset (unpaired files, in Dataset's words).
    case datasetWarning(String)
    /// The window each case was read with, in order ("W 400 / L 40 (abdomen): 3 cases").
    case windows([String])
    /// The body crop of the first cases: name, cropped size, and where the crop starts.
    case crop([(caseName: String, width: Int, height: Int, origin: (x: Int, y: Int)?)])
    /// Too few cases to hold one out: validation is a slab of one volume.
    case validatingOnSlab(SlabHoldout, trainingCases: Int)
    /// Nothing to validate on: `fractionIsZero` when asked for (validation fraction 0),
    /// else too few cases and slices; the best epoch is then the lowest training loss.
    case noValidation(fractionIsZero: Bool)
    /// Volumes whose every training slice holds the structure: the task never learns "none".
    case noSliceWithoutStructure
    case deepMode(visualPromptTokens: Int)
    /// The augmented variants each training slice gives, and the per-step shift (fraction
    /// of the frame, embedding cells) when position jitter is on.
    case augmentation([AugmentationGroup], imagesPerSlice: Int, jitter: (fraction: Double, cells: Int)?)
    /// Every training variant and validation image embedded, `encoded` of them by the encoder.
    case embedded(total: Int, encoded: Int)
    case training(slices: Int, cases: Int, variants: Int, validationSlices: Int, validationCases: Int, slab: SlabHoldout?)
    /// Validation before the first step: the untuned model with a whole-image box, and the initial prompts.
    case beforeTuning(untuned: (dice: Double, iou: Double), initialDice: Double)
    /// Stage 2 starts: stage 1's box errors on the training slices, the tokens and epochs it trains.
    case stage2(errors: BoxErrors, tokens: Int, epochs: Int)
    /// Stage 2 stopped early: `Stage2Training.patience` epochs without a better cascade
    /// validation Dice after `bestEpoch`; `epoch` of `epochs` was its last.
    case stage2Stopped(epoch: Int, of: Int, bestEpoch: Int)
    /// The cascade as validation chose it; `slab`: chosen on a slab of the training scan.
    case cascadeChosen(CascadeChoice, slab: SlabHoldout?)
    /// The atlas stored in the task: slices, scans with slice positions, and whether the
    /// validation slab's slices are among them.
    case atlasKept(slices: Int, scansWithPositions: Int, includesSlab: Bool)
    /// The task is saved: why training stopped, and the seconds of each phase in order.
    case saved(task: String, folder: URL, stop: TrainingLoop.StopReason, phases: [(name: String, seconds: Double)])
    /// `embed`: a folder's cases that this shard takes, of all.
    case shard(folder: String, Shard, taking: [String], of: Int)
    /// `embed`: a folder's images encoded now and found in the cache.
    case cacheFilled(folder: String, encoded: Int, cached: Int)
}

/// What `fit` reports while it works: the CLI prints it, another program may show it.
public protocol FitObserver: AnyObject {
    func event(_ event: FitEvent)
    /// A case that could not be used (the others still train).
    func failed(_ error: InputError)
    /// Encoding the training variants and validation images, `total` in all.
    func start(_ label: String, total: Int)
    func update(_ done: Int)
    /// Within an epoch.
    func step(_ step: Int, of steps: Int)
    func epoch(_ record: TaskManifest.EpochRecord, of epochs: Int, isBest: Bool)
    /// An epoch of the cascade's stage 2 (its validation Dice is the cascade's).
    func stage2Epoch(_ record: TaskManifest.EpochRecord, of epochs: Int, isBest: Bool)
}

extension FitObserver {
    public func stage2Epoch(_ record: TaskManifest.EpochRecord, of epochs: Int, isBest: Bool) {
        epoch(record, of: epochs, isBest: isBest)
    }
}
