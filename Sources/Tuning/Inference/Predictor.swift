import Foundation
import Imaging
import Models
import Tensors

/// Segments scans with trained tasks, or zero-shot from a box and/or points: what
/// `segtune predict` runs, callable from any Swift program.
///
/// Each slice is encoded at most once per window and crop (FieldOfView); tasks trained
/// alike share that pass (a deep task runs the encoder with its own prompts). Where the
/// tasks' boxes come from their atlas, the slices it leaves without a box are not
/// encoded. Masks come back per task as one 3-D mask in the volume's canonical order,
/// the order `Volume.slices` are in; `writePredictedMask` puts them back on the input's
/// own grid. A task whose validation chose the cascade (Cascade.swift) refines its
/// stage-1 masks with boxes for its box stage: one more decoder pass per slice and
/// round, no more encoding.
public final class Predictor {
    public struct Options: Sendable {
        /// Overrides every task's window (nil: each task's own; zero-shot: auto).
        public var window: Window?
        /// Foreground where the probability exceeds this.
        public var threshold: Double = 0.5
        /// Keep only the largest connected component (3-D for volumes).
        public var largestComponent = false
        /// Whether tasks go through the cascade (stage-1 tokens → box → box stage).
        public var cascade: CascadeMode = .auto
        /// Replace the task's margin (a fraction of the image's longest side) and rounds
        /// wherever the cascade runs; nil: the task's own.
        public var cascadeMargin: Double?
        public var cascadeRounds: Int?
        /// Crop-and-zoom for given boxes (Zoom.swift); derived cascade boxes never zoom.
        public var zoom: ZoomMode = .on
        /// Where the cascade's first boxes come from; nil: each task's choice.
        public var locator: CascadeChoice.Locator?
        /// Encode every slice even where the tasks' atlas gives no box (their masks stay
        /// empty either way); by default such slices are not encoded.
        public var encodeEverySlice = false
        public init() {}
    }

    public enum CascadeMode: String, Sendable, CaseIterable {
        /// As each task chose on its validation split (task.json).
        case auto
        /// Stage-1 masks only (the learned tokens).
        case off
        /// Always, with the task's margin and rounds (10%, one round for tasks without a choice).
        case on
    }

    /// One task's (or the zero-shot prompt's) masks for a scan, and the images as shown
    /// to the model (windowed, [0, 1]) for overlays.
    public struct Output {
        public var name: String
        public var mask: Mask
        public var shown: [Image]
        /// Slices left empty because they lie beyond the span of the training scan the
        /// atlas matched (SliceAtlas.locate).
        public var slicesBeyondAtlas = 0
    }

    public let segmenter: Segmenter
    public let tasks: [TaskPredictor]
    public let options: Options
    /// Where plain (frozen-encoder) embeddings are looked up before encoding and stored
    /// after; nil: always encode. Safe to share between processes (EmbeddingCache).
    public let embeddingCache: EmbeddingCache?
    /// Plain encoder passes run, and embeddings taken from the cache, since creation.
    public private(set) var slicesEncoded = 0
    public private(set) var slicesFromCache = 0

    public init(segmenter: Segmenter, tasks: [TaskPredictor], options: Options = Options(), embeddingCache: EmbeddingCache? = nil) {
        self.segmenter = segmenter
        self.tasks = tasks
        self.options = options
        self.embeddingCache = embeddingCache
    }

    /// With no tasks, `box` and/or `points` are the prompt (zero-shot). With tasks, a
    /// given box is never ignored: a task trained with a box takes it as its prompt; any
    /// other task sends it to its box stage (the cascade's stage 2: its tuned tokens
    /// beside the box, or the frozen model) in place of the boxes stage 1 would derive.
    /// `sliceBoxes`: one box per slice of the volume, in `volume.slices` order, replacing
    /// `box`; a slice without one gets an empty mask. Throws `InputError` naming
    /// `volume.source` when a task needs a box and none is given, boxes meet a task with
    /// the cascade off (stage 1 alone takes no box), or a window name is bad.
    /// `progress(slice, slices)` follows a long volume: called after each slice (1-based,
    /// in canonical order) that is encoded or decoded; slices the atlas leaves without a
    /// box are passed over.
    public func predict(_ volume: Volume, box: BoxPrompt? = nil, points: [PointPrompt] = [],
                        sliceBoxes: [BoxPrompt?]? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> [Output] {
        precondition(sliceBoxes == nil || sliceBoxes!.count == volume.slices.count, "per-slice boxes: one per slice")
        if !tasks.isEmpty && !points.isEmpty {
            throw InputError(file: volume.source, reason: "points are for zero-shot prediction; tasks take none")
        }
        let boxesGiven = box != nil || sliceBoxes != nil
        for task in tasks where task.needsBox && !boxesGiven {
            throw InputError(file: volume.source, reason: "task '\(task.manifest.name)' was trained with a box: give --box or a row in --boxes")
        }
        if boxesGiven, let conflict = Self.boxConflict(tasks, cascade: options.cascade) {
            throw InputError(file: volume.source, reason: conflict)
        }
        if let conflict = Self.locatorConflict(tasks, options: options) { throw InputError(file: volume.source, reason: conflict) }
        if tasks.isEmpty && box == nil && points.isEmpty && sliceBoxes == nil {
            throw InputError(file: volume.source, reason: "no prompt: give a box or points, or a task")
        }
        let images = volume.slices
        let logit = Float(log(options.threshold / (1 - options.threshold)))
        // Tasks that see the slices alike (window and crop) share one encoder pass.
        let views: [View] = try tasks.isEmpty ? [View(window: options.window ?? .auto, fieldOfView: .none)] : tasks.map { task in
            let window: Window
            if let chosen = options.window { window = chosen } else {
                do { window = try Window(parsing: task.manifest.preprocessing.window) } catch {
                    throw InputError(file: volume.source, reason: "task '\(task.manifest.name)': \(error)")
                }
            }
            return View(window: window, fieldOfView: task.manifest.preprocessing.fieldOfView ?? .none)
        }
        var slices: [[Mask]] = Array(repeating: [], count: max(tasks.count, 1))
        var shownByTask: [Int: [Image]] = [:]
        var slicesBeyondAtlas: [Int: Int] = [:]
        let cascades = tasks.map(cascadeSettings)
        for (v, view) in views.enumerated() where views.firstIndex(of: view) == v {
            let shown = windowed(images, view.window)
            let sharing = views.indices.filter { views[$0] == view }
            for s in sharing { shownByTask[s] = shown }
            let region = bodyRegion(ofVolume: shown, fieldOfView: view.fieldOfView)
            let spacing = volume.spacing.flatMap { $0.count > 2 ? $0[2] : nil }
            let isVolume = images.count > 1
            // Tasks whose masks the atlas gates (its boxes, or where it finds the structure)
            // encode only the slices it boxes (atlasMasks).
            if !boxesGiven, !options.encodeEverySlice, !tasks.isEmpty, sharing.allSatisfy({ t in
                tasks[t].usesSharedEmbedding && (cascades[t] != nil && Self.locator(of: tasks[t], options: options) == .atlas
                                                 || Self.atlasGates(tasks[t], options: options, isVolume: isVolume))
            }) {
                for (t, found) in try atlasMasks(sharing.map { (t: $0, cascade: cascades[$0]) }, shown: shown, region: region,
                                                 spacing: spacing, isVolume: isVolume, threshold: logit, progress: progress) {
                    (slices[t], slicesBeyondAtlas[t]) = (found.masks, found.beyondSpan)
                }
                continue
            }
            var geometries: [PreparedImage] = []
            let kept = KeptEmbeddings(slices: shown.count)
            // The cascade needs every slice's embedding for its 3-D step; given boxes skip it.
            let keepsEmbeddings = !boxesGiven && sharing.contains { !tasks.isEmpty && cascades[$0] != nil }
            let (given, givenPoints) = (box.map { $0.moved(into: region) }, points.map { $0.moved(into: region) })
            for (z, image) in shown.enumerated() {
                let inView = image.cropped(to: region)
                let sliceBox = sliceBoxes.map { $0[z]?.moved(into: region) } ?? given
                let zoom = sliceBox.flatMap { zoomRegion(for: $0, width: inView.width, height: inView.height, mode: options.zoom) }
                let cropOnly = zoom != nil && options.zoom == .crop
                // The whole slice's plain embedding, where something decodes it: a shared-
                // embedding task, the cascade's box stage, or a given box drawn on the whole
                // slice. Deep tasks run their own encoder; zero-shot encodes what its prompt needs below.
                let needsPlain = !tasks.isEmpty && sharing.contains { t in
                    if boxesGiven && !tasks[t].needsBox { return !cropOnly }
                    return tasks[t].usesSharedEmbedding || cascades[t] != nil
                }
                let geometry = cropOnly && tasks.isEmpty ? nil : prepare(inView, with: segmenter)
                if let geometry { geometries.append(geometry) }
                let embedding = needsPlain ? try plainEmbedding(geometry!) : nil
                if keepsEmbeddings { try kept.store(embedding!, at: z) }
                if tasks.isEmpty {
                    let pointsHere = sliceBoxes == nil ? givenPoints : []
                    if sliceBox == nil && pointsHere.isEmpty {
                        slices[0].append(.empty(width: inView.width, height: inView.height))
                    } else {
                        let whole = cropOnly ? nil : Mask(width: inView.width, height: inView.height,
                                                          voxels: segmenter.predictMask(embedding: try plainEmbedding(geometry!), for: geometry!, box: sliceBox,
                                                                                        points: pointsHere, threshold: logit))
                        slices[0].append(try zoomed(whole, frozenBoxStage(segmenter), image: inView, region: zoom, box: sliceBox, points: pointsHere, threshold: logit))
                    }
                }
                for t in sharing where !tasks.isEmpty {
                    let geometry = geometry!
                    if tasks[t].needsBox && sliceBox == nil {
                        slices[t].append(.empty(width: geometry.originalWidth, height: geometry.originalHeight))
                    } else if boxesGiven && !tasks[t].needsBox {
                        // Given boxes replace the ones stage 1 would derive: the box stage only.
                        let stage = tasks[t].boxStage(segmenter)
                        let whole = cropOnly ? nil : boxStageMask(stage, embedding: embedding!, geometry: geometry, box: sliceBox, threshold: logit)
                        slices[t].append(try zoomed(whole, stage, image: inView, region: zoom, box: sliceBox, threshold: logit))
                    } else {
                        slices[t].append(tasks[t].mask(embedding: embedding, geometry: geometry, box: sliceBox, threshold: logit))
                    }
                }
                progress?(z + 1, shown.count)
            }
            for t in sharing where !tasks.isEmpty && !boxesGiven {
                if Self.atlasGates(tasks[t], options: options, isVolume: isVolume) {
                    // Stage 1 only where the atlas finds the structure, before any cascade.
                    let found = tasks[t].atlas!.boxes(for: geometries, sliceSpacing: spacing, margin: 0)
                    slices[t] = zip(slices[t], found.boxes).map { mask, box in box == nil ? .empty(width: mask.width, height: mask.height) : mask }
                    slicesBeyondAtlas[t] = found.beyondSpan
                }
                guard let cascade = cascades[t] else { continue }
                var located: [BoxPrompt?]?
                let locator = Self.locator(of: tasks[t], options: options)
                if locator != .tokens {
                    let found = tasks[t].atlas!.boxes(for: geometries, sliceSpacing: spacing, margin: cascade.margin)
                    located = locator == .atlas ? found.boxes : tokensInAtlasBoxes(slices[t], located: found.boxes, margin: cascade.margin)
                    slicesBeyondAtlas[t] = found.beyondSpan
                }
                slices[t] = try cascadeMasks(coarse: slices[t], located: located, isVolume: images.count > 1, margin: cascade.margin, rounds: cascade.rounds,
                                             stage2: tasks[t].boxStage(segmenter), embedding: { try kept.embedding(at: $0) }, geometries: geometries,
                                             threshold: logit)
            }
            // Back from the body's crop onto the stored slices.
            for index in tasks.isEmpty ? [0] : sharing {
                slices[index] = slices[index].indices.map { z in
                    slices[index][z].placed(in: region, width: shown[z].width, height: shown[z].height)
                }
            }
        }
        return slices.enumerated().map { t, masks in
            var mask = Mask(stacking: masks)
            if options.largestComponent { mask = largestConnectedComponent(of: mask) }
            mask.spacing = volume.spacing
            return Output(name: tasks.isEmpty ? "segtune" : tasks[t].manifest.name, mask: mask, shown: shownByTask[t]!,
                          slicesBeyondAtlas: slicesBeyondAtlas[t] ?? 0)
        }
    }

    /// The masks of tasks that all take their cascade's boxes from their atlas, on the
    /// stored slices. A slice the atlas leaves without a box gets an empty mask whatever
    /// the encoder says, so the atlas runs first (on thumbnails) and only the slices with a
    /// box are encoded, once for all these tasks.
    private func atlasMasks(_ tasksHere: [(t: Int, cascade: (margin: Double, rounds: Int)?)], shown: [Image], region: PixelRegion,
                            spacing: Double?, isVolume: Bool, threshold: Float,
                            progress: ((Int, Int) -> Void)?) throws -> [Int: (masks: [Mask], beyondSpan: Int)] {
        let geometries = shown.map { prepare($0.cropped(to: region), with: segmenter) }
        let kept = KeptEmbeddings(slices: geometries.count)
        func embedding(_ z: Int) throws -> Tensor {
            if kept.contains(z) { return try kept.embedding(at: z) }
            let embedding = try plainEmbedding(geometries[z])
            try kept.store(embedding, at: z)
            progress?(z + 1, geometries.count)
            return embedding
        }
        defer { progress?(geometries.count, geometries.count) }
        var result: [Int: (masks: [Mask], beyondSpan: Int)] = [:]
        for (t, cascade) in tasksHere {
            let gated = Self.atlasGates(tasks[t], options: options, isVolume: isVolume)
            let found = tasks[t].atlas!.boxes(for: geometries, sliceSpacing: spacing, margin: gated ? 0 : cascade!.margin)
            // Gated: stage 1 only where the atlas finds the structure (the rest never encoded).
            let coarse = try geometries.indices.map { z in
                !gated || found.boxes[z] == nil ? .empty(width: geometries[z].originalWidth, height: geometries[z].originalHeight)
                    : tasks[t].mask(embedding: try embedding(z), geometry: geometries[z], threshold: threshold)
            }
            var masks = coarse
            if let cascade {
                masks = try cascadeMasks(coarse: coarse, located: gated ? nil : found.boxes, isVolume: isVolume, margin: cascade.margin,
                                         rounds: cascade.rounds, stage2: tasks[t].boxStage(segmenter), embedding: embedding,
                                         geometries: geometries, threshold: threshold)
            }
            result[t] = (masks.indices.map { z in masks[z].placed(in: region, width: shown[z].width, height: shown[z].height) }, found.beyondSpan)
        }
        return result
    }

    /// How a task sees the slices: through which window, cropped how.
    private struct View: Equatable {
        var window: Window
        var fieldOfView: FieldOfView
    }

    /// Why given boxes cannot apply to `tasks` under `cascade`, or nil: `off` asks for
    /// stage 1 alone, which takes no box (tasks trained with a box take it as their prompt).
    public static func boxConflict(_ tasks: [TaskPredictor], cascade: CascadeMode) -> String? {
        guard cascade == .off, let task = tasks.first(where: { !$0.needsBox }) else { return nil }
        return "task '\(task.manifest.name)': given boxes go to its box stage, and --cascade off asks for stage 1 alone, which takes none"
    }

    /// Why `options.locator` cannot apply to `tasks`, or nil: the atlas for a task that kept
    /// none, or any locator where no cascade runs (off, a task that chose stage 1 alone, a
    /// task whose prompt is a given box): an option is never ignored silently.
    public static func locatorConflict(_ tasks: [TaskPredictor], options: Options) -> String? {
        guard let locator = options.locator else { return nil }
        if options.cascade == .off || tasks.isEmpty {
            return "--locator \(locator.rawValue) chooses the cascade's first boxes; " + (tasks.isEmpty ? "zero-shot prediction has no cascade" : "--cascade off runs none")
        }
        if locator != .tokens, let task = tasks.first(where: { $0.atlas == nil }) {
            return "task '\(task.manifest.name)' keeps no atlas (fit with --no-atlas, in deep mode, with --with-box, or before the atlas): --locator \(locator.rawValue) cannot apply"
        }
        if options.cascade == .auto, let task = tasks.first(where: { !$0.needsBox && $0.manifest.cascade?.enabled != true }) {
            return "task '\(task.manifest.name)' chose stage 1 alone, where --locator has nothing to place: add --cascade on"
        }
        if let task = tasks.first(where: \.needsBox) {
            return "task '\(task.manifest.name)' was trained with a box, which is its prompt: --locator has nothing to place"
        }
        return nil
    }

    /// Whether a task's stage-1 masks are kept only on the slices of a volume where its
    /// atlas finds the structure, before any cascade runs on them: a task fitted with an
    /// atlas whose first boxes do not come from it, predicting stage 1 as it chose, or a
    /// cascade from the tokens' boxes. The tokens never learned "none" from a scan cut to
    /// the structure; the atlas knows the training scan's extent (docs/tuning.md, "Atlas").
    /// `--cascade off` (stage 1 everywhere) is never gated.
    public static func atlasGates(_ task: TaskPredictor, options: Options, isVolume: Bool) -> Bool {
        guard isVolume, task.atlas != nil, task.usesSharedEmbedding, !task.needsBox else { return false }
        switch options.cascade {
        case .off: return false
        case .auto where task.manifest.cascade?.enabled != true: return true
        case .auto, .on: return locator(of: task, options: options) == .tokens
        }
    }

    /// What gives a task's first cascade boxes: the option, else the task's choice.
    public static func locator(of task: TaskPredictor, options: Options) -> CascadeChoice.Locator {
        guard task.atlas != nil else { return .tokens }
        return options.locator ?? task.manifest.cascade?.locator ?? .tokens
    }

    /// A given box's mask with crop-and-zoom (Zoom.swift): `whole`, the box drawn on the whole
    /// slice (nil for `--zoom crop`), united with `stage`'s mask on the crop `region`; without
    /// a region, `whole` alone.
    private func zoomed(_ whole: Mask?, _ stage: BoxStage, image: Image, region: PixelRegion?, box: BoxPrompt?,
                        points: [PointPrompt] = [], threshold: Float) throws -> Mask {
        guard let region, let box else { return whole! }
        let crop = try zoomedBoxMask(stage, image: image, region: region, box: box, points: points, threshold: threshold)
        guard let whole else { return crop }
        return Mask(width: whole.width, height: whole.height, voxels: zip(whole.voxels, crop.voxels).map { $0 | $1 }, spacing: whole.spacing)
    }

    /// `stage` on a crop of `image` around `box` (both in `image`'s pixels), resized to the
    /// model's input; the mask is put back at `image`'s size.
    private func zoomedBoxMask(_ stage: BoxStage, image: Image, region: PixelRegion, box: BoxPrompt,
                               points: [PointPrompt] = [], threshold: Float) throws -> Mask {
        let geometry = prepare(image.cropped(to: region), with: segmenter)
        let embedding = try plainEmbedding(geometry)
        let mask: Mask
        if points.isEmpty {
            mask = stage(embedding, geometry, box.moved(into: region), threshold)
        } else {
            mask = Mask(width: region.width, height: region.height,
                        voxels: segmenter.predictMask(embedding: embedding, for: geometry, box: box.moved(into: region),
                                                      points: points.map { $0.moved(into: region) }, threshold: threshold))
        }
        return mask.placed(in: region, width: image.width, height: image.height)
    }

    /// The frozen encoder's embedding of one slice, through the cache when there is one.
    private func plainEmbedding(_ geometry: PreparedImage) throws -> Tensor {
        guard let embeddingCache else {
            slicesEncoded += 1
            return segmenter.imageEmbedding(geometry)
        }
        let (embedding, computed) = try embeddingCache.embedding(of: geometry, using: segmenter)
        if computed { slicesEncoded += 1 } else { slicesFromCache += 1 }
        return embedding
    }

    /// The margin and rounds a task predicts with, or nil for stage 1 only. A task trained
    /// with a box as its prompt has no stage 1 to refine.
    private func cascadeSettings(_ task: TaskPredictor) -> (margin: Double, rounds: Int)? {
        if task.needsBox || options.cascade == .off { return nil }
        let choice = task.manifest.cascade
        let stored: (margin: Double, rounds: Int)?
        switch options.cascade {
        case .off: return nil
        case .auto: stored = choice.flatMap { $0.enabled ? ($0.margin, $0.rounds) : nil }
        case .on: stored = (choice?.margin ?? 0.10, choice?.rounds ?? 1)
        }
        return stored.map { (options.cascadeMargin ?? $0.margin, options.cascadeRounds ?? $0.rounds) }
    }
}

extension BoxPrompt {
    /// This box (in stored-slice pixels) in the pixels of `region`.
    func moved(into region: PixelRegion) -> BoxPrompt {
        let (dx, dy) = (Float(region.x), Float(region.y))
        return BoxPrompt(x0: x0 - dx, y0: y0 - dy, x1: x1 - dx, y1: y1 - dy)
    }
}

extension PointPrompt {
    func moved(into region: PixelRegion) -> PointPrompt {
        var point = self
        (point.x, point.y) = (x - Float(region.x), y - Float(region.y))
        return point
    }
}
