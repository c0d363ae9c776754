import Foundation
import Tensors

/// Runs epochs of training (decoder or deep mode: the tuner knows which) and keeps the best prompts.
///
/// Each epoch visits the training examples in a seeded random order in batches,
/// then scores the validation examples: stage 1 (the tokens' own masks) and, with
/// `cascade`, the cascade on those masks. The kept epoch delivers (the better of the
/// two) within `validationTolerance` of the best epoch so far, and among such epochs has
/// the best stage 1 (`replaces`; without a validation set: the lowest training loss).
/// Judging by the cascade too matters: the tokens that localise best are not always
/// the ones whose own masks have the best edges.
public struct TrainingLoop {
    public var tuner: PromptTuner
    public var training: [TuningExample]
    public var validation: [TuningExample]
    /// Epochs already done (from `--resume`), and their records.
    public var history: [TaskManifest.EpochRecord] = []
    public private(set) var best: TaskManifest.EpochRecord?
    /// The prompts of the best epoch so far (flat, the arena's layout).
    public private(set) var bestValues: Tensor
    /// The validation split for the cascade's per-epoch score; nil: stage 1 only.
    public var cascade: CascadeValidation?
    /// Replaces the validation score (the cascade's stage 2 is judged by the cascade's Dice).
    var validationScore: ((PromptTuner) -> (dice: Double, iou: Double))?

    public init(tuner: PromptTuner, training: [TuningExample], validation: [TuningExample], cascade: CascadeValidation? = nil,
                history: [TaskManifest.EpochRecord] = [], best: TaskManifest.EpochRecord? = nil, bestValues: Tensor? = nil) {
        self.tuner = tuner
        self.training = training
        self.validation = validation
        self.cascade = cascade
        self.history = history
        self.best = best
        self.bestValues = bestValues ?? tuner.arena.values.copy()
    }

    var stepsPerEpoch: Int { (training.count + tuner.settings.batchSize - 1) / tuner.settings.batchSize }

    /// Validation score of the current prompts (before any training: the untuned start).
    public func score() -> (dice: Double, iou: Double) { tuner.validate(validation) }

    /// Trains until the last epoch, early stop (`patience` epochs without a better
    /// validation Dice), or `shouldStop()` (checked after every step: Ctrl-C).
    /// `onStep(step, steps)` reports progress within an epoch; `onEpoch` each finished
    /// epoch (it must not touch this loop: it runs inside `run`).
    public mutating func run(
        shouldStop: () -> Bool = { false },
        onStep: (Int, Int) -> Void = { _, _ in },
        onEpoch: (EpochEnd) throws -> Void = { _ in }
    ) rethrows -> StopReason {
        let settings = tuner.settings
        let steps = stepsPerEpoch
        let schedule = CosineSchedule(baseRate: settings.learningRate, warmupSteps: settings.warmupEpochs * steps,
                                      totalSteps: settings.epochs * steps)
        // One generator per epoch, derived from the seed, so that a resumed run
        // visits the examples in the same order as an uninterrupted one.
        while history.count < settings.epochs {
            let epoch = history.count + 1
            var generator = SeededGenerator(seed: settings.seed &* 0x9E37_79B9 &+ UInt64(epoch))
            let order = training.indices.shuffled(using: &generator)
            let started = Date()
            var lossSum = 0.0
            for s in 0 ..< steps {
                let batch = order[(s * settings.batchSize) ..< min(order.count, (s + 1) * settings.batchSize)].map { training[$0] }
                let rate = schedule.rate(at: (epoch - 1) * steps + s)
                // Drawn from the epoch's generator, so a resumed run moves the same examples the same way.
                let shifts = tuner.positionJitterCells.map { cells in batch.map { _ in EmbeddingShift.random(maxCells: cells, using: &generator) } }
                lossSum += tuner.step(batch, rate: rate, shifts: shifts).total
                onStep(s + 1, steps)
                if shouldStop() { return .interrupted }
            }
            var scores: (dice: Double, iou: Double)?, cascadeDice: Double?, empty: (marked: Int, of: Int)?
            if let cascade, !cascade.isEmpty {
                let coarse = cascade.coarseMasks { tuner.predictedMask(for: $0) }
                scores = cascade.score(coarse, with: tuner)
                empty = cascade.emptySlicesMarked(coarse)
                cascadeDice = cascade.bestOneRoundDice(coarse, stage2: frozenBoxStage(tuner.segmenter), tuner: tuner).dice
            } else if let validationScore {
                scores = validationScore(tuner)
            } else if !validation.isEmpty {
                scores = score()
            }
            var record = TaskManifest.EpochRecord(
                epoch: epoch, trainingLoss: lossSum / Double(steps), validationDice: scores?.dice,
                validationIoU: scores?.iou, cascadeDice: cascadeDice, seconds: Date().timeIntervalSince(started))
            (record.emptySlicesMarked, record.emptySlices) = (empty?.marked, empty?.of)
            history.append(record)
            let top = history.compactMap(\.deliveredDice).max()
            let isBest = best.map { Self.replaces($0, with: record, top: top) } ?? true
            if isBest {
                best = record
                bestValues = tuner.arena.values.copy()
            }
            try onEpoch(EpochEnd(record: record, isBest: isBest, history: history, best: best, bestValues: bestValues))
            if let patience = settings.patience, let best, epoch - best.epoch >= patience { return .earlyStop }
        }
        return .finished
    }

    /// Validation Dices closer than this are a tie: a few cases or a slab cannot tell
    /// such epochs apart.
    public static let validationTolerance = 0.01

    /// Whether `candidate` replaces the `kept` epoch, given `top`, the best delivered
    /// Dice so far (the candidate's included). Among epochs within the tolerance of
    /// `top`, the one marking fewer of validation's slices without the structure wins,
    /// then stage 1's own Dice decides. The cascade's boxes depend on stage 1 finding
    /// the structure, and barely trained tokens whose boxes happen to fit the validation
    /// slices can miss it elsewhere: on the liver CT, epoch 1 (stage 1 0.31, cascade 0.976
    /// on validation) scored 0.03 held out. Online, so an epoch that left the band is not
    /// brought back.
    public static func replaces(_ kept: TaskManifest.EpochRecord, with candidate: TaskManifest.EpochRecord, top: Double?) -> Bool {
        guard let top, let keptDice = kept.deliveredDice, let candidateDice = candidate.deliveredDice,
              let keptStage1 = kept.validationDice, let candidateStage1 = candidate.validationDice
        else { return candidate.trainingLoss < kept.trainingLoss }
        if keptDice < top - validationTolerance { return true }  // the candidate is the new top
        guard candidateDice >= top - validationTolerance else { return false }
        // Among near ties, fewer validation slices without the structure marked comes first.
        if let marked = candidate.emptySlicesMarked, let keptMarked = kept.emptySlicesMarked, marked != keptMarked {
            return marked < keptMarked
        }
        return candidateStage1 > keptStage1
    }

    /// What `onEpoch` sees after each epoch: enough to save the task.
    public struct EpochEnd {
        public let record: TaskManifest.EpochRecord
        public let isBest: Bool
        public let history: [TaskManifest.EpochRecord]
        public let best: TaskManifest.EpochRecord?
        public let bestValues: Tensor
    }

    public enum StopReason: String, Sendable { case finished, earlyStop = "early stop", interrupted }
}
