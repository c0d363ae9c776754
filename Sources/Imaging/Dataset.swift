import Foundation

/// Image/mask pairs found in a dataset folder.
///
/// Layouts: `images/<case>.(dcm|png|jpg|jpeg|nii|nii.gz)` or `images/<case>/` (a DICOM
/// series) with `masks/<case>.(png|nii|nii.gz)` or `masks/<case>/<slice>.png` (slice =
/// Instance Number, zero-padded to 4 digits); and nnU-Net's `imagesTr/<case>_0000.nii.gz`
/// with `labelsTr/<case>.nii.gz`.
public struct Dataset: Sendable {
    public enum Layout: String, Sendable { case imagesMasks = "images/ + masks/", nnUNet = "nnU-Net imagesTr/ + labelsTr/" }

    public struct Case: Sendable {
        public var name: String
        /// A file, or a folder holding one DICOM series.
        public var image: URL
        /// A file, or a folder of per-slice PNGs (`maskIsSliceFolder`).
        public var mask: URL
        public var maskIsSliceFolder: Bool
    }

    public var root: URL
    public var layout: Layout
    public var cases: [Case]
    /// Files and folders that have no partner (or are of no known kind); not used.
    public var unpaired: [URL]

    /// One line for the user when something was left out, else nil.
    public var unpairedWarning: String? {
        guard !unpaired.isEmpty else { return nil }
        let prefix = root.standardizedFileURL.path + "/"
        let names = unpaired.map { u -> String in
            let p = u.standardizedFileURL.path
            return p.hasPrefix(prefix) ? String(p.dropFirst(prefix.count)) : p
        }
        return "\(root.path): \(unpaired.count) unpaired file\(unpaired.count == 1 ? "" : "s") not used: \(names.joined(separator: ", "))"
    }
}

/// Finds the image/mask pairs of a dataset folder; an error if it has neither layout.
public func discoverDataset(at root: URL) throws -> Dataset {
    guard let dataset = try discoverDatasetIfPresent(at: root) else {
        throw InputError(file: root.path, reason: "not a dataset folder (expected images/ and masks/, or imagesTr/ and labelsTr/)")
    }
    return dataset
}

/// Like `discoverDataset`, but nil when the folder has neither `images/` nor `imagesTr/`.
public func discoverDatasetIfPresent(at root: URL) throws -> Dataset? {
    for (layout, imagesName, masksName) in [(Dataset.Layout.imagesMasks, "images", "masks"), (.nnUNet, "imagesTr", "labelsTr")] {
        let images = root.appendingPathComponent(imagesName)
        guard isFolder(images) else { continue }
        let masks = root.appendingPathComponent(masksName)
        guard isFolder(masks) else { throw InputError(file: root.path, reason: "has \(imagesName)/ but no \(masksName)/ folder") }
        return try pair(root: root, layout: layout, images: images, masks: masks)
    }
    return nil
}

private func pair(root: URL, layout: Dataset.Layout, images: URL, masks: URL) throws -> Dataset {
    var unpaired: [URL] = []
    var imageByCase: [String: URL] = [:]
    for url in try entries(images) {
        let name: String?
        if layout == .nnUNet {
            // Channel 0 is the image; further channels (_0001, …) are other modalities.
            let stem = caseName(url, kinds: ["nii.gz", "nii", "nrrd", "mha"])
            name = stem.flatMap { $0.hasSuffix("_0000") ? String($0.dropLast(5)) : nil }
        } else {
            name = isFolder(url) ? url.lastPathComponent : caseName(url, kinds: ["nii.gz", "nii", "nrrd", "nhdr", "mha", "mhd", "dcm", "png", "jpg", "jpeg"])
        }
        if let name, imageByCase[name] == nil { imageByCase[name] = url } else { unpaired.append(url) }
    }
    var maskByCase: [String: URL] = [:]
    for url in try entries(masks) {
        let name = isFolder(url) ? (layout == .imagesMasks ? url.lastPathComponent : nil)
                                 : caseName(url, kinds: layout == .nnUNet ? ["nii.gz", "nii", "nrrd", "mha"] : ["nii.gz", "nii", "seg.nrrd", "nrrd", "nhdr", "mha", "mhd", "png"])
        if let name, maskByCase[name] == nil { maskByCase[name] = url } else { unpaired.append(url) }
    }
    var cases: [Dataset.Case] = []
    for name in imageByCase.keys.sorted() {
        guard let mask = maskByCase.removeValue(forKey: name) else { unpaired.append(imageByCase[name]!); continue }
        cases.append(Dataset.Case(name: name, image: imageByCase[name]!, mask: mask, maskIsSliceFolder: isFolder(mask)))
    }
    unpaired += maskByCase.values
    return Dataset(root: root, layout: layout, cases: cases, unpaired: unpaired.sorted { $0.path < $1.path })
}

private func entries(_ folder: URL) throws -> [URL] {
    do {
        return try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { !$0.hasPrefix(".") }.sorted().map { folder.appendingPathComponent($0) }
    } catch {
        throw InputError(file: folder.path, reason: "cannot list the folder (\(error.localizedDescription))")
    }
}

/// The file name without one of the given extensions (case-insensitive), or nil.
private func caseName(_ url: URL, kinds: [String]) -> String? {
    let name = url.lastPathComponent
    for kind in kinds where name.lowercased().hasSuffix("." + kind) {
        return String(name.dropLast(kind.count + 1))
    }
    return nil
}

/// What a path names: the one place that asks the file system (`isFolder`, `folderOrFile`).
public enum PathEntry: Sendable {
    case missing, file, folder

    public init(_ url: URL) {
        var folder: ObjCBool = false
        self = !FileManager.default.fileExists(atPath: url.path, isDirectory: &folder) ? .missing : folder.boolValue ? .folder : .file
    }
}

public func isFolder(_ url: URL) -> Bool { PathEntry(url) == .folder }

/// Whether `url` is a folder; a missing path is the error every reader gives for it.
public func isExistingFolder(_ url: URL) throws(InputError) -> Bool {
    switch PathEntry(url) {
    case .missing: throw InputError(file: url.path, reason: "no such file or folder")
    case .file: return false
    case .folder: return true
    }
}

/// One case's slices with their 2-D masks, checked to have the same sizes.
public struct LabeledCase: Sendable {
    public var name: String
    public var images: [Image]
    /// One 2-D mask per image.
    public var masks: [Mask]
    /// x, y, z spacing of the image volume (mm), when known.
    public var spacing: [Double]?
    /// Instance Numbers of slices with no file in a per-slice mask folder (taken as empty).
    public var slicesWithoutMaskFile: [Int]
}

/// Loads a case: its image slices and, for each, its mask. A size mismatch is an
/// error naming both files. `labels` selects label values or Slicer segment names (nil:
/// nonzero is foreground).
public func loadCase(_ item: Dataset.Case, labels: LabelSelection? = nil) throws -> LabeledCase {
    let volume = try readVolume(at: item.image)
    let images = volume.slices
    var masks: [Mask] = []
    var missing: [Int] = []
    func mismatch(_ mask: URL, _ maskSize: String, _ imageSize: String) -> InputError {
        InputError(file: mask.path, reason: "mask is \(maskSize), its image \(item.image.path) is \(imageSize)")
    }
    if item.maskIsSliceFolder {
        // Slice PNGs belong to the stored slices: a reoriented series stacks them in stored
        // order and reorients the stack like its images.
        let reoriented = volume.geometry.flatMap { $0.isIdentity ? nil : $0 }
        let numbers: [Int], width: Int, height: Int
        if let geometry = reoriented, let stored = volume.storedSlices {
            numbers = stored.enumerated().map { $1.instanceNumber ?? $0 + 1 }
            (width, height) = (geometry.storedSize[0], geometry.storedSize[1])
        } else {
            numbers = images.enumerated().map { $1.dicom?.instanceNumber ?? $0 + 1 }
            (width, height) = (images[0].width, images[0].height)
        }
        var stack: [Mask] = []
        for number in numbers {
            let url = item.mask.appendingPathComponent(String(format: "%04d.png", number))
            guard FileManager.default.fileExists(atPath: url.path) else {
                missing.append(number)
                stack.append(.empty(width: width, height: height))
                continue
            }
            let mask = try readMask(at: url, selecting: labels)
            guard mask.width == width, mask.height == height else {
                throw mismatch(url, "\(mask.width)×\(mask.height)", "\(width)×\(height) (slice \(number))")
            }
            stack.append(mask)
        }
        if let geometry = reoriented {
            let size = geometry.canonicalSize
            let canonical = Mask(width: size[0], height: size[1], depth: size[2], voxels: geometry.toCanonical(Mask(stacking: stack).voxels))
            masks = (0..<size[2]).map(canonical.slice)
        } else {
            masks = stack
        }
    } else {
        let mask = try readMask(at: item.mask, selecting: labels)
        let first = images[0]
        guard mask.width == first.width, mask.height == first.height, mask.depth == images.count else {
            throw mismatch(item.mask, "\(mask.width)×\(mask.height)×\(mask.depth)", "\(first.width)×\(first.height)×\(images.count)")
        }
        let perSlice = mask.width * mask.height
        masks = (0..<mask.depth).map { z in
            Mask(width: mask.width, height: mask.height,
                 voxels: Array(mask.voxels[(z * perSlice)..<((z + 1) * perSlice)]),
                 spacing: mask.spacing.map { Array($0.prefix(2)) } ?? volume.spacing.map { Array($0.prefix(2)) })
        }
    }
    return LabeledCase(name: item.name, images: images, masks: masks, spacing: volume.spacing, slicesWithoutMaskFile: missing)
}
