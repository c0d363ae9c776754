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
    /// The part of the stored slice that `image` and `mask` show (all of it unless the
    /// task crops to the body: FieldOfView).
    public var region: PixelRegion? = nil
    /// Millimetres between the volume's slices, when known (the atlas's positions).
    public var sliceSpacing: Double? = nil

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
/// its mask, both cropped to the body when `fieldOfView` says so. A case that fails is
/// reported in `failures`; the others still load.
public func loadLabeledSlices(_ dataset: Dataset, window: Window, labels: LabelSelection?, fieldOfView: FieldOfView = .none) -> LoadedCases {
    var slices: [LabeledSlice] = []
    var failures: [InputError] = []
    var windows: [String: ResolvedWindow] = [:]
    for item in dataset.cases {
        do {
            let loaded = try loadCase(item, labels: labels)
            let resolved = resolveWindow(window, for: loaded.images)
            windows[item.name] = resolved
            let images = loaded.images.map { applyWindow(resolved, to: $0) }
            let region = bodyRegion(ofVolume: images, fieldOfView: fieldOfView)
            for (index, (image, mask)) in zip(images, loaded.masks).enumerated() {
                slices.append(LabeledSlice(caseName: item.name, index: index, image: image.cropped(to: region),
                                           mask: mask.cropped(to: region), isVolumeSlice: images.count > 1, region: region,
                                           sliceSpacing: images.count > 1 ? loaded.spacing.flatMap { $0.count > 2 ? $0[2] : nil } : nil))
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
