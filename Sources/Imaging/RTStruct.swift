import CDICOM
import Foundation

/// One ROI of an RT Structure Set to write: a mask per source slice (rows × columns,
/// nonzero = inside), traced into contours by `traceContours`.
public struct RTStructROI: Sendable {
    public var name: String
    /// ROI Display Color, RGB.
    public var color: [UInt8]
    public var masks: [[UInt8]]

    public init(name: String, color: [UInt8]? = nil, masks: [[UInt8]]) {
        self.name = name
        self.color = color ?? roiDisplayColor(for: name)
        self.masks = masks
    }
}

/// A colour per ROI name, the same every run, so that two tasks' structures loaded
/// together in a viewer differ.
public func roiDisplayColor(for name: String) -> [UInt8] {
    let palette: [[UInt8]] = [[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                              [145, 30, 180], [70, 240, 240], [240, 50, 230]]
    var hash: UInt32 = 2_166_136_261  // FNV-1a: stable across runs, unlike Hasher
    for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
    return palette[Int(hash % UInt32(palette.count))]
}

/// Writes an RT Structure Set over `sources` (single-frame slices of one series in one
/// Frame of Reference), one ROI per entry: every boundary of every component of each
/// slice's mask as a CLOSED_PLANAR contour in patient coordinates, referencing its slice.
/// Patient and study are the sources'; the file appears complete or not at all.
public func writeRTStructure(rois: [RTStructROI], sources: [URL], rows: Int, columns: Int, to url: URL) throws {
    var traced: [[(slice: Int, xy: [Double])]] = []
    for roi in rois {
        guard roi.masks.count == sources.count else {
            throw InputError(file: url.path, reason: "\(roi.masks.count) masks for \(sources.count) source slices")
        }
        guard roi.color.count == 3 else {
            throw InputError(file: url.path, reason: "ROI \"\(roi.name)\" has \(roi.color.count) colour components, 3 (RGB) expected")
        }
        if let k = roi.masks.firstIndex(where: { $0.count != rows * columns }) {
            throw InputError(file: url.path, reason: "mask \(k) has \(roi.masks[k].count) pixels, \(rows)x\(columns) expected")
        }
        traced.append(roi.masks.enumerated().flatMap { k, mask in
            traceContours(mask, width: columns, height: rows).map { (k, $0.points.flatMap { [$0.x, $0.y] }) }
        })
    }
    var error = [CChar](repeating: 0, count: 512)
    let paths = sources.map { strdup($0.path) }
    let names = rois.map { strdup($0.name) }
    defer { (paths + names).forEach { free($0) } }
    // The C structs point into `traced`, which outlives the call.
    let status = withContourStructs(traced) { contourLists in
        let cROIs = rois.indices.map { r in
            cdicom_rt_roi(name: names[r], color: (rois[r].color[0], rois[r].color[1], rois[r].color[2]),
                          contours: contourLists[r].baseAddress, n_contours: Int32(contourLists[r].count))
        }
        return paths.map { UnsafePointer($0) }.withUnsafeBufferPointer { pathPointers in
            cdicom_write_rtstruct(url.path, pathPointers.baseAddress, Int32(paths.count), cROIs, Int32(cROIs.count), &error)
        }
    }
    guard status == 0 else {
        throw InputError(file: url.path, reason: error.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
    }
}

private func withContourStructs<R>(_ traced: [[(slice: Int, xy: [Double])]],
                                   _ body: ([UnsafeBufferPointer<cdicom_rt_contour>]) -> R) -> R {
    let points = traced.map { $0.map { $0.xy } }
    var buffers: [UnsafeMutableBufferPointer<cdicom_rt_contour>] = []
    var pointBuffers: [UnsafeMutableBufferPointer<Double>] = []
    defer {
        buffers.forEach { $0.deallocate() }
        pointBuffers.forEach { $0.deallocate() }
    }
    for (r, contours) in traced.enumerated() {
        let buffer = UnsafeMutableBufferPointer<cdicom_rt_contour>.allocate(capacity: max(1, contours.count))
        for (c, contour) in contours.enumerated() {
            let xy = UnsafeMutableBufferPointer<Double>.allocate(capacity: points[r][c].count)
            _ = xy.initialize(from: points[r][c])
            pointBuffers.append(xy)
            buffer[c] = cdicom_rt_contour(slice: Int32(contour.slice), points: Int32(contour.xy.count / 2), xy: xy.baseAddress)
        }
        buffers.append(buffer)
    }
    return body(zip(buffers, traced).map { UnsafeBufferPointer(rebasing: $0[0..<$1.count]) })
}

/// One ROI of an RT Structure Set, placed on a series: its contours in the pixel
/// coordinates of the series slice each lies on.
public struct RTStructContours: Sendable {
    /// Every ROI's name, in file order, and which one was read.
    public var roiNames: [String]
    public var chosen: Int
    public var contours: [(slice: Int, points: [SIMD2<Double>])]
}

/// Reads the ROI named `roi` (nil: the first) of an RT Structure Set on the series whose
/// slice files are `slices` (in the order the contours' slice indices refer to). Throws
/// `InputError` naming the file for one that is no RTSTRUCT, an ROI in another Frame of
/// Reference, or a contour that is open or lies on no slice.
public func readRTStructContours(at url: URL, slices: [URL], roi: String?) throws -> RTStructContours {
    var raw = cdicom_rtstruct()
    let paths = slices.map { strdup($0.path) }
    defer { paths.forEach { free($0) } }
    let status = paths.map { UnsafePointer($0) }.withUnsafeBufferPointer { pointers in
        cdicom_read_rtstruct(url.path, pointers.baseAddress, Int32(paths.count), roi, &raw)
    }
    defer { cdicom_rtstruct_free(&raw) }
    guard status == 0 else { throw InputError(file: url.path, reason: cString(raw.error)) }
    let names = (0..<Int(raw.rois)).map { cString(raw.roi_names![$0]) }
    let contours = (0..<Int(raw.contours)).map { c in
        let start = Int(raw.contour_starts![c]), end = Int(raw.contour_starts![c + 1])
        return (slice: Int(raw.contour_slices![c]), points: (start..<end).map { SIMD2(raw.xy![2 * $0], raw.xy![2 * $0 + 1]) })
    }
    return RTStructContours(roiNames: names, chosen: Int(raw.chosen), contours: contours)
}

/// An RT Structure Set's ROI as a 3-D mask in the canonical order of the series it
/// outlines (`readVolume(at: series)` gives the images in that order): each slice's
/// contours filled even-odd at pixel centres (`fillEvenOdd`). Returns the ROI read and
/// every ROI's name, so that a caller can say which it took.
public func readRTStructMask(at url: URL, series: URL, roi: String?) throws -> (mask: Mask, roi: String, roiNames: [String]) {
    let volume = try readVolume(at: series)
    guard let geometry = volume.geometry, let stored = volume.storedSlices else {
        throw InputError(file: series.path, reason: "not a DICOM series folder, which an RTSTRUCT's contours need to be placed")
    }
    let read = try readRTStructContours(at: url, slices: stored.map { URL(fileURLWithPath: $0.file) }, roi: roi)
    let (width, height) = (geometry.storedSize[0], geometry.storedSize[1])
    var voxels: [UInt8] = []
    voxels.reserveCapacity(width * height * stored.count)
    for k in stored.indices {
        voxels += fillEvenOdd(read.contours.filter { $0.slice == k }.map(\.points), width: width, height: height)
    }
    let size = geometry.canonicalSize
    let mask = Mask(width: size[0], height: size[1], depth: size[2], voxels: geometry.toCanonical(voxels), spacing: volume.spacing)
    return (mask, read.roiNames[read.chosen], read.roiNames)
}

/// Whether a file is an RT Structure Set: named `*.rtstruct.dcm` (as segtune writes
/// them), or a `.dcm` whose SOP Class says so (as planning systems export them).
public func isRTStructFile(_ url: URL) -> Bool {
    let name = url.lastPathComponent.lowercased()
    if name.hasSuffix(".rtstruct.dcm") { return true }
    guard name.hasSuffix(".dcm"), !name.hasSuffix(".seg.dcm") else { return false }
    return url.path.withCString { cdicom_is_rtstruct($0) } == 1
}
