import Foundation
import Imaging

/// One 2-D example: a windowed image slice (values in [0, 1]) and its mask.
public struct LabeledSlice: Sendable {
    public var caseName: String
    /// 0-based slice index within the case (0 for a 2-D image).
    public var index: Int
    public var image: Image
    public var mask: Mask
    /// Whether the case is a volume (then `name` says which slice).
    public var isVolumeSlice: Bool

    /// The case, and the slice for volumes: `liver-03#41`.
    public var name: String { isVolumeSlice ? "\(caseName)#\(index)" : caseName }
}

/// The slices of a dataset's cases, windowed, with the files that could not be used.
public struct LoadedCases: Sendable {
    public var slices: [LabeledSlice]
    public var failures: [InputError]
    /// The window each case was shown through (after `auto` was settled).
    public var windows: [String: ResolvedWindow] = [:]
    public var caseNames: [String] { Array(Set(slices.map(\.caseName))).sorted() }
}

/// Loads every case of `dataset`: each slice windowed (one window per case), with
/// its mask. A case that fails is reported in `failures`; the others still load.
public func loadLabeledSlices(_ dataset: Dataset, window: Window, labels: Set<Int>?) -> LoadedCases {
    var slices: [LabeledSlice] = []
    var failures: [InputError] = []
    var windows: [String: ResolvedWindow] = [:]
    for item in dataset.cases {
        do {
            let loaded = try loadCase(item, labels: labels)
            let resolved = resolveWindow(window, for: loaded.images)
            windows[item.name] = resolved
            let images = loaded.images.map { applyWindow(resolved, to: $0) }
            for (index, (image, mask)) in zip(images, loaded.masks).enumerated() {
                slices.append(LabeledSlice(caseName: item.name, index: index, image: image, mask: mask,
                                           isVolumeSlice: images.count > 1))
            }
        } catch let error as InputError {
            failures.append(error)
        } catch {
            failures.append(InputError(file: item.image.path, reason: "\(error)"))
        }
    }
    return LoadedCases(slices: slices, failures: failures, windows: windows)
}

/// One line per distinct window, for task.json and the log: "W 400 / L 40 (CT default (abdomen)): 3 cases".
public func windowSummary(_ windows: [String: ResolvedWindow]) -> [String] {
    let groups = Dictionary(grouping: windows.values) { $0.summary }
    return groups.keys.sorted().map { "\($0): \(groups[$0]!.count) case\(groups[$0]!.count == 1 ? "" : "s")" }
}

/// A flip or quarter turn of an image and its mask, applied before encoding
/// (so in decoder mode each variant's embedding is cached like any image).
public enum Augmentation: String, Sendable, CaseIterable, Codable {
    case identity, flipHorizontal, flipVertical, rotate90
    /// The image shrunk to 70% about its centre on its own background: the same anatomy
    /// in a wider field of view (a 500 mm scan against a 350 mm crop).
    case zoomOut

    /// The variants `fit` trains on: with augmentation, the two flips, a quarter turn and
    /// a zoom-out beside the original (the D4 group's other four add little for 4× the encoding).
    public static func variants(enabled: Bool) -> [Augmentation] {
        enabled ? allCases : [.identity]
    }

    /// The transforms that only move pixels (deep mode draws one per step).
    public static let geometric: [Augmentation] = [.identity, .flipHorizontal, .flipVertical, .rotate90]

    static let zoomFactor = 0.7

    /// Applies a flip or turn to row-major (height, width, channels) values.
    public func apply<T>(_ values: [T], width: Int, height: Int, channels: Int) -> (values: [T], width: Int, height: Int) {
        precondition(self != .zoomOut, "zoomOut needs a background value: apply(to:)")
        if self == .identity { return (values, width, height) }
        let outWidth = self == .rotate90 ? height : width
        let outHeight = self == .rotate90 ? width : height
        var out = values
        for y in 0 ..< outHeight {
            for x in 0 ..< outWidth {
                let (sx, sy): (Int, Int)
                switch self {
                case .identity: (sx, sy) = (x, y)
                case .flipHorizontal: (sx, sy) = (width - 1 - x, y)
                case .flipVertical: (sx, sy) = (x, height - 1 - y)
                // Clockwise: output (x, y) comes from input (y, height − 1 − x).
                case .rotate90: (sx, sy) = (y, height - 1 - x)
                case .zoomOut: fatalError("unreachable")
                }
                for c in 0 ..< channels {
                    out[(y * outWidth + x) * channels + c] = values[(sy * width + sx) * channels + c]
                }
            }
        }
        return (out, outWidth, outHeight)
    }

    public func apply(to slice: LabeledSlice) -> LabeledSlice {
        if self == .identity { return slice }
        if self == .zoomOut { return zoomedOut(slice) }
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

    /// Nearest-neighbour shrink about the centre; the border takes the image's lowest
    /// value (air or background after windowing) and no mask.
    private func zoomedOut(_ slice: LabeledSlice) -> LabeledSlice {
        let (w, h, c) = (slice.image.width, slice.image.height, slice.image.channels)
        let background = slice.image.pixels.min() ?? 0
        var pixels = [Float](repeating: background, count: w * h * c), voxels = [UInt8](repeating: 0, count: w * h)
        let k = Self.zoomFactor
        let ox = Double(w) * (1 - k) / 2, oy = Double(h) * (1 - k) / 2
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
