import Foundation
import Imaging
import Models
import Tensors

/// A trained task on its base model, ready to segment images with no clicks or boxes
/// (unless the task was trained with a box).
public struct TaskPredictor {
    public let manifest: TaskManifest
    let tuner: PromptTuner
    /// The cascade's tuned stage 2 (tokens beside the box), when validation chose it.
    let stage2: PromptTuner?
    /// The training slices' atlas (Atlas.swift), in tasks that stored one.
    public let atlas: SliceAtlas?

    /// Loads task `name` from `store` for `model`; a task trained on another checkpoint
    /// is refused.
    public init(_ name: String, store: TaskStore, model: BaseModel) throws {
        var manifest = try store.loadManifest(name)
        // The folder's name is the task's name (outputs and segment labels use it), even in a copied or renamed folder.
        manifest.name = name
        let (segmenter, modelDigest) = (model.segmenter, try model.sha256())
        guard manifest.baseModel.sha256 == modelDigest else {
            throw InputError(file: store.folder(name).path, reason: """
                task '\(name)' was trained on base model \(manifest.baseModel.name) with SHA-256 \
                \(manifest.baseModel.sha256.prefix(16))…, not on this checkpoint (\(modelDigest.prefix(16))…)
                """)
        }
        if manifest.prompts.mode == .deep {
            guard let tokens = manifest.prompts.vptTokens, tokens >= 1 else {
                throw InputError(file: store.folder(name).appendingPathComponent("task.json").path,
                                 reason: "a deep task needs vptTokens ≥ 1")
            }
        }
        let prompts = try store.loadPrompts(name)
        let tuner = PromptTuner.holdingStoredPrompts(segmenter: segmenter, settings: FitSettings(manifest.prompts))
        for entry in tuner.arena.entries {
            guard let tensor = prompts[entry.name], tensor.shape == entry.shape else {
                throw InputError(file: store.folder(name).appendingPathComponent("prompts.safetensors").path,
                                    reason: "'\(entry.name)' of shape \(entry.shape) is missing or mis-shaped")
            }
            tuner.arena.value(entry.name).assign(from: tensor)
        }
        do { self.atlas = try SliceAtlas.stored(in: prompts) } catch {
            throw InputError(file: store.folder(name).appendingPathComponent("prompts.safetensors").path, reason: error.description)
        }
        self.manifest = manifest
        self.tuner = tuner
        if manifest.cascade?.tunedStage2 == true {
            let stage2 = PromptTuner.holdingStoredPrompts(segmenter: segmenter, settings: Stage2Training.settings(stage1: tuner.settings))
            guard let tokens = prompts[Self.stage2TokensKey], tokens.shape == stage2.arena.value("tokens").shape else {
                throw InputError(file: store.folder(name).appendingPathComponent("prompts.safetensors").path,
                                 reason: "task.json says stage 2 is tuned, but '\(Self.stage2TokensKey)' is missing or mis-shaped")
            }
            stage2.arena.value("tokens").assign(from: tokens)
            self.stage2 = stage2
        } else {
            self.stage2 = nil
        }
    }

    /// Where the stage-2 tokens live in prompts.safetensors.
    public static let stage2TokensKey = "stage2.tokens"

    /// The cascade's stage 2 for this task: its tuned tokens with the box when chosen,
    /// else the frozen model with the box.
    public func boxStage(_ segmenter: Segmenter) -> BoxStage {
        stage2?.boxStage ?? frozenBoxStage(segmenter)
    }

    public var needsBox: Bool { manifest.prompts.withBox }

    /// Whether fit recorded that no training slice lacked the structure: on slices of a
    /// volume without it, this task's masks are false positives (FitEvent.noSliceWithoutStructure).
    public var neverSawAbsence: Bool { manifest.training.slicesWithoutStructure == 0 }

    /// Whether the task decodes the plain encoder's embedding, which tasks on the same
    /// base model share; a deep task runs the encoder with its own prompts instead.
    public var usesSharedEmbedding: Bool { manifest.prompts.mode == .decoder }

    /// The mask of one prepared image, from its embedding (shared by every task on the
    /// same base model). `threshold` is a logit (0: probability 0.5). A deep task ignores
    /// `embedding` and encodes the image with its prompts (one encoder pass per deep task).
    public func mask(embedding: Tensor?, geometry: PreparedImage, box: BoxPrompt? = nil, threshold: Float = 0) -> Mask {
        let own = usesSharedEmbedding ? embedding! : tuner.promptedEmbedding(geometry)
        return tuner.mask(fromLowResolution: tuner.logits(embedding: own, geometry: geometry, box: box),
                          geometry: geometry, threshold: threshold)
    }
}
