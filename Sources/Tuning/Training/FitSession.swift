import Foundation
import Imaging
import Models
import Tensors

/// What to fit: the data, how to read it, the prompts and training settings, where the
/// task and the embedding cache live.
public struct FitRequest: Sendable {
    public var task: String
    /// A dataset folder (images/ + masks/, or nnU-Net's imagesTr/ + labelsTr/).
    public var dataset: URL
    /// A separate validation dataset; nil: hold out cases (or a slab of one volume).
    public var validationDataset: URL?
    public var window: Window
    /// The window as the user named it ("auto", "abdomen", "400/40"), for task.json.
    public var windowName: String
    public var labels: LabelSelection?
    /// How much of each slice the model sees (FieldOfView): the body's box by default.
    public var fieldOfView: FieldOfView = .body
    public var settings: FitSettings
    public var tasksDirectory: URL
    public var cacheDirectory: URL
    /// Continue the task's last run for its remaining epochs.
    public var resume: Bool

    public init(task: String, dataset: URL, validationDataset: URL? = nil, window: Window = .auto, windowName: String = "auto",
                labels: LabelSelection? = nil, settings: FitSettings = FitSettings(), fieldOfView: FieldOfView = .body,
                tasksDirectory: URL, cacheDirectory: URL, resume: Bool = false) {
        (self.task, self.dataset, self.validationDataset, self.window, self.windowName) = (task, dataset, validationDataset, window, windowName)
        self.fieldOfView = fieldOfView
        (self.labels, self.settings, self.tasksDirectory, self.cacheDirectory, self.resume) = (labels, settings, tasksDirectory, cacheDirectory, resume)
    }
}

/// What a fit did: the task as saved, how it stopped, the scores before tuning, and the
/// cases that could not be used.
public struct FitResult {
    public var manifest: TaskManifest
    public var folder: URL
    public var stop: TrainingLoop.StopReason
    /// The untuned model (whole-image box) and the initial prompts on validation.
    public var untuned: (dice: Double, iou: Double)?
    public var initial: (dice: Double, iou: Double)?
    public var failures: [InputError]

    /// The one-line JSON object `fit --json` prints.
    public func jsonSummary() throws -> String {
        let summary = Summary(task: manifest.name, folder: folder.path, stop: stop.rawValue, epochs: manifest.history.count,
                              untunedValidationDice: untuned?.dice, initialValidationDice: initial?.dice,
                              best: manifest.best, cascade: manifest.cascade, failures: failures.map(\.description))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(summary), as: UTF8.self)
    }

    private struct Summary: Encodable {
        var task: String
        var folder: String
        var stop: String
        var epochs: Int
        /// The untuned model with a whole-image box (LiteMedSAM's default prompt).
        var untunedValidationDice: Double?
        /// The prompts as initialised, before the first step.
        var initialValidationDice: Double?
        var best: TaskManifest.EpochRecord?
        /// Stage 1 alone against the cascade on validation, and whether predictions use it.
        var cascade: CascadeChoice?
        var failures: [String]
    }
}

/// A failure that stops a fit (no training images, a task that exists, a resumed task
/// that does not match): one line.
public struct FitError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// `segtune fit` as a library call: discovery, split (by case, or a slab of one volume),
/// windows, embeddings through the cache, training, the cascade's choice, and the task
/// files (saved after every epoch, so an interrupted run keeps its best prompts).
public final class FitSession {
    public let model: BaseModel
    public let request: FitRequest
    var segmenter: Segmenter { model.segmenter }

    public init(model: BaseModel, request: FitRequest) {
        self.model = model
        self.request = request
    }

    /// Runs the fit; `shouldStop` is checked after every step (Ctrl-C).
    public func run(observer progress: FitObserver, shouldStop: () -> Bool = { false }) throws -> FitResult {
        let settings = request.settings
        let (window, labels) = (request.window, request.labels)
        var phases = PhaseClock()
        let store = TaskStore(root: request.tasksDirectory)
        // The checkpoint's digest goes into task.json and keys the cache.
        let modelDigest = try model.sha256()
        let cache = EmbeddingCache(directory: request.cacheDirectory, modelDigest: modelDigest)

        // The data: cases split by name, then slices, augmentations and embeddings.
        let dataset = try discoverDataset(at: request.dataset)
        if let warning = dataset.unpairedWarning { progress.event(.datasetWarning(warning)) }
        var loaded = loadLabeledSlices(dataset, window: window, labels: labels, fieldOfView: request.fieldOfView)
        var validationSlices: [LabeledSlice]
        var trainingCases: [String], validationCases: [String]
        if let val = request.validationDataset {
            let validationSet = loadLabeledSlices(try discoverDataset(at: val), window: window, labels: labels, fieldOfView: request.fieldOfView)
            loaded.failures += validationSet.failures
            loaded.windows.merge(validationSet.windows) { a, _ in a }
            validationSlices = validationSet.slices
            (trainingCases, validationCases) = (loaded.caseNames, validationSet.caseNames)
        } else {
            (trainingCases, validationCases) = splitByCase(loaded.caseNames, validationFraction: settings.validationFraction, seed: settings.seed)
            let held = Set(validationCases)
            validationSlices = loaded.slices.filter { held.contains($0.caseName) }
        }
        for failure in loaded.failures { progress.failed(failure) }
        let windowsUsed = windowSummary(loaded.windows)
        progress.event(.windows(windowsUsed))
        if request.fieldOfView == .body { progress.event(.crop(cropSummary(loaded.slices + validationSlices))) }
        let trainingSet = Set(trainingCases)
        var trainingSlices = loaded.slices.filter { trainingSet.contains($0.caseName) }
        // The stored atlas holds every slice of the training cases, a validation slab included.
        let atlasSlices = trainingSlices
        // Too few cases to hold one out: validate on a slab of a volume instead, or say loudly that nothing is validated.
        var slab: SlabHoldout?, validationNote: String?
        if validationSlices.isEmpty && request.validationDataset == nil {
            // A resumed task keeps the slab it was validated on.
            let saved = request.resume ? (try? store.loadManifest(request.task))?.training.validationSlab : nil
            if let chosen = saved ?? (settings.validationFraction > 0 ? chooseSlabHoldout(trainingSlices, fraction: settings.validationFraction, seed: settings.seed) : nil) {
                slab = chosen
                validationSlices = trainingSlices.filter { $0.caseName == chosen.caseName && chosen.validates($0.index) }
                trainingSlices.removeAll { $0.caseName == chosen.caseName && chosen.excludesFromTraining($0.index) }
                progress.event(.validatingOnSlab(chosen, trainingCases: trainingCases.count))
            } else {
                validationNote = settings.validationFraction > 0
                    ? "nothing to validate on: too few cases and slices to hold any out; the best epoch is the lowest training loss"
                    : "nothing to validate on (--val-fraction 0); the best epoch is the lowest training loss"
                progress.event(.noValidation(fractionIsZero: settings.validationFraction <= 0))
            }
        }
        guard !trainingSlices.isEmpty else {
            throw FitError("\(request.dataset.path): no training images could be read")
        }

        var manifest = TaskManifest(
            name: request.task,
            baseModel: .init(name: segmenter.model.preset.name, sha256: modelDigest),
            preprocessing: .init(window: request.windowName, labels: labels.map { $0.values.sorted() },
                                 segments: labels.flatMap { $0.names.isEmpty ? nil : $0.names }, windowsUsed: windowsUsed,
                                 fieldOfView: request.fieldOfView),
            prompts: .init(settings),
            training: .init(settings, trainingCases: trainingCases, validationCases: validationCases))
        manifest.training.validationSlab = slab
        manifest.training.validationNote = validationNote
        manifest.training.slicesWithoutStructure = trainingSlices.filter { $0.mask.foregroundCount == 0 }.count
        if manifest.training.slicesWithoutStructure == 0 && trainingSlices.contains(where: \.isVolumeSlice) {
            progress.event(.noSliceWithoutStructure)
        }
        let startBox = settings.mode == .decoder && !settings.withBox
            ? meanStructureBox(trainingSlices, inputSize: segmenter.model.promptEncoder.inputImageSize) : nil
        let tuner = PromptTuner(segmenter: segmenter, settings: settings, startBox: startBox)
        var history: [TaskManifest.EpochRecord] = []
        var best: TaskManifest.EpochRecord?
        var bestValues: Tensor?
        if request.resume {
            let (saved, prompts) = try store.load(request.task)
            try checkResumable(saved, against: manifest)
            history = saved.history
            best = saved.best
            bestValues = try flatten(prompts, like: tuner.arena, file: store.folder(request.task).path)
            if let state = try store.loadTrainingState(request.task) {
                tuner.restore(values: state.values, optimiser: state.optimiser)
            } else if let bestValues {
                tuner.restore(values: bestValues)
            }
            manifest.history = history
            manifest.best = best
        } else if store.exists(request.task) {
            throw FitError("task '\(request.task)' exists in \(request.tasksDirectory.path)/: use --resume to continue it, or another task name")
        }

        let training: [TuningExample], validation: [TuningExample], variants: Int
        if settings.mode == .deep {
            // The encoder changes with every step: no embeddings to cache; each step
            // draws its own flip or turn and intensity jitter (PromptTuner+Deep.swift).
            training = makeDeepExamples(trainingSlices, segmenter: segmenter)
            validation = makeDeepExamples(validationSlices, segmenter: segmenter)
            variants = 1
            progress.event(.deepMode(visualPromptTokens: settings.vptTokens))
        } else {
            let augmentations = AugmentationGroup.variants(settings.augmentations)
            progress.event(.augmentation(settings.augmentations, imagesPerSlice: augmentations.count,
                                         jitter: tuner.positionJitterCells.map { (settings.positionJitter, $0) }))
            (training, validation) = try embeddedExamples(trainingSlices, augmentations, validationSlices,
                                                          cache: cache, progress: progress)
            variants = augmentations.count
        }
        phases.lap("reading and embedding")
        tuner.emptyTargetSmooth = meanStructurePixels(training)
        progress.event(.training(slices: trainingSlices.count, cases: trainingCases.count, variants: variants,
                                 validationSlices: validation.count, validationCases: validationCases.count, slab: slab))

        // The cascade's stage 2 needs the frozen encoder's embeddings of the validation
        // slices: computed once here (decoder mode already has them).
        let cascadeValidation = !settings.withBox && !validation.isEmpty ? CascadeValidation(validation, segmenter: segmenter) : nil
        var loop = TrainingLoop(tuner: tuner, training: training, validation: validation, cascade: cascadeValidation,
                                history: history, best: best, bestValues: bestValues)
        // Before training: the untuned model with its default prompt, and the initial prompts.
        let untuned = history.isEmpty && !validation.isEmpty ? tuner.zeroShotScore(validation) : nil
        let initial = history.isEmpty && !validation.isEmpty ? loop.score() : nil
        if let untuned, let initial {
            progress.event(.beforeTuning(untuned: untuned, initialDice: initial.dice))
        }

        let reason = try loop.run(
            shouldStop: shouldStop,
            onStep: { step, steps in progress.step(step, of: steps) },
            onEpoch: { end in
                manifest.history = end.history
                manifest.best = end.best
                progress.epoch(end.record, of: settings.epochs, isBest: end.isBest)
                try store.saveTrainingState(request.task, values: tuner.arena.values, optimiser: tuner.optimiser)
                try store.save(manifest, prompts: TaskStore.namedPrompts(tuner.arena, values: end.bestValues))
            })
        manifest.history = loop.history
        manifest.best = loop.best
        phases.lap("stage 1")
        // The cascade is chosen with the kept (best) prompts, on the same validation slices.
        tuner.restore(values: loop.bestValues)
        var stop = reason
        var stage2: PromptTuner?
        if reason != .interrupted, settings.stage2, settings.mode == .decoder, let cascadeValidation {
            (stage2, stop) = trainStage2(stage1: tuner, training: training, validation: cascadeValidation,
                                             progress: progress, shouldStop: shouldStop)
            phases.lap("stage 2")
        }
        // The atlas: the training slices themselves, registered to each slice to predict
        // (Atlas.swift). Validation judges one without its own slices; the task stores one of
        // every slice of the training cases.
        let keepsAtlas = settings.mode == .decoder && !settings.withBox && settings.atlas
        let validationAtlas = keepsAtlas ? SliceAtlas(training) : nil
        if stop != .interrupted, let cascadeValidation, let cascade = tuner.chooseCascade(cascadeValidation, stage2: stage2, atlas: validationAtlas) {
            manifest.cascade = cascade
            progress.event(.cascadeChosen(cascade, slab: slab))
        }
        if manifest.cascade != nil { phases.lap("cascade choice") }
        var prompts = TaskStore.namedPrompts(tuner.arena, values: loop.bestValues)
        if let stage2, manifest.cascade?.tunedStage2 == true { prompts[TaskPredictor.stage2TokensKey] = stage2.arena.value("tokens").copy() }
        if keepsAtlas {
            let atlas = SliceAtlas(atlasSlices, segmenter: segmenter)
            prompts.merge(atlas.tensors) { a, _ in a }
            progress.event(.atlasKept(slices: atlas.thumbnails.count, scansWithPositions: Set(atlas.positions.compactMap { $0?.scan }).count,
                                      includesSlab: slab != nil))
        }
        try store.save(manifest, prompts: prompts)
        progress.event(.saved(task: request.task, folder: store.folder(request.task), stop: stop == .interrupted ? .interrupted : reason, phases: phases.laps))

        return FitResult(manifest: manifest, folder: store.folder(request.task), stop: stop,
                         untuned: untuned, initial: initial, failures: loaded.failures)
    }

    /// Stage 2 of the cascade: stage 1's box errors measured on its training slices, then
    /// tokens beside the box trained on boxes drawn from those errors (Stage2.swift).
    private func trainStage2(stage1: PromptTuner, training: [TuningExample], validation: CascadeValidation,
                             progress: FitObserver, shouldStop: () -> Bool) -> (PromptTuner, TrainingLoop.StopReason) {
        let errors = stage1.measureBoxErrors(training)
        let stage2 = Stage2Training(stage1: request.settings, errors: errors)
        progress.event(.stage2(errors: errors, tokens: stage2.settings.sparseTokens, epochs: stage2.settings.epochs))
        var last: (epoch: Int, best: Int) = (0, 0)
        let trained = stage2.run(segmenter: segmenter, stage1: stage1, training: training, validation: validation,
                                 shouldStop: shouldStop, onStep: { step, steps in progress.step(step, of: steps) },
                                 onEpoch: { end in
                                     last = (end.record.epoch, end.best?.epoch ?? end.record.epoch)
                                     progress.stage2Epoch(end.record, of: stage2.settings.epochs, isBest: end.isBest)
                                 })
        if trained.stop == .earlyStop { progress.event(.stage2Stopped(epoch: last.epoch, of: stage2.settings.epochs, bestEpoch: last.best)) }
        return trained
    }

    /// Decoder-mode examples: every training variant and validation image, embedded through the cache.
    private func embeddedExamples(_ trainingSlices: [LabeledSlice], _ augmentations: [Augmentation], _ validationSlices: [LabeledSlice],
                                  cache: EmbeddingCache, progress: FitObserver) throws -> ([TuningExample], [TuningExample]) {
        var encoded = 0
        let variants = trainingSlices.count * augmentations.count + validationSlices.count
        progress.start("embedding", total: variants)
        let training = try makeExamples(trainingSlices, augmentations: augmentations, segmenter: segmenter, cache: cache) { done, _, ran in
            if ran { encoded += 1 }
            progress.update(done)
        }
        let validation = try makeExamples(validationSlices, augmentations: [.identity], segmenter: segmenter, cache: cache) { done, _, ran in
            if ran { encoded += 1 }
            progress.update(training.count + done)
        }
        progress.event(.embedded(total: variants, encoded: encoded))
        return (training, validation)
    }

    /// A resumed run must train the same thing against the same model.
    private func checkResumable(_ saved: TaskManifest, against current: TaskManifest) throws {
        guard saved.baseModel.sha256 == current.baseModel.sha256 else {
            throw FitError("task '\(request.task)' was trained on another checkpoint (\(saved.baseModel.name), SHA-256 \(saved.baseModel.sha256.prefix(12))…), not this one (\(current.baseModel.sha256.prefix(12))…)")
        }
        guard saved.prompts == current.prompts else {
            throw FitError("task '\(request.task)' has other prompts (mode, tokens, dense, box) than this run asks for")
        }
        let savedView = saved.preprocessing.fieldOfView ?? .none
        guard savedView == request.fieldOfView else {
            throw FitError("task '\(request.task)' was fitted with --crop \(savedView.rawValue), not \(request.fieldOfView.rawValue)")
        }
    }
}

/// Wall-clock time per phase of a fit, for its last line: "stage 1 212 s, stage 2 98 s".
struct PhaseClock {
    private var last = Date()
    private(set) var laps: [(name: String, seconds: Double)] = []

    mutating func lap(_ name: String) {
        let now = Date()
        laps.append((name, now.timeIntervalSince(last)))
        last = now
    }

}

/// What the body crop kept, per case (the first three): its size and where it starts.
private func cropSummary(_ slices: [LabeledSlice]) -> [(caseName: String, width: Int, height: Int, origin: (x: Int, y: Int)?)] {
    var seen = Set<String>(), parts: [(caseName: String, width: Int, height: Int, origin: (x: Int, y: Int)?)] = []
    for slice in slices where seen.insert(slice.caseName).inserted {
        parts.append((slice.caseName, slice.image.width, slice.image.height, slice.region.map { ($0.x, $0.y) }))
    }
    return parts
}

/// The prompts of a task file as one flat buffer in `arena`'s layout.
func flatten(_ prompts: [String: Tensor], like arena: ParameterArena, file: String) throws -> Tensor {
    let flat = Tensor(zeros: [arena.count])
    for entry in arena.entries {
        guard let tensor = prompts[entry.name], tensor.count == entry.count else {
            throw FitError("\(file): prompts.safetensors lacks '\(entry.name)' of shape \(entry.shape)")
        }
        UnsafeMutableBufferPointer(rebasing: flat.data[entry.offset ..< entry.offset + entry.count]).baseAddress!.update(from: tensor.data.baseAddress!, count: entry.count)
    }
    return flat
}
