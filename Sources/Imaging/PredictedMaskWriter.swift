import Foundation

/// Output formats for predicted masks.
public enum MaskFormat: String, CaseIterable, Sendable {
    /// 8-bit 0/255 PNG per 2-D image (`<name>.png`) or per slice (`<name>/<slice>.png`).
    case png
    /// `<name>.nii.gz`, uint8 0/1, on the input's own grid and header.
    case nifti
    /// `<name>.seg.dcm`, a binary DICOM Segmentation referencing a DICOM series.
    case dicomSeg = "dicom-seg"

    /// Parses "png,nifti,dicom-seg".
    public static func parseList(_ text: String) throws(WindowParseError) -> Set<MaskFormat> {
        var formats = Set<MaskFormat>()
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            guard let format = MaskFormat(rawValue: name) else {
                throw WindowParseError(message: "unknown format '\(name)': use png, nifti, dicom-seg (comma-separated)")
            }
            formats.insert(format)
        }
        if formats.isEmpty { throw WindowParseError(message: "give at least one format: png, nifti, dicom-seg") }
        return formats
    }
}

/// Writes one scan's predicted mask (canonical order, as `Predictor` returns it) in
/// each of `formats` under `folder`, named `name`: slice PNGs numbered by DICOM Instance
/// Number (else 1, 2, 3…), with `<slice>.overlay.png` outlines on `shown` when given; a
/// NIfTI on the input's grid; a DICOM SEG over the series' files with `label` as the
/// segment label. Every file is written atomically.
public func writePredictedMask(_ mask: Mask, of volume: Volume, name: String, formats: Set<MaskFormat>,
                               overlays shown: [Image]? = nil, label: String, to folder: URL) throws {
    let images = volume.slices
    let isVolume = images.count > 1
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    if formats.contains(.png) {
        let target = isVolume ? folder.appendingPathComponent(name) : folder
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        let numbers = outputSliceNumbers(images)
        for z in 0..<mask.depth {
            let stem = isVolume ? String(format: "%04d", numbers[z]) : name
            let m = mask.slice(z)
            try writeGrayPNG(m.voxels.map { $0 == 0 ? 0 : 255 }, width: m.width, height: m.height, to: target.appendingPathComponent(stem + ".png"))
            if let shown {
                try writePNG(outlineOverlay(image: shown[z], mask: m), width: m.width, height: m.height,
                             channels: 3, to: target.appendingPathComponent(stem + ".overlay.png"))
            }
        }
    }
    if formats.contains(.nifti) {
        guard volume.geometry != nil || volume.niftiHeader != nil else {
            throw InputError(file: volume.source, reason: "--format nifti needs a NIfTI volume or a DICOM series (this input has no voxel grid)")
        }
        try writeNIfTIMask(mask, like: volume, to: folder.appendingPathComponent(name + ".nii.gz"))
    }
    if formats.contains(.dicomSeg) {
        guard let geometry = volume.geometry, let stored = volume.storedSlices else {
            throw InputError(file: volume.source, reason: "--format dicom-seg needs a DICOM series (a folder of slices)")
        }
        let storedMask = Mask(width: geometry.storedSize[0], height: geometry.storedSize[1], depth: stored.count,
                              voxels: geometry.toStored(mask.voxels))
        try writeDICOMSegmentation(masks: (0..<stored.count).map { storedMask.slice($0).voxels },
                                   sources: stored.map { URL(fileURLWithPath: $0.file) },
                                   rows: geometry.storedSize[1], columns: geometry.storedSize[0], segmentLabel: label,
                                   to: folder.appendingPathComponent(name + ".seg.dcm"))
    }
}

/// Output slice numbers: the DICOM Instance Numbers when every slice has its own
/// (a series), else 1, 2, 3… (frames of one multi-frame file, NIfTI slices).
public func outputSliceNumbers(_ images: [Image]) -> [Int] {
    let instances = images.compactMap { $0.dicom?.instanceNumber }
    return instances.count == images.count && Set(instances).count == images.count ? instances : Array(1 ... images.count)
}
