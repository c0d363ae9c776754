import CDICOM
import Foundation

/// A coded concept (DICOM Code Sequence Macro), e.g. SCT 10200004 "Liver".
public struct DICOMCode: Sendable, Equatable {
    public var value: String
    public var scheme: String
    public var meaning: String

    public init(_ value: String, scheme: String, meaning: String) {
        self.value = value
        self.scheme = scheme
        self.meaning = meaning
    }

    /// The generic segmented property category (CID 7150) when nothing more is known.
    public static let anatomicalStructureCategory = DICOMCode("123037004", scheme: "SCT", meaning: "Anatomical Structure")
    /// The generic segmented property type (CID 7151) when nothing more is known.
    public static let anatomicalStructure = DICOMCode("91723000", scheme: "SCT", meaning: "Anatomical Structure")
}

/// Writes binary masks, one per source slice (`masks[k]` is rows × columns, nonzero = inside,
/// for `sources[k]`), as a DICOM Segmentation with one segment that viewers file with the
/// source series: same patient, study and frame of reference, a new series.
///
/// Only slices with something inside are stored as frames (all of them when every mask is
/// empty); the SEG still references every source, and `readDICOMSegmentation` returns empty
/// masks for the slices without a frame. The sources must be single-frame slices of one
/// series with one size and orientation, placed in a frame of reference (Frame of Reference
/// UID, Image Position/Orientation). The file appears complete or not at all.
public func writeDICOMSegmentation(
    masks: [[UInt8]], sources: [URL], rows: Int, columns: Int, segmentLabel: String,
    category: DICOMCode = .anatomicalStructureCategory, type: DICOMCode = .anatomicalStructure,
    to url: URL
) throws {
    guard masks.count == sources.count else {
        throw InputError(file: url.path, reason: "\(masks.count) masks for \(sources.count) source slices")
    }
    if let k = masks.firstIndex(where: { $0.count != rows * columns }) {
        throw InputError(file: url.path, reason: "mask \(k) has \(masks[k].count) pixels, \(rows)x\(columns) expected")
    }
    let frames = masks.flatMap { $0 }
    var error = [CChar](repeating: 0, count: 512)
    let paths = sources.map { strdup($0.path) }
    defer { paths.forEach { free($0) } }
    let status = withCode(category) { category in
        withCode(type) { type in
            paths.map { UnsafePointer($0) }.withUnsafeBufferPointer { pathPointers in
                cdicom_write_binary_seg_coded(
                    url.path, pathPointers.baseAddress, Int32(paths.count), frames, Int32(rows), Int32(columns),
                    segmentLabel, category, type, &error)
            }
        }
    }
    guard status == 0 else {
        throw InputError(file: url.path, reason: error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
}

/// A binary DICOM Segmentation as segtune uses it: the masks of its first segment.
public struct DICOMSegmentation: Sendable {
    public var rows: Int
    public var columns: Int
    public var segmentLabel: String
    /// The first series in the Referenced Series Sequence, nil when the file has none.
    public var referencedSeriesUID: String?
    /// rows × columns masks (0 or 1) by referenced SOP Instance UID: every instance in the
    /// Referenced Series Sequence (zeros where no frame is stored) and every frame's source.
    public var frames: [String: [UInt8]]
}

/// Reads a binary DICOM Segmentation; throws `InputError` for a file that is not one, or is damaged.
public func readDICOMSegmentation(at url: URL) throws -> DICOMSegmentation {
    var raw = cdicom_seg()
    let status = url.path.withCString { cdicom_read_binary_seg($0, &raw) }
    defer { cdicom_seg_free(&raw) }
    guard status == 0 else { throw InputError(file: url.path, reason: cString(raw.error)) }
    let rows = Int(raw.rows), columns = Int(raw.columns), pixels = rows * columns
    var frames: [String: [UInt8]] = [:]
    for i in 0..<Int(raw.referenced_instances) {
        frames[cString(raw.referenced_instance_uids![i])] = [UInt8](repeating: 0, count: pixels)
    }
    for f in 0..<Int(raw.frames) where raw.frame_segments![f] == 1 {
        let uid = cString(raw.frame_source_uids![f])
        let mask = UnsafeBufferPointer(start: raw.pixels! + f * pixels, count: pixels)
        // Two frames of one segment on one slice (legal, if unusual) are merged.
        var merged = frames[uid] ?? [UInt8](repeating: 0, count: pixels)
        for p in 0..<pixels where mask[p] != 0 { merged[p] = 1 }
        frames[uid] = merged
    }
    let series = cString(raw.referenced_series_uid)
    return DICOMSegmentation(
        rows: rows, columns: columns, segmentLabel: cString(raw.segment_label),
        referencedSeriesUID: series.isEmpty ? nil : series, frames: frames)
}

private func withCode<R>(_ code: DICOMCode, _ body: (UnsafePointer<cdicom_code>) -> R) -> R {
    code.value.withCString { value in
        code.scheme.withCString { scheme in
            code.meaning.withCString { meaning in
                var c = cdicom_code(value: value, scheme: scheme, meaning: meaning)
                return withUnsafePointer(to: &c) { body($0) }
            }
        }
    }
}
