import Foundation
import Imaging

/// One case to score. Each side is a mask file, or a folder of slice PNGs that
/// stack (in natural name order) into one 3-D volume; a slice folder may be
/// scored against a NIfTI volume.
public struct CasePair: Sendable {
    public var name: String
    public var prediction: URL
    public var reference: URL
    /// Slice file names in stacking order when that side is a folder; nil for a file.
    public var predictionSlices: [String]?
    public var referenceSlices: [String]?
}

/// What pairing two inputs found.
public struct Pairing: Sendable {
    public var cases: [CasePair] = []
    /// Files or folders with no counterpart on the other side.
    public var unpaired: [URL] = []
    /// Inputs that can be paired but not used (a stack whose slices differ, two files for one case).
    public var failures: [InputError] = []
}

/// Pairs a prediction with a reference: two mask files (one case, named after the
/// reference), or two folders whose entries pair by name: `<case>.png`,
/// `<case>.nii(.gz)`, and `<case>/` folders of slice PNGs (one 3-D case each).
/// Other files are ignored.
public func pairInputs(prediction: URL, reference: URL) throws -> Pairing {
    let predFolder = try isExistingFolder(prediction), refFolder = try isExistingFolder(reference)
    guard predFolder == refFolder else {
        throw InputError(file: (predFolder ? prediction : reference).path,
                         reason: "is a folder while \((predFolder ? reference : prediction).path) is a file: give two files or two folders")
    }
    var pairing = Pairing()
    guard predFolder else {
        pairing.cases = [CasePair(name: caseName(reference) ?? reference.lastPathComponent,
                                  prediction: prediction, reference: reference)]
        return pairing
    }
    let preds = try entries(in: prediction, &pairing.failures), refs = try entries(in: reference, &pairing.failures)
    for name in Set(preds.keys).union(refs.keys).sorted(by: naturalOrder) {
        switch (preds[name], refs[name]) {
        case let (p?, r?):
            let ps = try isExistingFolder(p) ? slicePNGs(in: p) : nil, rs = try isExistingFolder(r) ? slicePNGs(in: r) : nil
            if let ps, let rs {
                guard ps == rs else {
                    let missing = rs.filter { !ps.contains($0) }, extra = ps.filter { !rs.contains($0) }
                    pairing.failures.append(InputError(file: p.path, reason: "its slices differ from \(r.path)'s"
                        + (missing.isEmpty ? "" : "; missing \(listed(missing))") + (extra.isEmpty ? "" : "; extra \(listed(extra))")))
                    continue
                }
            }
            pairing.cases.append(CasePair(name: name, prediction: p, reference: r, predictionSlices: ps, referenceSlices: rs))
        case let (p?, nil): pairing.unpaired.append(p)
        case let (nil, r?): pairing.unpaired.append(r)
        case (nil, nil): break
        }
    }
    return pairing
}

/// Reads both sides of a case; a slice folder stacks into a volume with one slice per file.
/// A DICOM SEG (`<case>.seg.dcm`) or an RTSTRUCT (`<case>.rtstruct.dcm`, or a `.dcm` of that
/// SOP Class) is placed on the series it outlines: `series` itself, or `series/<case>/` when
/// that folder exists. Of an RTSTRUCT's ROIs, the one named `roi`; without it the first,
/// and when there are several `warn` says which was taken.
public func readMasks(_ pair: CasePair, predictionLabels: LabelSelection?, referenceLabels: LabelSelection?,
                      series: URL? = nil, roi: String? = nil,
                      warn: (String) -> Void = { _ in }) throws -> (prediction: Mask, reference: Mask) {
    func read(_ url: URL, _ slices: [String]?, _ labels: LabelSelection?) throws -> Mask {
        let isRTStruct = slices == nil && isRTStructFile(url)
        if isSegmentation(url) || isRTStruct {
            guard let series else {
                throw InputError(file: url.path, reason: "\(isRTStruct ? "an RTSTRUCT" : "a DICOM SEG") is scored on its series: give --series FOLDER")
            }
            let own = series.appendingPathComponent(pair.name)
            let place = isFolder(own) ? own : series
            guard isRTStruct else { return try readSegmentationMask(at: url, series: place) }
            let read = try readRTStructMask(at: url, series: place, roi: roi)
            if roi == nil && read.roiNames.count > 1 {
                warn("\(url.path): \(read.roiNames.count) ROIs (\(read.roiNames.joined(separator: ", "))); scoring the first, "
                     + "\"\(read.roi)\"; choose one with --roi NAME")
            }
            return read.mask
        }
        return try slices.map { try readStack(url, $0, labels) } ?? readMask(at: url, selecting: labels)
    }
    return (try read(pair.prediction, pair.predictionSlices, predictionLabels),
            try read(pair.reference, pair.referenceSlices, referenceLabels))
}

private func readStack(_ folder: URL, _ slices: [String], _ labels: LabelSelection?) throws -> Mask {
    var voxels: [UInt8] = []
    var first: Mask?
    for name in slices {
        let url = folder.appendingPathComponent(name)
        let slice = try readMask(at: url, selecting: labels)
        if let first, (first.width, first.height) != (slice.width, slice.height) {
            throw InputError(file: url.path, reason: "size \(slice.width)×\(slice.height) differs from the stack's first slice \(slices[0]) (\(first.width)×\(first.height))")
        }
        first = first ?? slice
        voxels += slice.voxels
    }
    // Slice PNGs carry no slice spacing, so a stack is in pixel units unless --spacing says otherwise.
    return Mask(width: first?.width ?? 0, height: first?.height ?? 0, depth: slices.count, voxels: voxels)
}


/// `a.png` → `a`, `a.nii.gz` → `a`; nil for files that are not masks, such as the
/// overlays `segtune predict --overlay` writes beside its masks (`a.overlay.png`).
private func caseName(_ url: URL) -> String? {
    let name = url.lastPathComponent
    if isOverlay(name) { return nil }
    for suffix in [".png", ".nii.gz", ".nii", ".seg.dcm", ".rtstruct.dcm", ".seg.nrrd", ".nrrd", ".nhdr", ".mha", ".mhd"] where name.lowercased().hasSuffix(suffix) {
        return String(name.dropLast(suffix.count))
    }
    return nil
}

private func entries(in folder: URL, _ failures: inout [InputError]) throws -> [String: URL] {
    var found: [String: URL] = [:]
    let items = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles])
    for url in items.sorted(by: { naturalOrder($0.lastPathComponent, $1.lastPathComponent) }) {
        let folder = try isExistingFolder(url)
        if folder, try slicePNGs(in: url).isEmpty { continue }
        guard let name = folder ? url.lastPathComponent : caseName(url) else { continue }
        if let other = found[name] {
            failures.append(InputError(file: url.path, reason: "case \(name) is also \(other.lastPathComponent); keeping that one"))
            continue
        }
        found[name] = url
    }
    return found
}

private func slicePNGs(in folder: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: folder.path)
        .filter { !$0.hasPrefix(".") && $0.lowercased().hasSuffix(".png") && !isOverlay($0) }
        .sorted(by: naturalOrder)
}

private func isSegmentation(_ url: URL) -> Bool { url.lastPathComponent.lowercased().hasSuffix(".seg.dcm") }

private func isOverlay(_ name: String) -> Bool { name.lowercased().hasSuffix(".overlay.png") }

private func listed(_ names: [String]) -> String {
    names.count <= 4 ? names.joined(separator: ", ") : names.prefix(4).joined(separator: ", ") + " and \(names.count - 4) more"
}

/// Name order with digit runs compared as numbers, so slice2 comes before slice10.
public func naturalOrder(_ a: String, _ b: String) -> Bool {
    var i = a.unicodeScalars.makeIterator(), j = b.unicodeScalars.makeIterator()
    var x = i.next(), y = j.next()
    while let cx = x, let cy = y {
        let dx = cx.properties.numericType == .decimal, dy = cy.properties.numericType == .decimal
        if dx && dy {
            var na = "", nb = ""
            while let c = x, c.properties.numericType == .decimal { na.unicodeScalars.append(c); x = i.next() }
            while let c = y, c.properties.numericType == .decimal { nb.unicodeScalars.append(c); y = j.next() }
            let ta = na.drop { $0 == "0" }, tb = nb.drop { $0 == "0" }
            if ta.count != tb.count { return ta.count < tb.count }
            if ta != tb { return ta < tb }
            if na.count != nb.count { return na.count < nb.count }
            continue
        }
        if cx != cy { return cx.value < cy.value }
        x = i.next(); y = j.next()
    }
    return x == nil && y != nil
}

/// Scores one pair as `segtune score` does: both masks read (labels picked, a DICOM SEG
/// or an RTSTRUCT's ROI `roi` placed on `series`), sizes must match, distances use `spacing`, else the reference's,
/// else the prediction's (a prediction whose own spacing differs is reported through
/// `warn` and scored on the reference's). Returns the masks too, for drawing.
public func scorePair(_ pair: CasePair, predictionLabels: LabelSelection?, referenceLabels: LabelSelection?, series: URL?,
                      roi: String? = nil, spacing override: [Double]?, tolerance: Double,
                      warn: (String) -> Void = { _ in }) throws -> (scored: ScoredCase, prediction: Mask, reference: Mask) {
    let (p, r) = try readMasks(pair, predictionLabels: predictionLabels, referenceLabels: referenceLabels, series: series,
                               roi: roi, warn: warn)
    guard (p.width, p.height, p.depth) == (r.width, r.height, r.depth) else {
        throw InputError(file: pair.prediction.path, reason: "size \(shape(p)) does not match \(pair.reference.path) (\(shape(r)))")
    }
    if override == nil, let ps = usable(p.spacing), let rs = usable(r.spacing),
       zip(ps, rs).contains(where: { abs($0 - $1) > 1e-3 * max($0, $1) }) {
        warn("\(pair.prediction.path): spacing \(ps) differs from the reference's \(rs); using the reference's")
    }
    let metrics = try scoreCase(prediction: p, reference: r, spacing: override ?? usable(r.spacing) ?? usable(p.spacing), tolerance: tolerance)
    let scored = ScoredCase(name: pair.name, prediction: pair.prediction.path, reference: pair.reference.path,
                            size: [r.width, r.height, r.depth], metrics: metrics)
    return (scored, p, r)
}

/// A file's spacing, unless it is unset (NIfTI files may store pixdim 0).
private func usable(_ spacing: [Double]?) -> [Double]? {
    guard let spacing, spacing.allSatisfy({ $0.isFinite && $0 > 0 }) else { return nil }
    return spacing
}

private func shape(_ m: Mask) -> String { m.depth > 1 ? "\(m.width)×\(m.height)×\(m.depth)" : "\(m.width)×\(m.height)" }
