import Foundation
import Imaging
import Models
import Tensors

/// What `fit` reports while it works: the CLI prints it, another program may show it.
public protocol FitObserver: AnyObject {
    func note(_ line: String)
    func warn(_ line: String)
    /// A case that could not be used (the others still train).
    func failed(_ error: InputError)
    /// Encoding the training variants and validation images, `total` in all.
    func start(_ label: String, total: Int)
    func update(_ done: Int)
    func finish(_ line: String)
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

    /// Said when every training slice holds the structure (a volume cut to the organ).
    public static let noEmptySliceWarning = """
        every training slice holds the structure: the task never sees a slice without it, and \
        on a scan that extends past the structure it will mark something on the slices where the \
        structure is absent (docs/tuning.md, "Slices without the structure"). Train on volumes that \
        extend past it, or predict only the slices that hold it
        """

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
        if let warning = dataset.unpairedWarning { progress.warn(warning) }
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
        progress.note("window: " + windowsUsed.joined(separator: "; "))
        if request.fieldOfView == .body { progress.note("crop: " + cropSummary(loaded.slices + validationSlices)) }
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
                progress.note("\(trainingCases.count) case\(trainingCases.count == 1 ? "" : "s"), none to hold out: validating on \(chosen.description)")
            } else {
                validationNote = settings.validationFraction > 0
                    ? "nothing to validate on: too few cases and slices to hold any out; the best epoch is the lowest training loss"
                    : "nothing to validate on (--val-fraction 0); the best epoch is the lowest training loss"
                progress.warn(validationNote! + ". Give more cases, or a separate validation set")
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
            progress.warn(Self.noEmptySliceWarning)
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
            progress.note("deep mode: \(settings.vptTokens) visual prompt tokens in each encoder attention block; the encoder runs at every step")
        } else {
            let augmentations = AugmentationGroup.variants(settings.augmentations)
            progress.note("augmentation: " + (settings.augmentations.isEmpty ? "none" : settings.augmentations.map(\.rawValue).joined(separator: ", "))
                          + " (\(augmentations.count) image\(augmentations.count == 1 ? "" : "s") per training slice)"
                          + (tuner.positionJitterCells.map { String(format: "; each step moves its slice by up to %.2f of the frame (%d cells)", settings.positionJitter, $0) } ?? ""))
            (training, validation) = try embeddedExamples(trainingSlices, augmentations, validationSlices,
                                                          cache: cache, progress: progress)
            variants = augmentations.count
        }
        phases.lap("reading and embedding")
        tuner.emptyTargetSmooth = meanStructurePixels(training)
        progress.note("training on \(trainingSlices.count) slices of \(trainingCases.count) case\(trainingCases.count == 1 ? "" : "s") × \(variants) variant\(variants == 1 ? "" : "s"), validating on \(validation.count) slices" + (slab.map { " (a slab of \($0.caseName))" } ?? " of \(validationCases.count) case\(validationCases.count == 1 ? "" : "s")"))

        // The cascade's stage 2 needs the frozen encoder's embeddings of the validation
        // slices: computed once here (decoder mode already has them).
        let cascadeValidation = !settings.withBox && !validation.isEmpty ? CascadeValidation(validation, segmenter: segmenter) : nil
        var loop = TrainingLoop(tuner: tuner, training: training, validation: validation, cascade: cascadeValidation,
                                history: history, best: best, bestValues: bestValues)
        // Before training: the untuned model with its default prompt, and the initial prompts.
        let untuned = history.isEmpty && !validation.isEmpty ? tuner.zeroShotScore(validation) : nil
        let initial = history.isEmpty && !validation.isEmpty ? loop.score() : nil
        if let untuned, let initial {
            progress.note(String(format: "before tuning: validation Dice %.4f (IoU %.4f) for the untuned model with a whole-image box, %.4f with the initial prompts",
                                 untuned.dice, untuned.iou, initial.dice))
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
            let boxStage = cascade.tunedStage2 == true ? "tuned stage 2" : "frozen model"
            let locator = cascade.locator == .atlas ? "atlas" : "stage-1 tokens"
            progress.note(String(format: "cascade (%@ → box + margin → %@): validation Dice %.4f with margin %.3f, %d round%@, against %.4f for stage 1 alone%@: %@",
                                 locator, boxStage, cascade.cascadeDice, cascade.margin, cascade.rounds, cascade.rounds == 1 ? "" : "s", cascade.stage1Dice,
                                 cascade.atlasDice.map { String(format: " and %.4f for the atlas's boxes with the margin alone", $0) } ?? "",
                                 cascade.enabled ? "predictions use it" : "not used"))
            if let slab {
                // Stage 1 is at its best on its own training volume, so the slab undervalues a margin.
                progress.note("the cascade was chosen on a slab of \(slab.caseName), where the tokens are at their best; "
                              + "to choose it where they meet another patient, give --val with that patient's scan (docs/tuning.md)")
            }
        }
        if manifest.cascade != nil { phases.lap("cascade choice") }
        var prompts = TaskStore.namedPrompts(tuner.arena, values: loop.bestValues)
        if let stage2, manifest.cascade?.tunedStage2 == true { prompts[TaskPredictor.stage2TokensKey] = stage2.arena.value("tokens").copy() }
        if keepsAtlas {
            let atlas = SliceAtlas(atlasSlices, segmenter: segmenter)
            prompts.merge(atlas.tensors) { a, _ in a }
            let scans = Set(atlas.positions.compactMap { $0?.scan }).count
            progress.note("atlas: \(atlas.thumbnails.count) slice\(atlas.thumbnails.count == 1 ? "" : "s") kept in the task"
                          + (scans > 0 ? " (\(scans) scan\(scans == 1 ? "" : "s") with slice positions)" : "")
                          + (slab != nil ? ", the validation slab's included" : "") + ", 16 KiB each (fit --no-atlas keeps none; docs/tuning.md, \"Atlas\")")
        }
        try store.save(manifest, prompts: prompts)
        progress.note("\(stop == .interrupted ? "interrupted" : reason.rawValue): task '\(request.task)' saved in \(store.folder(request.task).path) (\(phases.summary))")

        return FitResult(manifest: manifest, folder: store.folder(request.task), stop: stop,
                         untuned: untuned, initial: initial, failures: loaded.failures)
    }

    /// Stage 2 of the cascade: stage 1's box errors measured on its training slices, then
    /// tokens beside the box trained on boxes drawn from those errors (Stage2.swift).
    private func trainStage2(stage1: PromptTuner, training: [TuningExample], validation: CascadeValidation,
                             progress: FitObserver, shouldStop: () -> Bool) -> (PromptTuner, TrainingLoop.StopReason) {
        let errors = stage1.measureBoxErrors(training)
        let stage2 = Stage2Training(stage1: request.settings, errors: errors)
        let m = errors.medians
        progress.note(String(format: "stage 2: stage 1's boxes on %d training slices are off by (x0 %+.3f, y0 %+.3f, x1 %+.3f, y1 %+.3f) of the image side (medians), %d missed; training %d tokens beside boxes drawn from those errors, %d epochs",
                             errors.offsets.count, m[0], m[1], m[2], m[3], errors.missed, stage2.settings.sparseTokens, stage2.settings.epochs))
        return stage2.run(segmenter: segmenter, stage1: stage1, training: training, validation: validation,
                          shouldStop: shouldStop, onStep: { step, steps in progress.step(step, of: steps) },
                          onEpoch: { end in progress.stage2Epoch(end.record, of: stage2.settings.epochs, isBest: end.isBest) })
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
        progress.finish("embedded \(variants) images (\(encoded) encoded, \(variants - encoded) from the cache)")
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
    private var laps: [(String, TimeInterval)] = []

    mutating func lap(_ name: String) {
        let now = Date()
        laps.append((name, now.timeIntervalSince(last)))
        last = now
    }

    var summary: String { laps.map { String(format: "%@ %.0f s", $0.0, $0.1) }.joined(separator: ", ") }
}

/// What the body crop kept, per case: "ct 116×95 at x 3, y 4" (the first few cases).
private func cropSummary(_ slices: [LabeledSlice]) -> String {
    var seen = Set<String>(), parts: [String] = []
    for slice in slices where seen.insert(slice.caseName).inserted {
        let at = slice.region.map { " at x \($0.x), y \($0.y)" } ?? ""
        parts.append("\(slice.caseName) \(slice.image.width)×\(slice.image.height)\(at)")
    }
    let shown = parts.prefix(3).joined(separator: ", ") + (parts.count > 3 ? ", …" : "")
    return "each slice cropped to the body (\(shown)); --crop none keeps the whole slice"
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
