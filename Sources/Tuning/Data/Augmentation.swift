import Foundation
import Imaging

/// One variant of an image and its mask, made before encoding (so in decoder mode each
/// variant's embedding is cached like any image). Flips and turns tell the tokens an
/// organ may sit anywhere; the others keep the anatomy where it is and vary what a
/// scanner varies: field of view (zoom, scale), position (shift), contrast (gamma).
public enum Augmentation: String, Sendable, CaseIterable, Codable {
    case identity, flipHorizontal, flipVertical, rotate90
    /// The image shrunk to 70% about its centre on its own background: the same anatomy
    /// in a wider field of view (a 500 mm scan against a 350 mm crop).
    case zoomOut
    /// Enlarged 1.2× about the centre (a tighter field of view), the border cropped.
    case zoomIn
    /// Moved by 10% of each side up-left, or down-right, on the image's background.
    case shiftUpLeft, shiftDownRight
    /// Windowed values v ↦ v^γ: γ 1.5 darkens mid-tones, γ 0.67 brightens them.
    case gammaDark, gammaBright
    /// The labelled structure alone made brighter or darker by `structureShift` of the
    /// window: another contrast phase (a non-contrast aorta at 40 HU is 300 HU in the
    /// arterial phase), so the tokens cannot rely on the structure's own intensity.
    case structureBrighter, structureDarker

    /// The transforms that only move pixels (deep mode draws one per step).
    public static let geometric: [Augmentation] = [.identity, .flipHorizontal, .flipVertical, .rotate90]

    static let zoomFactor = 0.7
    static let structureShift: Float = 0.35

    public func apply(to slice: LabeledSlice) -> LabeledSlice {
        switch self {
        case .identity: return slice
        case .flipHorizontal, .flipVertical, .rotate90: return moved(slice)
        case .zoomOut: return resampled(slice, scale: Self.zoomFactor, shift: (0, 0))
        case .zoomIn: return resampled(slice, scale: 1.2, shift: (0, 0))
        case .shiftUpLeft: return resampled(slice, scale: 1, shift: (-0.1, -0.1))
        case .shiftDownRight: return resampled(slice, scale: 1, shift: (0.1, 0.1))
        case .gammaDark, .gammaBright:
            var result = slice
            let gamma: Float = self == .gammaDark ? 1.5 : 1 / 1.5
            result.image.pixels = slice.image.pixels.map { powf(min(max($0, 0), 1), gamma) }
            return result
        case .structureBrighter, .structureDarker:
            let shift = self == .structureBrighter ? Self.structureShift : -Self.structureShift
            var result = slice
            let channels = slice.image.channels
            for pixel in slice.mask.voxels.indices where slice.mask.voxels[pixel] != 0 {
                for c in 0..<channels {
                    let value = slice.image.pixels[pixel * channels + c]
                    result.image.pixels[pixel * channels + c] = min(max(value + shift, 0), 1)
                }
            }
            return result
        }
    }

    /// Applies a flip or turn to row-major (height, width, channels) values.
    public func apply<T>(_ values: [T], width: Int, height: Int, channels: Int) -> (values: [T], width: Int, height: Int) {
        precondition(Self.geometric.contains(self), "\(self) needs a background value: apply(to:)")
        if self == .identity { return (values, width, height) }
        let outWidth = self == .rotate90 ? height : width
        let outHeight = self == .rotate90 ? width : height
        var out = values
        for y in 0 ..< outHeight {
            for x in 0 ..< outWidth {
                let (sx, sy): (Int, Int)
                switch self {
                case .flipHorizontal: (sx, sy) = (width - 1 - x, y)
                case .flipVertical: (sx, sy) = (x, height - 1 - y)
                // Clockwise: output (x, y) comes from input (y, height − 1 − x).
                case .rotate90: (sx, sy) = (y, height - 1 - x)
                default: (sx, sy) = (x, y)
                }
                for c in 0 ..< channels {
                    out[(y * outWidth + x) * channels + c] = values[(sy * width + sx) * channels + c]
                }
            }
        }
        return (out, outWidth, outHeight)
    }

    private func moved(_ slice: LabeledSlice) -> LabeledSlice {
        var result = slice
        let image = apply(slice.image.pixels, width: slice.image.width, height: slice.image.height, channels: slice.image.channels)
        result.image.pixels = image.values
        result.image.width = image.width
        result.image.height = image.height
        let mask = apply(slice.mask.voxels, width: slice.mask.width, height: slice.mask.height, channels: 1)
        let spacing = self == .rotate90 ? slice.mask.spacing.map { [$0[1], $0[0]] + $0.dropFirst(2) } : slice.mask.spacing
        result.mask = Mask(width: mask.width, height: mask.height, voxels: mask.values, spacing: spacing)
        return result
    }

    /// Nearest-neighbour scale about the centre by `scale`, then a move by `shift` (fractions
    /// of the width and height); uncovered pixels take the image's lowest value (air or
    /// background after windowing) and no mask.
    private func resampled(_ slice: LabeledSlice, scale k: Double, shift: (x: Double, y: Double)) -> LabeledSlice {
        let (w, h, c) = (slice.image.width, slice.image.height, slice.image.channels)
        let background = slice.image.pixels.min() ?? 0
        var pixels = [Float](repeating: background, count: w * h * c), voxels = [UInt8](repeating: 0, count: w * h)
        let ox = Double(w) * ((1 - k) / 2 + shift.x), oy = Double(h) * ((1 - k) / 2 + shift.y)
        for y in 0..<h {
            let sy = Int(((Double(y) + 0.5 - oy) / k).rounded(.down))
            guard sy >= 0 && sy < h else { continue }
            for x in 0..<w {
                let sx = Int(((Double(x) + 0.5 - ox) / k).rounded(.down))
                guard sx >= 0 && sx < w else { continue }
                for ch in 0..<c { pixels[(y * w + x) * c + ch] = slice.image.pixels[(sy * w + sx) * c + ch] }
                voxels[y * w + x] = slice.mask.voxels[sy * w + sx]
            }
        }
        var result = slice
        result.image.pixels = pixels
        result.mask = Mask(width: w, height: h, voxels: voxels, spacing: slice.mask.spacing.map { $0.map { $0 / k } })
        return result
    }
}

/// What `fit --augment` names: groups of variants, each costing one more encoder pass
/// per training slice in decoder mode.
public enum AugmentationGroup: String, Sendable, CaseIterable, Codable, Comparable {
    case flips, turns, zoom, scale, shift, intensity, contrast

    public var variants: [Augmentation] {
        switch self {
        case .flips: [.flipHorizontal, .flipVertical]
        case .turns: [.rotate90]
        case .zoom: [.zoomOut]
        case .scale: [.zoomIn]
        case .shift: [.shiftUpLeft, .shiftDownRight]
        case .intensity: [.gammaDark, .gammaBright]
        case .contrast: [.structureBrighter, .structureDarker]
        }
    }

    /// `fit`'s default, chosen on the held-out splits (docs/tuning.md, "Augmentation" and
    /// "Contrast phase"): anatomy-keeping variants beat flips and turns on gray matter and
    /// on the cross-patient liver; `contrast` lifts the one-scan organ mean from 0.450 to
    /// 0.527 (aorta 0.01 → 0.54) for 2 more images per slice (7 in all).
    public static let defaults: [AugmentationGroup] = [.zoom, .scale, .shift, .contrast]

    /// The images trained on: the originals, then each group's variants.
    public static func variants(_ groups: [AugmentationGroup]) -> [Augmentation] {
        [.identity] + groups.sorted().flatMap(\.variants)
    }

    /// "flips,turns,zoom", "none", or "all".
    public static func parseList(_ text: String) throws(AugmentationParseError) -> [AugmentationGroup] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        if names == ["none"] { return [] }
        if names == ["all"] { return allCases }
        var groups: [AugmentationGroup] = []
        for name in names {
            guard let group = AugmentationGroup(rawValue: name) else {
                throw AugmentationParseError(message: "unknown augmentation '\(name)': use \(allCases.map(\.rawValue).joined(separator: ", ")), all or none")
            }
            if !groups.contains(group) { groups.append(group) }
        }
        if groups.isEmpty { throw AugmentationParseError(message: "give augmentations (e.g. flips,turns,zoom), all, or none") }
        return groups.sorted()
    }

    public static func < (a: AugmentationGroup, b: AugmentationGroup) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

public struct AugmentationParseError: Error, Sendable {
    public let message: String
}
