import ArgumentParser
import Foundation
import Imaging
import Models
import Tensors
import Tuning

struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Learn a task's prompts from scans and reference masks (the model stays frozen).",
        discussion: """
            SCANS is a dataset folder: images/<case>.(png|jpg|dcm|nii|nii.gz) or images/<case>/ \
            (a DICOM series) with masks/<case>.(png|nii|nii.gz) or masks/<case>/<slice>.png; \
            or nnU-Net's imagesTr/<case>_0000.nii.gz with labelsTr/<case>.nii.gz.

            Writes <tasks-dir>/<task>/prompts.safetensors (the learned prompts, kilobytes) and \
            task.json (base model and its SHA-256, window, prompt layout, training settings, \
            per-epoch history, best validation Dice/IoU). Cases, not slices, are split into \
            training and validation, so no patient is on both sides. The prompts of the epoch \
            with the best validation Dice are kept.

            Decoder mode (the default) encodes every image (and augmented variant) once and \
            caches the embedding in --cache-dir; a second fit on the same scans runs no encoder.

            Deep mode (LiteMedSAM only) also learns --vpt-tokens visual prompt tokens per encoder \
            attention block (VPT-deep, appended to every window's keys and values), so every step \
            runs the encoder forward and backward (about 2 s per image on 2 cores) and nothing is \
            cached; each step draws a flip or quarter turn and ±5% contrast/brightness jitter.

            Dense prompts: `none` (default) keeps the model's own no-mask embedding; `global` \
            learns one 256-vector for the whole grid; `spatial` learns a 256×64×64 map, which \
            memorises where the structure sat in the training images: measured with the PyTorch \
            reference on MRI (fit on axial slices, scored on coronal ones), 4 tokens alone reached \
            Dice 0.78, 4 tokens + a spatial map only 0.64, below the untuned model's 0.67.

            Ctrl-C stops after the current step and keeps the best prompts so far; --resume \
            continues an interrupted or finished run for the remaining epochs.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var windowOptions: WindowOptions

    @Option(help: "Task name (a folder under --tasks-dir).")
    var task: String

    @Argument(help: "Dataset folder with images and reference masks.")
    var scans: String

    @Option(help: "Where prompts live: decoder (fast, cached embeddings) or deep (also in the encoder).")
    var mode: TuningMode = .decoder

    @Option(help: "Learnable sparse prompt tokens fed to the mask decoder.")
    var tokens: Int = 4

    @Option(help: "Dense prompt: none, global, or spatial (see the discussion: spatial memorises position).")
    var dense: DensePrompt = .none

    @Flag(help: "Also feed a box: from the reference mask (jittered) at fit time, --box or a CSV at predict time.")
    var withBox = false

    @Option(help: "Visual prompt tokens per encoder block (deep mode).")
    var vptTokens: Int = 8

    @Option(help: "Training epochs.")
    var epochs: Int = 30

    @Option(help: "Examples per optimiser step.")
    var batch: Int = 1

    @Option(help: "AdamW learning rate (cosine schedule after a warm-up).")
    var lr: Double = 3e-3

    @Option(help: "Warm-up epochs (linear ramp of the learning rate).")
    var warmupEpochs: Int = 1

    @Option(help: "Random seed: the same seed gives the same prompts, bit for bit, at any --threads (same binary and machine kind).")
    var seed: UInt64 = 0

    @Flag(help: "Train on the images as they are (no flips or quarter turns).")
    var noAugment = false

    @Option(help: "Fraction of cases held out for validation; with one volume, that fraction of its slices as one contiguous slab (2 guard slices each side).")
    var valFraction: Double = 0.2

    @Option(help: "A separate validation dataset folder (instead of holding out cases).")
    var val: String?

    @Option(help: "Stop after this many epochs without a better validation Dice.")
    var patience: Int?

    @Option(help: "Label value(s) that are foreground in label-map masks, e.g. 1 or 1,2 (default: any nonzero).")
    var label: String?

    @Option(help: "Folder that holds the tasks.")
    var tasksDir: String = "tasks"

    @Option(help: "Folder for cached image embeddings.")
    var cacheDir: String = ".segtune-cache"

    @Flag(help: "Continue the task's last run for its remaining epochs.")
    var resume = false

    @Flag(help: "No progress on stderr.")
    var quiet = false

    @Flag(help: "Print a JSON summary on stdout at the end.")
    var json = false

    func validate() throws {
        guard TaskStore.isValidName(task) else {
            throw ValidationError("task name '\(task)': use letters, digits, '-', '_' and '.'")
        }
        if mode == .deep {
            guard case .tinyViT = try ModelPreset.named(modelOptions.model).encoder else {
                // The prompted ViT encoder exists and is measured (`bench --deep-vit-b`), but deep
                // mode's per-step augmentation assumes LiteMedSAM's input (256 frame, values in [0, 1]).
                throw ValidationError("--mode deep needs --model litemedsam for now: deep augmentation for SAM ViT's 1024 mean/std-normalised input is not built yet")
            }
            guard vptTokens >= 1, vptTokens <= 64 else { throw ValidationError("--vpt-tokens must be between 1 and 64") }
        }
        guard tokens >= 1, tokens <= 64 else { throw ValidationError("--tokens must be between 1 and 64") }
        guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be positive") }
        guard warmupEpochs >= 0 else { throw ValidationError("--warmup-epochs must not be negative") }
        guard (0 ..< 1).contains(valFraction) else { throw ValidationError("--val-fraction must be in [0, 1)") }
        if let patience, patience < 1 { throw ValidationError("--patience must be at least 1") }
        if let t = modelOptions.threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        _ = try parseWindow(windowOptions.window)
        _ = try parseLabels(label)
        _ = try ModelPreset.named(modelOptions.model)
    }

    var settings: FitSettings {
        var s = FitSettings()
        s.mode = mode
        s.sparseTokens = tokens
        s.dense = dense
        s.withBox = withBox
        s.vptTokens = vptTokens
        s.epochs = epochs
        s.batchSize = batch
        s.learningRate = Float(lr)
        s.warmupEpochs = warmupEpochs
        s.seed = seed
        s.augment = !noAugment
        s.validationFraction = val == nil ? valFraction : 0
        s.patience = patience
        return s
    }

    func run() throws {
        if let t = modelOptions.threads { Threads.count = t }
        let progress = Progress(quiet: quiet)
        let window = try parseWindow(windowOptions.window)
        let labels = try parseLabels(label)
        let store = TaskStore(root: URL(fileURLWithPath: tasksDir))
        let (segmenter, checkpoint) = try loadSegmenterAndPath(modelOptions)
        let modelDigest = try SHA256.hexDigest(ofFile: checkpoint)
        let cache = EmbeddingCache(directory: URL(fileURLWithPath: cacheDir), modelDigest: modelDigest)

        // The data: cases split by name, then slices, augmentations and embeddings.
        let dataset = try discoverDataset(at: URL(fileURLWithPath: scans))
        if let warning = dataset.unpairedWarning { progress.warn(warning) }
        var loaded = loadLabeledSlices(dataset, window: window, labels: labels)
        var validationSlices: [LabeledSlice]
        var trainingCases: [String], validationCases: [String]
        if let val {
            let validationSet = loadLabeledSlices(try discoverDataset(at: URL(fileURLWithPath: val)), window: window, labels: labels)
            loaded.failures += validationSet.failures
            loaded.windows.merge(validationSet.windows) { a, _ in a }
            validationSlices = validationSet.slices
            (trainingCases, validationCases) = (loaded.caseNames, validationSet.caseNames)
        } else {
            (trainingCases, validationCases) = splitByCase(loaded.caseNames, validationFraction: valFraction, seed: seed)
            let held = Set(validationCases)
            validationSlices = loaded.slices.filter { held.contains($0.caseName) }
        }
        for failure in loaded.failures { progress.error(failure.description) }
        let windowsUsed = windowSummary(loaded.windows)
        progress.note("window: " + windowsUsed.joined(separator: "; "))
        let trainingSet = Set(trainingCases)
        var trainingSlices = loaded.slices.filter { trainingSet.contains($0.caseName) }
        // Too few cases to hold one out: validate on a slab of a volume instead, or say loudly that nothing is validated.
        var slab: SlabHoldout?, validationNote: String?
        if validationSlices.isEmpty && val == nil {
            // A resumed task keeps the slab it was validated on.
            let saved = resume ? (try? store.load(task))?.0.training.validationSlab : nil
            if let chosen = saved ?? (valFraction > 0 ? chooseSlabHoldout(trainingSlices, fraction: valFraction, seed: seed) : nil) {
                slab = chosen
                validationSlices = trainingSlices.filter { $0.caseName == chosen.caseName && $0.index >= chosen.first && $0.index <= chosen.last }
                trainingSlices.removeAll { $0.caseName == chosen.caseName && chosen.excludesFromTraining($0.index) }
                progress.note("\(trainingCases.count) case\(trainingCases.count == 1 ? "" : "s"), none to hold out: validating on \(chosen.description)")
            } else {
                validationNote = valFraction > 0
                    ? "nothing to validate on: too few cases and slices to hold any out; the best epoch is the lowest training loss"
                    : "nothing to validate on (--val-fraction 0); the best epoch is the lowest training loss"
                progress.warn(validationNote! + ". Give more cases, or --val DIR")
            }
        }
        guard !trainingSlices.isEmpty else {
            throw runtimeFailure("\(scans): no training images could be read")
        }

        var manifest = TaskManifest(
            name: task,
            baseModel: .init(name: segmenter.model.preset.name, sha256: modelDigest),
            preprocessing: .init(window: windowOptions.window, labels: labels.map { $0.sorted() }, windowsUsed: windowsUsed),
            prompts: .init(mode: mode, sparseTokens: tokens, dense: dense, vptTokens: mode == .deep ? vptTokens : nil, withBox: withBox),
            training: .init(epochs: epochs, batchSize: batch, learningRate: lr, warmupEpochs: warmupEpochs, seed: seed,
                            augment: !noAugment, validationFraction: settings.validationFraction, patience: patience,
                            trainingCases: trainingCases, validationCases: validationCases))
        manifest.training.validationSlab = slab
        manifest.training.validationNote = validationNote
        let tuner = PromptTuner(segmenter: segmenter, settings: settings)
        var history: [TaskManifest.EpochRecord] = []
        var best: TaskManifest.EpochRecord?
        var bestValues: Tensor?
        if resume {
            let (saved, prompts) = try store.load(task)
            try checkResumable(saved, against: manifest, checkpoint: checkpoint)
            history = saved.history
            best = saved.best
            bestValues = try flatten(prompts, like: tuner.arena, file: store.folder(task).path)
            if let state = try store.loadTrainingState(task) {
                tuner.restore(values: state.values, optimiser: state.optimiser)
            } else if let bestValues {
                tuner.restore(values: bestValues)
            }
            manifest.history = history
            manifest.best = best
        } else if store.exists(task) {
            throw runtimeFailure("task '\(task)' exists in \(tasksDir)/: use --resume to continue it, or another --task name")
        }

        let training: [TuningExample], validation: [TuningExample], variants: Int
        if mode == .deep {
            // The encoder changes with every step: no embeddings to cache; each step
            // draws its own flip or turn and intensity jitter (PromptTuner+Deep.swift).
            training = makeDeepExamples(trainingSlices, segmenter: segmenter)
            validation = makeDeepExamples(validationSlices, segmenter: segmenter)
            variants = 1
            progress.note("deep mode: \(vptTokens) visual prompt tokens in each encoder attention block; the encoder runs at every step")
        } else {
            let augmentations = Augmentation.variants(enabled: !noAugment)
            (training, validation) = try embeddedExamples(trainingSlices, augmentations, validationSlices,
                                                          segmenter: segmenter, cache: cache, progress: progress)
            variants = augmentations.count
        }
        progress.note("training on \(trainingSlices.count) slices of \(trainingCases.count) case\(trainingCases.count == 1 ? "" : "s") × \(variants) variants, validating on \(validation.count) slices" + (slab.map { " (a slab of \($0.caseName))" } ?? " of \(validationCases.count) cases"))

        var loop = TrainingLoop(tuner: tuner, training: training, validation: validation,
                                history: history, best: best, bestValues: bestValues)
        // Before training: the untuned model with its default prompt, and the initial prompts.
        let untuned = history.isEmpty && !validation.isEmpty ? tuner.zeroShotScore(validation) : nil
        let initial = history.isEmpty && !validation.isEmpty ? loop.score() : nil
        if let untuned, let initial {
            progress.note(String(format: "before tuning: validation Dice %.4f (IoU %.4f) for the untuned model with a whole-image box, %.4f with the initial prompts",
                                 untuned.dice, untuned.iou, initial.dice))
        }

        let interrupt = InterruptFlag()
        let reason = try loop.run(
            shouldStop: { interrupt.isSet },
            onStep: { step, steps in progress.step(step, of: steps) },
            onEpoch: { end in
                manifest.history = end.history
                manifest.best = end.best
                progress.epoch(end.record, of: epochs, isBest: end.isBest)
                try store.saveTrainingState(task, values: tuner.arena.values, optimiser: tuner.optimiser)
                try store.save(manifest, prompts: TaskStore.namedPrompts(tuner.arena, values: end.bestValues))
            })
        manifest.history = loop.history
        manifest.best = loop.best
        // The cascade is chosen with the kept (best) prompts, on the same validation slices.
        tuner.restore(values: loop.bestValues)
        if reason != .interrupted, let cascade = tuner.chooseCascade(validation) {
            manifest.cascade = cascade
            progress.note(String(format: "cascade (stage-1 tokens → box + margin → frozen model): validation Dice %.4f with margin %.2f, %d round%@, against %.4f for stage 1 alone: %@",
                                 cascade.cascadeDice, cascade.margin, cascade.rounds, cascade.rounds == 1 ? "" : "s", cascade.stage1Dice,
                                 cascade.enabled ? "predictions use it" : "not used"))
        }
        try store.save(manifest, prompts: TaskStore.namedPrompts(tuner.arena, values: loop.bestValues))
        progress.note("\(reason == .interrupted ? "interrupted" : reason.rawValue): task '\(task)' saved in \(store.folder(task).path)")

        if json {
            let summary = FitSummary(task: task, folder: store.folder(task).path, stop: reason.rawValue,
                                     epochs: loop.history.count, untunedValidationDice: untuned?.dice,
                                     initialValidationDice: initial?.dice,
                                     best: loop.best, cascade: manifest.cascade, failures: loaded.failures.map(\.description))
            print(try summary.jsonLine())
        }
        if !loaded.failures.isEmpty { throw ExitCode(1) }
        if reason == .interrupted { throw ExitCode(130) }
    }

    /// Decoder-mode examples: every training variant and validation image, embedded through the cache.
    private func embeddedExamples(_ trainingSlices: [LabeledSlice], _ augmentations: [Augmentation], _ validationSlices: [LabeledSlice],
                                  segmenter: Segmenter, cache: EmbeddingCache, progress: Progress) throws -> ([TuningExample], [TuningExample]) {
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
    private func checkResumable(_ saved: TaskManifest, against current: TaskManifest, checkpoint: URL) throws {
        guard saved.baseModel.sha256 == current.baseModel.sha256 else {
            throw runtimeFailure("task '\(task)' was trained on another checkpoint (\(saved.baseModel.name), SHA-256 \(saved.baseModel.sha256.prefix(12))…), not \(checkpoint.path)")
        }
        guard saved.prompts == current.prompts else {
            throw runtimeFailure("task '\(task)' has other prompts (mode, tokens, dense, box) than this command asks for")
        }
    }
}

/// The prompts of a task file as one flat buffer in `arena`'s layout.
func flatten(_ prompts: [String: Tensor], like arena: ParameterArena, file: String) throws -> Tensor {
    let flat = Tensor(zeros: [arena.count])
    for entry in arena.entries {
        guard let tensor = prompts[entry.name], tensor.count == entry.count else {
            throw runtimeFailure("\(file): prompts.safetensors lacks '\(entry.name)' of shape \(entry.shape)")
        }
        UnsafeMutableBufferPointer(rebasing: flat.data[entry.offset ..< entry.offset + entry.count]).baseAddress!.update(from: tensor.data.baseAddress!, count: entry.count)
    }
    return flat
}

/// The JSON object `fit --json` prints.
struct FitSummary: Encodable {
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

    func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

extension TuningMode: ExpressibleByArgument {}
extension DensePrompt: ExpressibleByArgument {}
