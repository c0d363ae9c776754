import Foundation
import Imaging
import Models
import Tensors

/// Learned prompts find the structure, a derived box draws its edge.
///
/// The frozen model draws an organ's edge well once it has a box (liver: 0.97 with a
/// hand box) and poorly from learned tokens alone. So stage 1 (the task's tokens) gives
/// a coarse mask; in a volume its largest 3-D component is kept (false detections on
/// neighbouring organs go); each slice's bounding box, grown by a margin, becomes a box
/// prompt (slices inside the detected span without a detection get a box interpolated
/// from their neighbours); stage 2, the box stage, draws the mask from that box (the
/// frozen model, or the task's stage-2 tokens beside the box: Stage2.swift). Whether a task
/// uses it, and with which margin and how many rounds, is chosen on validation
/// (`chooseCascade`): a box hurts a thin ribbon such as gray matter.
public struct CascadeChoice: Codable, Sendable, Equatable {
    /// Whether predictions go through the cascade (validation said it helps).
    public var enabled: Bool
    /// Added on every side of a slice's box, as a fraction of the image's longest side.
    public var margin: Double
    /// Box → mask passes: 2 draws a second box from the first pass's mask.
    public var rounds: Int
    /// Validation Dice of stage 1 alone, and of the cascade as chosen.
    public var stage1Dice: Double
    public var cascadeDice: Double
    /// Every setting tried: "margin 0.10, 1 round" (the frozen model with the box) or
    /// "tuned stage 2, margin 0.10, 1 round" → validation Dice.
    public var tried: [String: Double]
    /// Whether stage 2 uses the task's stage-2 tokens beside the box (`stage2.tokens` in
    /// prompts.safetensors), chosen on validation against the frozen model's box alone;
    /// nil when none were trained.
    public var tunedStage2: Bool?
    /// What gives the first round's boxes: stage 1's masks (`tokens`; nil in tasks from
    /// before the atlas) or the training slices registered to each slice (`atlas`:
    /// Atlas.swift, stored in prompts.safetensors).
    public var locator: Locator?
    /// The atlas's best validation Dice with its boxes grown by the margin alone, what decides
    /// whether it is used (every atlas setting is in `tried`); nil without an atlas.
    public var atlasDice: Double?

    public enum Locator: String, Codable, Sendable, CaseIterable {
        /// Stage 1's masks (the 3-D component step, gaps interpolated).
        case tokens
        /// The atlas's boxes (Atlas.swift).
        case atlas
        /// Stage 1's mask inside the atlas's box, where it marks anything there; else the atlas's box.
        case tokensInAtlas = "tokens-in-atlas"
    }

    public init(enabled: Bool, margin: Double, rounds: Int, stage1Dice: Double, cascadeDice: Double, tried: [String: Double],
                tunedStage2: Bool? = nil, locator: Locator? = nil, atlasDice: Double? = nil) {
        (self.enabled, self.margin, self.rounds) = (enabled, margin, rounds)
        (self.stage1Dice, self.cascadeDice, self.tried, self.tunedStage2) = (stage1Dice, cascadeDice, tried, tunedStage2)
        (self.locator, self.atlasDice) = (locator, atlasDice)
    }

    /// The margins fit tries (fractions of the image side).
    public static let candidateMargins: [Double] = [0, 0.05, 0.10, 0.15, 0.20]

    /// The margins an atlas's boxes are tried with: registration places a box to within
    /// a few percent of the crop, so its boxes are never used bare.
    public static let atlasMargins: [Double] = [0.025, 0.05, 0.075]

    /// How far below the tokens' validation Dice the atlas may score and still be preferred
    /// to their boxes: validation on the training scan flatters the tokens, which follow how
    /// the structure looked there, while the atlas follows anatomy (docs/tuning.md, "Atlas").
    /// Whichever boxes are preferred, the cascade is used only where it beats stage 1.
    public static let atlasTolerance = 0.05

    static func prefersAtlas(atlas: Double, tokens: Double) -> Bool { atlas >= tokens - atlasTolerance }

    /// Whether a cascade scoring `cascade` on validation is worth using over stage 1's
    /// `stage1`: only when it wins by more than a tie (`TrainingLoop.validationTolerance`),
    /// since a box from stage 1's mask can only add stage 1's misplacements on another
    /// patient. The one-scan spinal-cord task scored 0.571 against 0.562 on its slab and
    /// 0.427 against 0.631 on the other patient (docs/tuning.md, "Position").
    public static func isWorthUsing(cascade: Double, stage1: Double) -> Bool {
        cascade > stage1 + TrainingLoop.validationTolerance
    }
}

/// Empty slices a 3-D component may bridge (stage 1 misses a slice now and then).
let bridgedSlices = 2

/// Box prompts for each slice of one case from its coarse masks (in slice order).
/// A volume (`isVolume`) keeps its largest 3-D component first and fills slices inside
/// the detected span that have no detection by interpolating their neighbours' boxes.
/// Slices with no box stay nil (nothing to segment there).
public func cascadeBoxes(_ coarse: [Mask], isVolume: Bool, margin: Double) -> [BoxPrompt?] {
    guard let first = coarse.first else { return [] }
    let (w, h) = (first.width, first.height)
    var slices = coarse
    if isVolume && coarse.count > 1 {
        // Components are found on the mask spread ±`bridgedSlices` along z, so that a slice
        // stage 1 missed does not cut an organ in two; then only detected pixels are kept.
        let n = w * h, d = coarse.count
        var spread = [UInt8](repeating: 0, count: n * d)
        for z in 0..<d {
            for dz in -bridgedSlices...bridgedSlices where z + dz >= 0 && z + dz < d {
                for i in 0..<n where coarse[z + dz].voxels[i] != 0 { spread[z * n + i] = 1 }
            }
        }
        let kept = largestConnectedComponent(of: Mask(width: w, height: h, depth: d, voxels: spread))
        slices = (0..<d).map { z in
            Mask(width: w, height: h, voxels: zip(kept.slice(z).voxels, coarse[z].voxels).map { $0 & $1 })
        }
    }
    var tight = slices.map { boundingBox(of: $0) }
    if isVolume, let low = tight.firstIndex(where: { $0 != nil }), let high = tight.lastIndex(where: { $0 != nil }) {
        for z in low...high where tight[z] == nil {
            let below = (low..<z).last { tight[$0] != nil }!, above = ((z + 1)...high).first { tight[$0] != nil }!
            let t = Float(z - below) / Float(above - below)
            let a = tight[below]!, b = tight[above]!
            tight[z] = BoxPrompt(x0: a.x0 + t * (b.x0 - a.x0), y0: a.y0 + t * (b.y0 - a.y0),
                                 x1: a.x1 + t * (b.x1 - a.x1), y1: a.y1 + t * (b.y1 - a.y1))
        }
    }
    let grow = Float(margin) * Float(max(w, h))
    return tight.map { $0?.grown(x: grow, y: grow, width: w, height: h) }
}

extension BoxPrompt {
    /// This box with `x` pixels more on its left and right and `y` on its top and bottom,
    /// inside a `width`×`height` image.
    func grown(x: Float, y: Float, width: Int, height: Int) -> BoxPrompt {
        BoxPrompt(x0: max(0, x0 - x), y0: max(0, y0 - y), x1: min(Float(width - 1), x1 + x), y1: min(Float(height - 1), y1 + y))
    }
}

/// For each slice: the box of stage 1's mask inside the atlas's box (`located`), grown
/// by `margin` of the longest side, where stage 1 marks anything there; else the atlas's
/// box. The atlas says where to look, the tokens what the structure looks like.
public func tokensInAtlasBoxes(_ coarse: [Mask], located: [BoxPrompt?], margin: Double) -> [BoxPrompt?] {
    zip(coarse, located).map { mask, region in
        guard let region else { return nil }
        let (w, h) = (mask.width, mask.height)
        var inside = Mask.empty(width: w, height: h)
        let (xs, ys) = (max(0, Int(region.x0.rounded(.up)))..<min(w, Int(region.x1) + 1), max(0, Int(region.y0.rounded(.up)))..<min(h, Int(region.y1) + 1))
        for y in ys {
            for x in xs where mask.voxels[y * w + x] != 0 { inside.voxels[y * w + x] = 1 }
        }
        guard let box = boundingBox(of: inside) else { return region }
        let grow = Float(margin) * Float(max(w, h))
        return box.grown(x: grow, y: grow, width: w, height: h)
    }
}

/// The smallest box holding both; nil only when both are.
func covering(_ a: BoxPrompt?, _ b: BoxPrompt?) -> BoxPrompt? {
    guard let a else { return b }
    guard let b else { return a }
    return BoxPrompt(x0: min(a.x0, b.x0), y0: min(a.y0, b.y0), x1: max(a.x1, b.x1), y1: max(a.y1, b.y1))
}

/// Stage 2 on one slice: a box in, a mask out, thresholded at `threshold` (a logit).
public typealias BoxStage = (_ embedding: Tensor, _ geometry: PreparedImage, _ box: BoxPrompt, _ threshold: Float) -> Mask

/// Stage 2 as the frozen model with the box alone (no learned prompt).
public func frozenBoxStage(_ segmenter: Segmenter) -> BoxStage {
    { embedding, geometry, box, threshold in
        Mask(width: geometry.originalWidth, height: geometry.originalHeight,
             voxels: segmenter.predictMask(embedding: embedding, for: geometry, box: box, threshold: threshold))
    }
}

/// Stage 2 on one slice; no box: an empty mask, and `embedding` is never asked for.
public func boxStageMask(_ stage: BoxStage, embedding: @autoclosure () throws -> Tensor, geometry: PreparedImage, box: BoxPrompt?,
                         threshold: Float = 0) rethrows -> Mask {
    guard let box else { return .empty(width: geometry.originalWidth, height: geometry.originalHeight) }
    return stage(try embedding(), geometry, box, threshold)
}

/// Runs the cascade's stage 2 for one case: boxes from `coarse` (or the first round's
/// `located` boxes: an atlas's), then `rounds` box passes.
public func cascadeMasks(coarse: [Mask], located: [BoxPrompt?]? = nil, isVolume: Bool, margin: Double, rounds: Int,
                         stage2: BoxStage, embeddings: [Tensor], geometries: [PreparedImage], threshold: Float = 0) -> [Mask] {
    cascadeMasks(coarse: coarse, located: located, isVolume: isVolume, margin: margin, rounds: rounds, stage2: stage2,
                 embedding: { embeddings[$0] }, geometries: geometries, threshold: threshold)
}

/// The same, asking `embedding(z)` for a slice's embedding only where a box is drawn
/// (a slice without one is never decoded): with the atlas's boxes, slices it leaves
/// without a box need not be encoded at all.
public func cascadeMasks(coarse: [Mask], located: [BoxPrompt?]? = nil, isVolume: Bool, margin: Double, rounds: Int,
                         stage2: BoxStage, embedding: (Int) throws -> Tensor, geometries: [PreparedImage], threshold: Float = 0) rethrows -> [Mask] {
    var masks = coarse
    var previous: [BoxPrompt?]?
    for round in 0..<max(1, rounds) {
        var boxes = round == 0 && located != nil ? located! : cascadeBoxes(masks, isVolume: isVolume, margin: margin)
        // A later round only grows a slice's box: a box stage that draws a little inside
        // its box would otherwise shrink the structure round after round (measured on the
        // one-scan liver: 0.918 on the other patient with two rounds, 0.964 with one).
        if let previous { boxes = zip(boxes, previous).map { covering($0, $1) } }
        masks = try boxes.indices.map { z in
            try boxStageMask(stage2, embedding: try embedding(z), geometry: geometries[z], box: boxes[z], threshold: threshold)
        }
        previous = boxes
    }
    return masks
}

/// The validation split as the cascade sees it: each case's slices in order (a volume's
/// boxes are found in 3-D), with the frozen encoder's embeddings that stage 2 decodes
/// (in deep mode the tuned encoder is not the one stage 2 uses), computed once.
public struct CascadeValidation {
    let examples: [TuningExample]
    let cases: [String: [TuningExample]]
    let embeddings: [String: [Tensor]]

    /// `embeddings: false` skips the frozen encoder where examples have none (for stage 1
    /// alone, as when measuring its box errors).
    public init(_ validation: [TuningExample], segmenter: Segmenter, embeddings needed: Bool = true) {
        examples = validation
        cases = Dictionary(grouping: validation, by: \.caseName).mapValues { $0.sorted { ($0.sliceIndex ?? 0) < ($1.sliceIndex ?? 0) } }
        embeddings = needed ? cases.mapValues { $0.map { $0.embedding ?? segmenter.imageEmbedding($0.geometry) } } : [:]
    }

    public var isEmpty: Bool { examples.isEmpty }

    /// Stage 1's masks, by case, in slice order.
    func coarseMasks(_ predict: (TuningExample) -> Mask) -> [String: [Mask]] {
        cases.mapValues { $0.map(predict) }
    }

    /// The cascade on each case; a volume's runs of consecutive slices (a slab and a run
    /// without the structure: SlabHoldout) are separate volumes for its 3-D step.
    /// With `located` (each case's atlas boxes, in slice order), the first round's boxes
    /// come from them instead of from `coarse`.
    /// `relative`: whether the atlas's boxes also grow with their own extent.
    func refined(_ coarse: [String: [Mask]], margin: Double, rounds: Int, stage2: BoxStage,
                 located: [String: [SliceAtlas.UnitBox?]]? = nil, relative: Bool = true) -> [String: [Mask]] {
        Dictionary(uniqueKeysWithValues: cases.map { name, examples in
            let masks = consecutiveRuns(examples).flatMap { run in
                cascadeMasks(coarse: Array(coarse[name]![run]),
                             located: located.map { boxes in
                                 run.map { SliceAtlas.box(boxes[name]![$0], in: examples[$0].geometry, margin: margin, relative: relative) }
                             },
                             isVolume: run.count > 1 && examples[0].sliceIndex != nil,
                             margin: margin, rounds: rounds, stage2: stage2,
                             embeddings: Array(embeddings[name]![run]), geometries: examples[run].map(\.geometry))
            }
            return (name, masks)
        })
    }

    /// Index ranges of `examples` (in slice order) whose slice indices follow each other.
    func consecutiveRuns(_ examples: [TuningExample]) -> [Range<Int>] {
        var runs: [Range<Int>] = [], start = 0
        for i in examples.indices.dropFirst() {
            if let a = examples[i - 1].sliceIndex, let b = examples[i].sliceIndex, b == a + 1 { continue }
            runs.append(start..<i)
            start = i
        }
        return examples.isEmpty ? [] : runs + [start..<examples.count]
    }

    /// Validation slices without the structure on which `masks` mark something, of all
    /// such slices; nil when validation has none.
    func emptySlicesMarked(_ masks: [String: [Mask]]) -> (marked: Int, of: Int)? {
        var marked = 0, total = 0
        for (name, examples) in cases {
            for (example, mask) in zip(examples, masks[name]!) where example.mask.foregroundCount == 0 {
                total += 1
                if mask.foregroundCount > 0 { marked += 1 }
            }
        }
        return total == 0 ? nil : (marked, total)
    }

    /// Dice and IoU as validation reports them: each case's counts summed over its
    /// slices, then the mean over cases.
    func score(_ masks: [String: [Mask]], with tuner: PromptTuner) -> (dice: Double, iou: Double) {
        var byName: [String: Mask] = [:]
        for (name, examples) in cases { for (mask, example) in zip(masks[name]!, examples) { byName[example.name] = mask } }
        return tuner.meanCaseScores(examples) { byName[$0.name]! }
    }

    /// The best cascade Dice over the candidate margins, one round: what an epoch is
    /// judged by (`TrainingLoop`), cheap enough to run after every epoch.
    func bestOneRoundDice(_ coarse: [String: [Mask]], stage2: BoxStage, tuner: PromptTuner) -> (dice: Double, iou: Double) {
        CascadeChoice.candidateMargins.map { score(refined(coarse, margin: $0, rounds: 1, stage2: stage2), with: tuner) }.max { $0.dice < $1.dice }!
    }
}

extension PromptTuner {
    /// Chooses the cascade on `validation` with the current prompts: stage 1 alone against
    /// every candidate margin with one and two rounds, with the frozen model's box stage
    /// and, when given, the tuned `stage2` (Dice summed over each case's slices, mean over
    /// cases). Enabled only when it beats stage 1 by more than a tie. Nil without validation.
    public func chooseCascade(_ validation: CascadeValidation, stage2 tuned: PromptTuner? = nil, atlas: SliceAtlas? = nil) -> CascadeChoice? {
        guard !validation.isEmpty else { return nil }
        let coarse = validation.coarseMasks { predictedMask(for: $0) }
        let stage1 = validation.score(coarse, with: self).dice
        var stages: [(tuned: Bool, stage: BoxStage)] = [(false, frozenBoxStage(segmenter))]
        if let tuned { stages.append((true, tuned.boxStage)) }
        var tried: [String: Double] = [:]
        typealias Setting = (margin: Double, rounds: Int, tuned: Bool, dice: Double)
        func search(_ margins: [Double], prefix: String, located: [String: [SliceAtlas.UnitBox?]]?, relative: Bool = true) -> Setting {
            var best: Setting?
            for (isTuned, stage) in stages {
                for margin in margins {
                    for rounds in 1...2 {
                        let masks = validation.refined(coarse, margin: margin, rounds: rounds, stage2: stage, located: located, relative: relative)
                        let dice = validation.score(masks, with: self).dice
                        // Whole percents print as before (0.10); 2.5% as 0.025.
                        let digits = abs((margin * 100).rounded() - margin * 100) < 1e-6 ? 2 : 3
                        let name = String(format: "margin %.\(digits)f, %d round%@", margin, rounds, rounds == 1 ? "" : "s")
                        tried[prefix + (isTuned ? "tuned stage 2, " : "") + name] = dice
                        if best == nil || dice > best!.dice + 1e-9 { best = (margin, rounds, isTuned, dice) }
                    }
                }
            }
            return best!
        }
        let fromTokens = search(CascadeChoice.candidateMargins, prefix: "", located: nil)
        // Two questions, two measurements: whether the atlas finds the structure as well as
        // the tokens (its boxes with the margin alone), and with which setting it predicts
        // (the boxes also grown with their extent, for what differs between patients and a
        // slab of the training scan cannot show).
        let located = atlas.map { atlas in
            validation.cases.mapValues { examples in
                atlas.locate(examples.map(\.geometry), at: examples.map { $0.sliceIndex ?? 0 }, sliceSpacing: examples.first?.sliceSpacing).boxes
            }
        }
        let atlasFinds = located.map { search(CascadeChoice.atlasMargins, prefix: "atlas, margin alone, ", located: $0, relative: false) }
        let fromAtlas = located.map { search(CascadeChoice.atlasMargins, prefix: "atlas, ", located: $0) }
        var choice = CascadeChoice(enabled: CascadeChoice.isWorthUsing(cascade: fromTokens.dice, stage1: stage1), margin: fromTokens.margin,
                                   rounds: fromTokens.rounds, stage1Dice: stage1, cascadeDice: fromTokens.dice, tried: tried,
                                   tunedStage2: tuned == nil ? nil : fromTokens.tuned, locator: .tokens, atlasDice: atlasFinds?.dice)
        if let fromAtlas, let atlasFinds, CascadeChoice.prefersAtlas(atlas: atlasFinds.dice, tokens: max(stage1, choice.enabled ? fromTokens.dice : stage1)) {
            // The atlas rather than the tokens' boxes; used only where it also beats stage 1
            // alone, so the default is never below stage 1 on validation (docs/tuning.md, "Atlas").
            (choice.enabled, choice.margin, choice.rounds, choice.cascadeDice) = (CascadeChoice.isWorthUsing(cascade: fromAtlas.dice, stage1: stage1),
                                                                                   fromAtlas.margin, fromAtlas.rounds, fromAtlas.dice)
            (choice.tunedStage2, choice.locator) = (tuned == nil ? nil : fromAtlas.tuned, .atlas)
        }
        return choice
    }

    /// This tuner as a cascade's stage 2: its tokens beside the box (a tuner trained `withBox`).
    public var boxStage: BoxStage {
        { embedding, geometry, box, threshold in
            self.mask(fromLowResolution: self.logits(embedding: embedding, geometry: geometry, box: box), geometry: geometry, threshold: threshold)
        }
    }
}

