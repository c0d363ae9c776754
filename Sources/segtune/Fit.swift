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
            SCANS is a dataset folder: images/<case>.(png|jpg|dcm|nii|nii.gz|nrrd|nhdr|mha|mhd) or images/<case>/ \
            (a DICOM series) with masks/<case>.(png|nii|nii.gz|nrrd|seg.nrrd|nhdr|mha|mhd) or masks/<case>/<slice>.png; \
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
    var mode: TuningMode = FitSettings().mode

    @Option(help: "Learnable sparse prompt tokens fed to the mask decoder.")
    var tokens: Int = FitSettings().sparseTokens

    @Option(help: "Dense prompt: none, global, or spatial (see the discussion: spatial memorises position).")
    var dense: DensePrompt = FitSettings().dense

    @Flag(help: "Also feed a box: from the reference mask (jittered) at fit time, --box or a CSV at predict time.")
    var withBox = false

    @Option(help: "Visual prompt tokens per encoder block (deep mode).")
    var vptTokens: Int = FitSettings().vptTokens

    @Option(help: "Training epochs.")
    var epochs: Int = FitSettings().epochs

    @Option(help: "Examples per optimiser step.")
    var batch: Int = FitSettings().batchSize

    @Option(help: "AdamW learning rate (cosine schedule after a warm-up).")
    var lr: Double = Double("\(FitSettings().learningRate)")!   // via its shortest decimal: 0.003, not 0.0030000000260770321

    @Option(help: "Warm-up epochs (linear ramp of the learning rate).")
    var warmupEpochs: Int = FitSettings().warmupEpochs

    @Option(help: "Random seed: the same seed gives the same prompts, bit for bit, at any --threads (same binary and machine kind).")
    var seed: UInt64 = FitSettings().seed

    @Option(help: ArgumentHelp("Decoder mode: variants each training slice is also encoded as, comma-separated: flips, turns, zoom (a wider field of view), scale (a tighter one), shift, intensity (gamma), contrast (the labelled structure brighter and darker: another contrast phase); all; or none. Each costs one more encoder pass per variant and slice.",
                               valueName: "list"))
    var augment: String = FitSettings().augmentations.map(\.rawValue).joined(separator: ",")

    @Flag(help: "Train on the images as they are (as --augment none).")
    var noAugment = false

    @Option(help: ArgumentHelp("Decoder mode: each training step moves its slice by up to this fraction of the frame in x and y (in the image embedding: no extra encoding), so the tokens learn what the structure looks like more than where it lay in the training scan; 0 (the default): off. Measured in docs/tuning.md, \"Position\".",
                               valueName: "fraction"))
    var positionJitter: Double = FitSettings().positionJitter

    @Flag(help: "Skip training the cascade's stage-2 tokens (the cascade then uses the frozen model with the box).")
    var noStage2 = false

    @Flag(help: "Keep no atlas: the cascade's boxes then always come from stage 1's masks. By default the task keeps a 64×64 thumbnail of each training slice (windowed, cropped) and its structure's box, and validation may choose to box each slice from the training slices registered to it (docs/tuning.md, \"Atlas\").")
    var noAtlas = false

    @Option(help: "Fraction of cases held out for validation; with one volume, that fraction of its slices as one contiguous slab (2 guard slices each side).")
    var valFraction: Double = FitSettings().validationFraction

    @Option(help: "A separate validation dataset folder (instead of holding out cases).")
    var val: String?

    @Option(help: "Stop after this many epochs without a better validation Dice.")
    var patience: Int?

    @Option(help: "Label value(s) that are foreground in label-map masks, e.g. 1 or 1,2, or segment names of Slicer .seg.nrrd masks, e.g. liver (default: any nonzero).")
    var label: String?

    @Option(help: ArgumentHelp("What of each slice the model sees: body (the body's bounding box, so that scans framed differently look alike to the prompts) or none (the whole slice). Recorded in the task; predict crops the same way.",
                               valueName: "body|none"))
    var crop: FieldOfView = .body

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
        guard (0 ... 0.25).contains(positionJitter) else { throw ValidationError("--position-jitter must be in [0, 0.25]") }
        if mode == .deep, positionJitter > 0 {
            throw ValidationError("--position-jitter moves cached embeddings (decoder mode); --mode deep has none")
        }
        if withBox, positionJitter > 0 {
            throw ValidationError("--position-jitter would move the image away from the --with-box box; use one or the other")
        }
        if positionJitter > 0, positionJitter < 0.5 / 64 {
            throw ValidationError("--position-jitter \(positionJitter) is under half an embedding cell (1/64 of the frame): nothing would move")
        }
        _ = try parseWindow(windowOptions.window)
        _ = try parseLabels(label)
        _ = try parseAugmentations(augment)
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
        s.augmentations = noAugment ? [] : (try? parseAugmentations(augment)) ?? AugmentationGroup.defaults
        s.stage2 = !noStage2
        s.atlas = !noAtlas
        s.validationFraction = val == nil ? valFraction : 0
        s.patience = patience
        s.positionJitter = positionJitter
        return s
    }

    func run() throws {
        let progress = Progress(quiet: quiet)
        let window = try parseWindow(windowOptions.window)
        let labels = try parseLabels(label)
        let model = try modelOptions.load()
        let request = FitRequest(task: task, dataset: URL(fileURLWithPath: scans), validationDataset: val.map { URL(fileURLWithPath: $0) },
                                 window: window, windowName: windowOptions.window, labels: labels, settings: settings,
                                 fieldOfView: crop, tasksDirectory: URL(fileURLWithPath: tasksDir), cacheDirectory: URL(fileURLWithPath: cacheDir), resume: resume)
        let interrupt = InterruptFlag()
        let result: FitResult
        do {
            result = try FitSession(model: model, request: request)
                .run(observer: progress, shouldStop: { interrupt.isSet })
        } catch {
            // FitError, InputError, a task file that cannot be written: each says file and reason.
            throw runtimeFailure("\(error)")
        }
        if json { print(try result.jsonSummary()) }
        if !result.failures.isEmpty { throw ExitCode(1) }
        if result.stop == .interrupted { throw ExitCode(130) }
    }
}

extension TuningMode: ExpressibleByArgument {}
extension FieldOfView: ExpressibleByArgument {}
extension DensePrompt: ExpressibleByArgument {}
