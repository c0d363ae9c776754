import Foundation

/// A DICOM SEG's first segment as a 3-D mask in the canonical order of the series it
/// segments (`readVolume(at: series)` gives the images in that order): each frame goes to
/// the slice of the instance it references; slices without a frame are empty.
public func readSegmentationMask(at url: URL, series: URL) throws -> Mask {
    let seg = try readDICOMSegmentation(at: url)
    let volume = try readVolume(at: series)
    guard let geometry = volume.geometry, let stored = volume.storedSlices else {
        throw InputError(file: series.path, reason: "not a DICOM series folder, which a DICOM SEG's frames need to be placed")
    }
    guard seg.rows == geometry.storedSize[1], seg.columns == geometry.storedSize[0] else {
        throw InputError(file: url.path, reason: "frames are \(seg.columns)×\(seg.rows), the series \(series.path) is \(geometry.storedSize[0])×\(geometry.storedSize[1])")
    }
    let uids = try stored.map { slice -> String in
        guard let uid = slice.sopInstanceUID, !uid.isEmpty else {
            throw InputError(file: slice.file, reason: "has no SOP Instance UID, so a DICOM SEG's frames cannot be matched to it")
        }
        return uid
    }
    let unknown = Set(seg.frames.filter { $0.value.contains(1) }.keys).subtracting(uids)
    guard unknown.isEmpty else {
        throw InputError(file: url.path, reason: "segments \(unknown.count) instance\(unknown.count == 1 ? "" : "s") that are not in \(series.path) (e.g. \(unknown.sorted()[0]))")
    }
    let perSlice = seg.rows * seg.columns
    let voxels = uids.flatMap { seg.frames[$0] ?? [UInt8](repeating: 0, count: perSlice) }
    let size = geometry.canonicalSize
    return Mask(width: size[0], height: size[1], depth: size[2], voxels: geometry.toCanonical(voxels), spacing: volume.spacing)
}
