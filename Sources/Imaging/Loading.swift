import Foundation

/// Reads any image input as 2-D images: a PNG or JPEG (one image), a DICOM file (one
/// image per frame), a NIfTI volume (its axial slices), or a folder holding one DICOM
/// series (its slices, sorted along the slice normal). Values are modality values
/// (DICOM, NIfTI) or stored samples (PNG, JPEG), before any window.
public func readImages(at url: URL) throws -> [Image] {
    try readVolume(at: url).slices
}

/// Like `readImages`, with the slice spacing of volumes. A folder with more than one
/// series is an error that lists them (use `scanDICOMFolder` to read each).
public func readVolume(at url: URL) throws -> Volume {
    if try isExistingFolder(url) {
        let scan = try scanDICOMFolder(at: url)
        guard scan.series.count == 1 else {
            let list = scan.series.map { "\($0.seriesInstanceUID ?? "no UID") (\($0.slices.count) slice\($0.slices.count == 1 ? "" : "s"))" }.joined(separator: ", ")
            throw InputError(file: url.path, reason: scan.series.isEmpty ? "no readable DICOM series" : "holds \(scan.series.count) DICOM series: \(list)")
        }
        return scan.series[0]
    }
    switch FileKind(url) {
    case .png:
        let image = try readPNG(at: url)
        return Volume(slices: [image], spacing: nil, source: url.path)
    case .jpeg:
        let image = try readJPEG(at: url)
        return Volume(slices: [image], spacing: nil, source: url.path)
    case .nifti:
        return try readNIfTIVolume(at: url)
    case .nrrd:
        return try readNRRD(at: url).grid.volume(source: url.path)
    case .metaImage:
        return try readMetaImage(at: url).volume(source: url.path)
    case .dicom, .unknown:
        // DICOM files often have no extension at all.
        let frames = try readDICOM(at: url)
        var spacing: [Double]?
        if let xy = frames.first?.pixelSpacing, let z = frames.first?.dicom?.sliceThickness { spacing = [xy.x, xy.y, z] }
        return Volume(slices: frames, spacing: spacing, source: url.path, seriesInstanceUID: frames.first?.dicom?.seriesInstanceUID)
    }
}
