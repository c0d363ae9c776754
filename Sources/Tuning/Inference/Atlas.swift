import Foundation
import Imaging
import Models
import Tensors

/// Where the structure lies on a new slice, from anatomy rather than appearance: each
/// training slice, shrunk to a thumbnail of the body's crop, with its structure's box.
///
/// A slice to segment is registered to the atlas (an axis-aligned scale and shift in
/// crop-normalised coordinates, maximising normalised cross-correlation of the
/// thumbnails); the best-matching training slices' boxes, mapped through their
/// transforms, give the slice its box (the median of each side), or none when most of
/// them hold no structure. The body outline, fat, muscle and bone decide the match, and
/// they look alike across patients and contrast phases, where the learned tokens follow
/// what the structure itself looked like (docs/tuning.md, "Atlas"). The box, grown by a
/// margin for what registration and anatomy leave uncertain, goes to the cascade's box
/// stage. Cost: one thumbnail per slice and a few million interpolations, no encoder pass.
public struct SliceAtlas: Sendable, Equatable {
    /// Thumbnail side.
    public static let side = 64
    /// At most this many training slices are kept (evenly spaced), bounding the search.
    public static let maxSlices = 256
    /// Atlas slices refined per target slice (the best by untransformed correlation) and
    /// how many of the best refined matches vote on the box.
    static let candidates = 5, voters = 3
    /// The scale and shift grid (shift: fraction of the crop's side).
    static let scales: [Float] = [0.85, 0.92, 1, 1.08, 1.17]
    static let shifts: [Float] = stride(from: -4, through: 4, by: 1).map { Float($0) * 0.025 }

    /// Box edges in [0, 1] of the crop's width and height; nil: no structure there.
    public struct UnitBox: Sendable, Equatable {
        public var x0: Float, y0: Float, x1: Float, y1: Float
    }

    /// Where a training slice lay: its scan (numbered) and its position along the scan's
    /// axis (mm).
    public struct Position: Sendable, Equatable {
        public var scan: Int, z: Float
    }

    public var thumbnails: [[Float]]
    public var boxes: [UnitBox?]
    /// nil for a 2-D image, or a volume whose slice spacing is unknown.
    public var positions: [Position?]

    public init(thumbnails: [[Float]], boxes: [UnitBox?], positions: [Position?]? = nil) {
        precondition(thumbnails.count == boxes.count && thumbnails.allSatisfy { $0.count == Self.side * Self.side })
        (self.thumbnails, self.boxes) = (thumbnails, boxes)
        self.positions = positions ?? boxes.map { _ in nil }
        precondition(self.positions.count == boxes.count)
    }

    /// The atlas of the training examples as the model sees them (windowed, cropped);
    /// augmented variants are left out. What validation judges: it holds none of the
    /// validation slices.
    public init(_ examples: [TuningExample]) {
        let originals = examples.filter { $0.augmentation == .identity }
        self.init(count: originals.count, caseNames: originals.map(\.caseName)) { k in
            (thumbnail(originals[k].geometry), originals[k].mask, originals[k].sliceIndex, originals[k].sliceSpacing)
        }
    }

    /// The atlas of every slice of the training cases, prepared as the model sees them
    /// but not encoded: what a task stores, so that a new patient's slices also find
    /// the levels fit held out for validation (docs/tuning.md, "Atlas").
    public init(_ slices: [LabeledSlice], segmenter: Segmenter) {
        self.init(count: slices.count, caseNames: slices.map(\.caseName)) { k in
            (thumbnail(prepare(slices[k].image, with: segmenter)), slices[k].mask,
             slices[k].isVolumeSlice ? slices[k].index : nil, slices[k].sliceSpacing)
        }
    }

    /// At most `maxSlices` of `count` slices, evenly spaced; `slice(k)` gives the k-th
    /// one's thumbnail, mask, index in its volume and slice spacing (made one at a time:
    /// a prepared image is the model's whole input).
    private init(count: Int, caseNames: [String], slice: (Int) -> (thumbnail: [Float], mask: Mask, index: Int?, spacing: Double?)) {
        let step = max(1, Int((Double(count) / Double(Self.maxSlices)).rounded(.up)))
        let kept = Array(stride(from: 0, to: count, by: step))
        let scans = Array(Set(kept.map { caseNames[$0] })).sorted()
        var (thumbnails, boxes, positions) = ([[Float]](), [UnitBox?](), [Position?]())
        for k in kept {
            let (image, mask, index, spacing) = slice(k)
            thumbnails.append(image)
            boxes.append(mask.foregroundBounds.map { b in
                let (w, h) = (Float(mask.width), Float(mask.height))
                return UnitBox(x0: Float(b.x) / w, y0: Float(b.y) / h, x1: Float(b.x + b.width) / w, y1: Float(b.y + b.height) / h)
            })
            positions.append(index.flatMap { index in
                spacing.map { Position(scan: scans.firstIndex(of: caseNames[k])!, z: Float(Double(index) * $0)) }
            })
        }
        self.init(thumbnails: thumbnails, boxes: boxes, positions: positions)
    }

    // MARK: storage (prompts.safetensors)

    static let thumbnailsKey = "atlas.thumbnails", boxesKey = "atlas.boxes", positionsKey = "atlas.positions"

    /// As tensors: thumbnails (S, side, side), boxes (S, 4), positions (S, 2: scan, z);
    /// NaN for "none".
    public var tensors: [String: Tensor] {
        let n = Self.side
        return [Self.thumbnailsKey: Tensor(shape: [thumbnails.count, n, n], values: thumbnails.flatMap { $0 }),
                Self.boxesKey: Tensor(shape: [boxes.count, 4], values: boxes.flatMap { b in
                    b.map { [$0.x0, $0.y0, $0.x1, $0.y1] } ?? [.nan, .nan, .nan, .nan]
                }),
                Self.positionsKey: Tensor(shape: [positions.count, 2], values: positions.flatMap { p in
                    p.map { [Float($0.scan), $0.z] } ?? [.nan, .nan]
                })]
    }

    public struct Misshaped: Error, CustomStringConvertible {
        public var description: String
    }

    /// From stored tensors; nil when there are none. Positions may be missing (none known).
    public static func stored(in prompts: [String: Tensor]) throws(Misshaped) -> SliceAtlas? {
        guard let images = prompts[thumbnailsKey] else { return nil }
        let n = side, count = images.shape.first ?? 0
        let positions = prompts[positionsKey] ?? Tensor(shape: [count, 2], values: Array(repeating: .nan, count: 2 * count))
        guard let boxes = prompts[boxesKey], count > 0, images.shape == [count, n, n], boxes.shape == [count, 4], positions.shape == [count, 2] else {
            throw Misshaped(description: "'\(thumbnailsKey)' \(images.shape), '\(boxesKey)' \(prompts[boxesKey]?.shape ?? []) and '\(positionsKey)' "
                            + "\(positions.shape) are not (S, \(n), \(n)), (S, 4) and (S, 2)")
        }
        let (values, places) = (Array(boxes.data), Array(positions.data))
        // A box or a position is all NaN ("none") or finite; thumbnails are finite.
        func mixed(_ row: ArraySlice<Float>) -> Bool { !row.allSatisfy(\.isNaN) && !row.allSatisfy(\.isFinite) }
        if !images.data.allSatisfy(\.isFinite) || (0..<count).contains(where: { mixed(values[(4 * $0)..<(4 * $0 + 4)]) || mixed(places[(2 * $0)..<(2 * $0 + 2)]) }) {
            throw Misshaped(description: "the atlas holds a value that is neither a number nor a whole 'none' row")
        }
        return SliceAtlas(
            thumbnails: (0..<count).map { Array(images.data[($0 * n * n)..<(($0 + 1) * n * n)]) },
            boxes: (0..<count).map { s in
                let v = (0..<4).map { values[s * 4 + $0] }
                return v.contains { $0.isNaN } ? nil : UnitBox(x0: v[0], y0: v[1], x1: v[2], y1: v[3])
            },
            positions: (0..<count).map { s in
                let (scan, z) = (places[2 * s], places[2 * s + 1])
                return scan.isNaN || z.isNaN || scan < 0 || scan > Float(count) ? nil : Position(scan: Int(scan), z: z)
            })
    }

    // MARK: locating

    /// A volume's located boxes, and how many of its slices lay beyond the span of the
    /// training scan they matched (those have none).
    public struct Located {
        public var boxes: [UnitBox?]
        public var beyondSpan = 0
    }

    /// One box per slice (pixels of the slice the model was given), grown by `margin` of
    /// its longest side; nil where the matched training slices mostly hold no structure,
    /// or beyond the training scan's span (`locate`).
    public func boxes(for slices: [PreparedImage], sliceSpacing: Double?, margin: Double) -> (boxes: [BoxPrompt?], beyondSpan: Int) {
        let located = locate(slices, at: Array(slices.indices), sliceSpacing: sliceSpacing)
        return (zip(slices, located.boxes).map { Self.box($1, in: $0, margin: margin) }, located.beyondSpan)
    }

    /// Each slice's box in unit coordinates (the registration: the costly part). For a
    /// volume (`indices`: each slice's index, `sliceSpacing` in mm) and an atlas of scans
    /// of known positions, the volume is first placed along each scan (AtlasPlacement.swift);
    /// a slice's candidates are then the training slices nearest where it lands, and a
    /// slice landing further than `spanTolerance` of the span beyond every scan gets no
    /// box: the task never saw what lies there. Otherwise (2-D images, volumes of fewer
    /// than `placedSlices`) its candidates are the training slices that correlate best
    /// with it.
    public func locate(_ slices: [PreparedImage], at indices: [Int], sliceSpacing: Double?) -> Located {
        let targets = slices.map(thumbnail)
        if let sliceSpacing, slices.count >= Self.placedSlices {
            let z = indices.map { Float(Double($0) * sliceSpacing) }
            let placements = placements(of: targets, z: z)
            if !placements.isEmpty { return locate(targets, z: z, placements: placements) }
        }
        return Located(boxes: targets.map { vote(matches($0)) })
    }

    private func locate(_ targets: [[Float]], z: [Float], placements: [Placement]) -> Located {
        let members = Dictionary(uniqueKeysWithValues: scans)
        let perScan = max(Self.voters, Self.candidates / placements.count)
        // Each placed scan's slices, their positions, and how far beyond them a slice may land.
        let placed = placements.map { placement in
            let slices = members[placement.scan]!, zs = slices.map { positions[$0]!.z }
            return (offset: placement.offset, slices: slices, zs: zs, tolerance: Self.spanTolerance * (zs[zs.count - 1] - zs[0]) + Self.spacing(of: zs))
        }
        var located = Located(boxes: [])
        for (target, position) in zip(targets, z) {
            let candidates = placed.flatMap { scan -> [Int] in
                let (zs, landing) = (scan.zs, position + scan.offset)
                guard landing >= zs[0] - scan.tolerance && landing <= zs[zs.count - 1] + scan.tolerance else { return [] }
                return zs.indices.sorted { (abs(zs[$0] - landing), $0) < (abs(zs[$1] - landing), $1) }.prefix(perScan).map { scan.slices[$0] }
            }
            if candidates.isEmpty { located.beyondSpan += 1 }
            let standardTarget = standardised(target)
            located.boxes.append(candidates.isEmpty ? nil : vote(candidates.map { bestTransform(of: thumbnails[$0], to: standardTarget, slice: $0) }
                .sorted { ($0.correlation, -$0.slice) > ($1.correlation, -$1.slice) }))
        }
        return located
    }

    /// The box of the best `voters` matches (each side's median of their mapped boxes), or
    /// none when most of them hold no structure.
    private func vote(_ found: [Match]) -> UnitBox? {
        let mapped = found.prefix(Self.voters).compactMap { match in boxes[match.slice].map { match.transform.targetBox(of: $0) } }
        guard !mapped.isEmpty, 2 * mapped.count >= min(Self.voters, found.count) else { return nil }
        return UnitBox(x0: median(mapped.map(\.x0)), y0: median(mapped.map(\.y0)), x1: median(mapped.map(\.x1)), y1: median(mapped.map(\.y1)))
    }

    /// How far beyond a training scan's span a slice may land, as a fraction of the span
    /// (plus a slice).
    static let spanTolerance: Float = 0.25
    /// Fewer slices than this say too little about where a volume lies: each is matched alone.
    static let placedSlices = 4

    /// How much a box grows beyond `margin`, as a fraction of its own width and height, up
    /// to `maximumGrowth` of the slice's longest side: a large soft organ (the stomach, the
    /// spleen) varies in extent between patients more than registration misplaces it, a
    /// vessel or the cord less (docs/tuning.md, "Atlas").
    public static let relativeMargin: Float = 0.5, maximumGrowth: Float = 0.1

    /// A unit box in `slice`'s pixels, each side grown by the larger of `margin` of the
    /// slice's longest side and (`relative`) `relativeMargin` of the box's extent, at most
    /// `maximumGrowth` of the side; inside the slice.
    public static func box(_ unit: UnitBox?, in slice: PreparedImage, margin: Double, relative: Bool = true) -> BoxPrompt? {
        guard let unit else { return nil }
        let (w, h) = (Float(slice.originalWidth), Float(slice.originalHeight))
        let (floor, ceiling) = (Float(margin) * max(w, h), maximumGrowth * max(w, h))
        let (x0, y0, x1, y1) = (unit.x0 * w, unit.y0 * h, unit.x1 * w - 1, unit.y1 * h - 1)
        let share: Float = relative ? relativeMargin : 0
        let growX = max(floor, min(ceiling, share * (x1 - x0 + 1)))
        let growY = max(floor, min(ceiling, share * (y1 - y0 + 1)))
        let box = BoxPrompt(x0: x0, y0: y0, x1: x1, y1: y1).grown(x: growX, y: growY, width: slice.originalWidth, height: slice.originalHeight)
        return box.x1 > box.x0 && box.y1 > box.y0 ? box : nil
    }
}
