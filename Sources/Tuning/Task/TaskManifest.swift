import Foundation
import Imaging

/// Where a task's prompts live: `decoder` (the default: prompts in the mask
/// decoder only, image embeddings cached) or `deep` (also visual prompt tokens
/// in every encoder attention block).
public enum TuningMode: String, Codable, Sendable, CaseIterable {
    case decoder, deep
}

/// The dense prompt: the model's own frozen `no_mask_embed`, one learnable
/// vector broadcast over the grid, or a learnable map over the 64×64 grid.
public enum DensePrompt: String, Codable, Sendable, CaseIterable {
    case none, global, spatial
}

/// `task.json`: everything needed to reproduce and to trust a task's prompts
/// (the tensors themselves are in `prompts.safetensors` beside it).
public struct TaskManifest: Codable, Sendable, Equatable {
    public static let currentFormat = 1

    public struct BaseModel: Codable, Sendable, Equatable {
        public var name: String
        /// SHA-256 of the checkpoint file the prompts were trained against.
        public var sha256: String

        public init(name: String, sha256: String) {
            self.name = name
            self.sha256 = sha256
        }
    }

    public struct Preprocessing: Codable, Sendable, Equatable {
        /// The `--window` given at fit time (a preset name, W/L, or auto).
        public var window: String
        /// Label values taken as foreground in label-map masks; nil: any nonzero (empty
        /// when `--label` named only segments).
        public var labels: [Int]?
        /// Segment names of Slicer .seg.nrrd masks also taken as foreground (`--label liver`);
        /// nil when none were named.
        public var segments: [String]?
        /// The windows `window` settled to on the fit's cases (`auto` differs by case:
        /// CT gets the abdomen window, other scans their percentiles), with counts.
        public var windowsUsed: [String]?
        /// Each slice cropped to the body before the model sees it (nil in tasks from
        /// before the crop: `none`).
        public var fieldOfView: FieldOfView?

        public init(window: String, labels: [Int]?, segments: [String]? = nil, windowsUsed: [String]? = nil, fieldOfView: FieldOfView? = nil) {
            self.window = window
            self.labels = labels
            self.segments = segments
            self.windowsUsed = windowsUsed
            self.fieldOfView = fieldOfView
        }
    }

    public struct Prompts: Codable, Sendable, Equatable {
        public var mode: TuningMode
        public var sparseTokens: Int
        public var dense: DensePrompt
        /// Visual prompt tokens per encoder block (deep mode only).
        public var vptTokens: Int?
        /// Whether a box is fed with the tokens, at fit and at predict time.
        public var withBox: Bool

        public init(mode: TuningMode, sparseTokens: Int, dense: DensePrompt, vptTokens: Int?, withBox: Bool) {
            (self.mode, self.sparseTokens, self.dense, self.vptTokens, self.withBox) = (mode, sparseTokens, dense, vptTokens, withBox)
        }
    }

    public struct Training: Codable, Sendable, Equatable {
        public var epochs: Int
        public var batchSize: Int
        public var learningRate: Double
        public var warmupEpochs: Int
        public var seed: UInt64
        public var augment: Bool
        /// The augmentation groups trained with (nil in tasks from before `--augment`: the
        /// defaults of then, flips, turns and zoom, when `augment` is set).
        public var augmentations: [AugmentationGroup]?
        public var validationFraction: Double
        public var patience: Int?
        public var trainingCases: [String]
        public var validationCases: [String]
        /// One volume and no case to spare: the slab of it validated on.
        public var validationSlab: SlabHoldout?
        /// Set when there was nothing to validate on (the best epoch is then the lowest training loss).
        public var validationNote: String?
        /// Training slices whose mask is empty: what the task learned "none here" from
        /// (0: it marks something on every slice of a scan that extends past the structure).
        /// Nil in tasks from before it was recorded.
        public var slicesWithoutStructure: Int?
        /// The largest move of a training example per step, as a fraction of the frame
        /// (`fit --position-jitter`); nil in tasks from before it existed (no moves).
        public var positionJitter: Double?

        public init(epochs: Int, batchSize: Int, learningRate: Double, warmupEpochs: Int, seed: UInt64, augment: Bool,
                    validationFraction: Double, patience: Int?, trainingCases: [String], validationCases: [String]) {
            (self.epochs, self.batchSize, self.learningRate, self.warmupEpochs, self.seed) = (epochs, batchSize, learningRate, warmupEpochs, seed)
            (self.augment, self.validationFraction, self.patience) = (augment, validationFraction, patience)
            (self.trainingCases, self.validationCases) = (trainingCases, validationCases)
        }
    }

    public struct EpochRecord: Codable, Sendable, Equatable {
        public var epoch: Int
        public var trainingLoss: Double
        public var validationDice: Double?
        public var validationIoU: Double?
        /// The cascade's validation Dice with this epoch's prompts (the best margin, one round).
        public var cascadeDice: Double?
        public var seconds: Double
        /// Validation slices without the structure on which stage 1 marks something, and
        /// how many such slices validation has (SlabHoldout's run without the structure);
        /// nil when it has none.
        public var emptySlicesMarked: Int?
        public var emptySlices: Int?

        public init(epoch: Int, trainingLoss: Double, validationDice: Double?, validationIoU: Double?, cascadeDice: Double? = nil, seconds: Double) {
            (self.epoch, self.trainingLoss, self.validationDice, self.validationIoU) = (epoch, trainingLoss, validationDice, validationIoU)
            (self.cascadeDice, self.seconds) = (cascadeDice, seconds)
        }

        /// What the epoch delivers on validation: the better of stage 1 and the cascade.
        public var deliveredDice: Double? {
            guard let validationDice else { return nil }
            return max(validationDice, cascadeDice ?? -.infinity)
        }
    }

    public var format = TaskManifest.currentFormat
    public var name: String
    public var baseModel: BaseModel
    public var preprocessing: Preprocessing
    public var prompts: Prompts
    public var training: Training
    public var history: [EpochRecord] = []
    /// The epoch whose prompts were kept (best validation Dice of stage 1 or the cascade).
    public var best: EpochRecord?
    /// The cascade (stage-1 tokens → box → box stage) as chosen on validation; nil
    /// when there was nothing to validate on, or for tasks from before it existed.
    public var cascade: CascadeChoice?

    public init(name: String, baseModel: BaseModel, preprocessing: Preprocessing, prompts: Prompts, training: Training) {
        self.name = name
        self.baseModel = baseModel
        self.preprocessing = preprocessing
        self.prompts = prompts
        self.training = training
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Reads a `task.json`, refusing formats newer than this build understands.
    public static func read(from url: URL) throws -> TaskManifest {
        let data = try Data(contentsOf: url)
        let manifest: TaskManifest
        do {
            manifest = try JSONDecoder().decode(TaskManifest.self, from: data)
        } catch {
            throw InputError(file: url.path, reason: "not a segtune task file (\(error))")
        }
        guard manifest.format <= currentFormat else {
            throw InputError(file: url.path, reason: "task format \(manifest.format) is newer than this segtune understands (\(currentFormat))")
        }
        return manifest
    }
}

// The one mapping between fit's settings and task.json, both ways.
extension TaskManifest.Prompts {
    /// The prompt layout `settings` train.
    public init(_ settings: FitSettings) {
        self.init(mode: settings.mode, sparseTokens: settings.sparseTokens, dense: settings.dense,
                  vptTokens: settings.mode == .deep ? settings.vptTokens : nil, withBox: settings.withBox)
    }
}

extension TaskManifest.Training {
    /// The training settings as recorded (the learning rate as it was typed: 3e-3, not its Float's digits).
    public init(_ settings: FitSettings, trainingCases: [String], validationCases: [String]) {
        self.init(epochs: settings.epochs, batchSize: settings.batchSize, learningRate: Double("\(settings.learningRate)")!,
                  warmupEpochs: settings.warmupEpochs, seed: settings.seed, augment: settings.augment,
                  validationFraction: settings.validationFraction, patience: settings.patience,
                  trainingCases: trainingCases, validationCases: validationCases)
        augmentations = settings.augmentations
        positionJitter = settings.positionJitter
    }
}

extension FitSettings {
    /// The settings that rebuild a stored task's prompt layout (for prediction).
    public init(_ prompts: TaskManifest.Prompts) {
        self.init()
        (mode, sparseTokens, dense, withBox) = (prompts.mode, prompts.sparseTokens, prompts.dense, prompts.withBox)
        vptTokens = prompts.vptTokens ?? vptTokens
    }
}
