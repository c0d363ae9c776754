import Foundation

/// Output formats for predicted masks.
public enum MaskFormat: String, CaseIterable, Sendable {
    /// 8-bit 0/255 PNG per 2-D image (`<name>.png`) or per slice (`<name>/<slice>.png`).
    case png
    /// `<name>.nii.gz`, uint8 0/1, on the input's own grid and header.
    case nifti
    /// `<name>.seg.dcm`, a binary DICOM Segmentation referencing a DICOM series.
    case dicomSeg = "dicom-seg"
    /// `<name>.nrrd`, uint8 0/1, on the input's stored grid in LPS space (3D Slicer, ITK).
    case nrrd
    /// `<name>.seg.nrrd`, the same as a 3D Slicer segmentation: one segment named by the task.
    case segNrrd = "seg.nrrd"
    /// `<name>.rtstruct.dcm`, a DICOM RT Structure Set: one ROI named by the task, its
    /// contours in patient coordinates on a DICOM series' slices (radiotherapy planning).
    case rtstruct

    /// Parses "png,nifti,dicom-seg,nrrd,seg.nrrd,rtstruct".
    public static func parseList(_ text: String) throws(MaskFormatParseError) -> Set<MaskFormat> {
        var formats = Set<MaskFormat>()
        for name in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) {
            guard let format = MaskFormat(rawValue: name) else {
                throw MaskFormatParseError(message: "unknown format '\(name)': use png, nifti, dicom-seg, rtstruct, nrrd, seg.nrrd (comma-separated)")
            }
            formats.insert(format)
        }
        if formats.isEmpty { throw MaskFormatParseError(message: "give at least one format: png, nifti, dicom-seg, rtstruct, nrrd, seg.nrrd") }
        return formats
    }
}

public struct MaskFormatParseError: Error, Sendable {
    public let message: String
}

/// Writes one scan's predicted mask (canonical order, as `Predictor` returns it) in
/// each of `formats` under `folder`, named `name`: slice PNGs numbered by DICOM Instance
/// Number (else 1, 2, 3…), with `<slice>.overlay.png` outlines on `shown` when given; a
/// NIfTI on the input's grid; a DICOM SEG over the series' files with `label` as the
/// segment label, and an RTSTRUCT with `label` as the ROI name. Every file is written atomically, and a volume's slice folder as a
/// whole (see `AtomicFiles`): so `predictedMaskExists` can tell a finished case from a
/// half-written one.
public func writePredictedMask(_ mask: Mask, of volume: Volume, name: String, formats: Set<MaskFormat>,
                               overlays shown: [Image]? = nil, label: String, to folder: URL) throws {
    let images = volume.slices
    // Refused before anything is written: a case gets all its outputs or none.
    for format in [MaskFormat.nifti, .nrrd, .segNrrd] where formats.contains(format) && volume.geometry == nil && volume.niftiHeader == nil {
        throw InputError(file: volume.source, reason: "--format \(format.rawValue) needs a volume (NIfTI, NRRD, MetaImage or a DICOM series); this input has no voxel grid")
    }
    for format in [MaskFormat.dicomSeg, .rtstruct] where formats.contains(format) && (volume.geometry == nil || volume.storedSlices == nil) {
        throw InputError(file: volume.source, reason: "--format \(format.rawValue) needs a DICOM series (a folder of slices)")
    }
    try AtomicFiles.createFolder(folder)
    if formats.contains(.png) {
        func writeSlices(into target: URL, stems: [String]) throws {
            for z in 0..<mask.depth {
                let m = mask.slice(z)
                if let shown {
                    try writePNG(outlineOverlay(image: shown[z], mask: m), width: m.width, height: m.height,
                                 channels: 3, to: target.appendingPathComponent(stems[z] + ".overlay.png"))
                }
                try writeGrayPNG(m.voxels.map { $0 == 0 ? 0 : 255 }, width: m.width, height: m.height,
                                 to: target.appendingPathComponent(stems[z] + ".png"))
            }
        }
        if images.count > 1 {
            let final = folder.appendingPathComponent(name)
            let temporary = AtomicFiles.temporary(beside: final)
            do {
                try AtomicFiles.createFolder(temporary, intermediates: false)
                try writeSlices(into: temporary, stems: outputSliceNumbers(images).map { String(format: "%04d", $0) })
                try AtomicFiles.moveIntoPlace(temporary, at: final)
            } catch let error as InputError {
                try? FileManager.default.removeItem(at: temporary)
                // Named as the user will look for it, not as the hidden temporary folder.
                throw InputError(file: error.file.replacingOccurrences(of: temporary.path, with: final.path), reason: error.reason)
            } catch {
                try? FileManager.default.removeItem(at: temporary)
                throw error
            }
        } else {
            try writeSlices(into: folder, stems: [name])   // the mask last: its presence means both are there
        }
    }
    if formats.contains(.nifti) {
        try writeNIfTIMask(mask, like: volume, to: folder.appendingPathComponent(name + ".nii.gz"))
    }
    if formats.contains(.nrrd) {
        try writeNRRDMask(mask, like: volume, to: folder.appendingPathComponent(name + ".nrrd"))
    }
    if formats.contains(.segNrrd) {
        try writeNRRDMask(mask, like: volume, segment: label, to: folder.appendingPathComponent(name + ".seg.nrrd"))
    }
    if formats.contains(.dicomSeg) {
        try writeOverSeries(mask, of: volume, to: folder.appendingPathComponent(name + ".seg.dcm")) { slices, sources, rows, columns, temporary in
            try writeDICOMSegmentation(masks: slices, sources: sources, rows: rows, columns: columns, segmentLabel: label, to: temporary)
        }
    }
    if formats.contains(.rtstruct) {
        try writeOverSeries(mask, of: volume, to: folder.appendingPathComponent(name + ".rtstruct.dcm")) { slices, sources, rows, columns, temporary in
            try writeRTStructure(rois: [RTStructROI(name: label, masks: slices)], sources: sources, rows: rows, columns: columns, to: temporary)
        }
    }
}

/// A DICOM object that references the series' own files (SEG, RTSTRUCT): `write` gets the
/// mask slice by slice in the files' stored order, the files, rows and columns, and a
/// temporary beside `final`. DCMTK writes its own temporary beside that one, so a killed
/// run leaves only names `AtomicFiles.removeStaleTemporaries` knows; errors name `final`,
/// and the file is renamed into place last.
private func writeOverSeries(_ mask: Mask, of volume: Volume, to final: URL,
                             _ write: ([[UInt8]], [URL], Int, Int, URL) throws -> Void) throws {
    let (geometry, stored) = (volume.geometry!, volume.storedSlices!)
    let (columns, rows) = (geometry.storedSize[0], geometry.storedSize[1])
    let storedMask = Mask(width: columns, height: rows, depth: stored.count, voxels: geometry.toStored(mask.voxels))
    let temporary = AtomicFiles.temporary(beside: final)
    do {
        try write((0..<stored.count).map { storedMask.slice($0).voxels }, stored.map { URL(fileURLWithPath: $0.file) },
                  rows, columns, temporary)
    } catch let error as InputError {
        throw InputError(file: final.path, reason: error.reason)
    }
    try AtomicFiles.moveIntoPlace(temporary, at: final)
}

/// Whether every output `writePredictedMask` writes for `name` in `formats` (and the
/// overlays, when asked) is in `folder`. Each file, and a volume's slice folder, appears
/// whole or not at all, so presence means complete.
public func predictedMaskExists(name: String, formats: Set<MaskFormat>, overlays: Bool, in folder: URL) -> Bool {
    let files = FileManager.default
    func exists(_ file: String) -> Bool { files.fileExists(atPath: folder.appendingPathComponent(file).path) }
    if formats.contains(.png) {
        let sliceFolder = folder.appendingPathComponent(name)
        if isFolder(sliceFolder) {
            let entries = (try? files.contentsOfDirectory(atPath: sliceFolder.path)) ?? []
            let overlayCount = entries.filter { $0.hasSuffix(".overlay.png") }.count
            let maskCount = entries.filter { $0.hasSuffix(".png") }.count - overlayCount
            guard maskCount > 0, !overlays || overlayCount == maskCount else { return false }
        } else if !exists(name + ".png") || (overlays && !exists(name + ".overlay.png")) {
            return false
        }
    }
    if formats.contains(.nifti) && !exists(name + ".nii.gz") { return false }
    if formats.contains(.dicomSeg) && !exists(name + ".seg.dcm") { return false }
    if formats.contains(.rtstruct) && !exists(name + ".rtstruct.dcm") { return false }
    if formats.contains(.nrrd) && !exists(name + ".nrrd") { return false }
    if formats.contains(.segNrrd) && !exists(name + ".seg.nrrd") { return false }
    return true
}

/// Output slice numbers: the DICOM Instance Numbers when every slice has its own
/// (a series), else 1, 2, 3… (frames of one multi-frame file, NIfTI slices).
public func outputSliceNumbers(_ images: [Image]) -> [Int] {
    let instances = images.compactMap { $0.dicom?.instanceNumber }
    return instances.count == images.count && Set(instances).count == images.count ? instances : Array(1 ... images.count)
}
