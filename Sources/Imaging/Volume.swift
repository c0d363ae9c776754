import Foundation

/// A stack of 2-D slices of one scan (a DICOM series, a multi-frame DICOM, a NIfTI
/// volume), in order along the slice normal.
public struct Volume: Sendable {
    public var slices: [Image]
    /// Millimetres per voxel along x, y, z; nil when unknown.
    public var spacing: [Double]?
    /// The file or folder it came from.
    public var source: String
    public var seriesInstanceUID: String?
    /// The stored grid and its place in the patient; `slices` are in its canonical order.
    public var geometry: VolumeGeometry?
    /// A NIfTI input's own header, for writing masks back on it.
    public var niftiHeader: NIfTIHeader?
    /// A DICOM series' files in stored order (sorted along the slice normal), which
    /// per-slice outputs and DICOM SEG reference even when `slices` were reoriented.
    public var storedSlices: [(file: String, instanceNumber: Int?, sopInstanceUID: String?)]?

    public init(slices: [Image], spacing: [Double]?, source: String, seriesInstanceUID: String? = nil) {
        self.slices = slices
        self.spacing = spacing
        self.source = source
        self.seriesInstanceUID = seriesInstanceUID
    }
}

/// What a folder of DICOM files holds: one volume per Series Instance UID, and the
/// files that could not be read (each with its reason).
public struct DICOMFolderScan: Sendable {
    public var series: [Volume]
    public var skipped: [InputError]
}

/// Reads every DICOM file in a folder (not its subfolders), splits them by Series
/// Instance UID, and sorts each series along the slice normal (position · (row × column
/// cosines)); without positions, by Instance Number, then by file name.
public func scanDICOMFolder(at folder: URL) throws -> DICOMFolderScan {
    let names: [String]
    do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
        throw InputError(file: folder.path, reason: "cannot list the folder (\(error.localizedDescription))")
    }
    let files = names.sorted().filter { !$0.hasPrefix(".") }.map { folder.appendingPathComponent($0) }.filter { !isFolder($0) }
    return try scanDICOMFiles(files, folder: folder)
}

/// `scanDICOMFolder` over a given list of files; `folder` names the set in errors.
public func scanDICOMFiles(_ files: [URL], folder: URL) throws -> DICOMFolderScan {
    var headers: [(url: URL, file: DICOMFile)] = []
    var skipped: [InputError] = []
    for url in files {
        do { headers.append((url, try readDICOMFile(at: url, withPixels: false))) } catch let error as InputError {
            skipped.append(error)
        }
    }
    guard !headers.isEmpty else {
        throw InputError(file: folder.path, reason: skipped.isEmpty ? "no DICOM files in the folder" : "no readable DICOM files in the folder (\(skipped.count) unreadable)")
    }
    let groups = Dictionary(grouping: headers) { $0.file.info.seriesInstanceUID ?? "" }
    var series: [Volume] = []
    for uid in groups.keys.sorted() {
        let ordered = sortedAlongNormal(groups[uid]!)
        var slices: [Image] = []
        for (url, _) in ordered {
            do { slices += try readDICOM(at: url) } catch let error as InputError { skipped.append(error) }
        }
        guard let first = slices.first else { continue }
        if let bad = slices.first(where: { $0.width != first.width || $0.height != first.height || $0.channels != first.channels }) {
            func size(_ image: Image) -> String { "\(image.width)×\(image.height)\(image.channels == 3 ? " RGB" : "")" }
            throw InputError(file: bad.source ?? folder.path, reason: "slice is \(size(bad)), the series' first slice (\(first.source ?? "")) is \(size(first))")
        }
        var volume = Volume(slices: slices, spacing: spacing(of: ordered.map(\.file), first: first),
                            source: folder.path, seriesInstanceUID: uid.isEmpty ? nil : uid)
        if slices.count == ordered.count {
            try orient(&volume, infos: ordered.map(\.file.info), folder: folder)
        }
        series.append(volume)
    }
    return DICOMFolderScan(series: series, skipped: skipped)
}

/// Sets the series' geometry from Image Position/Orientation (Patient) and brings the
/// slices to canonical LPS order when the series is stored otherwise (a sagittal or
/// coronal series, rows running anterior…). Mixed orientations are an error; a series
/// without positions keeps its order, unoriented.
private func orient(_ volume: inout Volume, infos: [DICOMInfo], folder: URL) throws {
    let first = volume.slices[0]
    let size = [first.width, first.height, volume.slices.count]
    guard let orientation = infos[0].imageOrientation, orientation.count == 6,
          infos.allSatisfy({ $0.imagePosition?.count == 3 && $0.imageOrientation?.count == 6 }),
          let xy = first.pixelSpacing else {
        volume.geometry = VolumeGeometry(unorientedSize: size)
        return
    }
    if let other = zip(infos, volume.slices).first(where: { info, _ in zip(info.imageOrientation!, orientation).contains { abs($0 - $1) > 1e-3 } }) {
        throw InputError(file: folder.path, reason: "slices have different orientations: Image Orientation (Patient) of \(other.1.source ?? "a slice") is \(other.0.imageOrientation!), of \(first.source ?? "the first") \(orientation)")
    }
    let row = Array(orientation[0..<3]), column = Array(orientation[3..<6])
    let p0 = infos[0].imagePosition!, pn = infos[infos.count - 1].imagePosition!
    let step: [Double]
    if infos.count > 1 {
        step = (0..<3).map { (pn[$0] - p0[$0]) / Double(infos.count - 1) }
    } else {
        let n = sliceNormal(orientation), thickness = infos[0].sliceThickness ?? 1
        step = n.map { $0 * thickness }
    }
    let affine = (0..<3).map { [row[$0] * xy.x, column[$0] * xy.y, step[$0], p0[$0]] }
    let geometry: VolumeGeometry
    do { geometry = try VolumeGeometry(storedSize: size, affine: affine) } catch {
        throw InputError(file: folder.path, reason: "cannot place the series in space: \(error.description)")
    }
    volume.geometry = geometry
    volume.storedSlices = zip(volume.slices, infos).map { ($0.source ?? folder.path, $1.instanceNumber, $1.sopInstanceUID) }
    guard !geometry.isIdentity else { return }
    // An RGB series (a secondary capture) keeps its stored order, marked unoriented so that
    // writers do not undo a reorientation that did not happen.
    guard first.channels == 1 else {
        volume.geometry = VolumeGeometry(unorientedSize: size)
        return
    }
    let values = geometry.toCanonical(volume.slices.flatMap(\.pixels))
    let canonical = geometry.canonicalSize, spacing = geometry.canonicalSpacing!, perSlice = canonical[0] * canonical[1]
    // Canonical slices are no longer the files' slices: they keep the series' attributes, not an instance's.
    var info = first.dicom
    info?.instanceNumber = nil; info?.imagePosition = nil; info?.sopInstanceUID = nil
    volume.slices = (0..<canonical[2]).map { z in
        var image = Image(width: canonical[0], height: canonical[1], channels: 1, pixels: Array(values[(z * perSlice)..<((z + 1) * perSlice)]))
        image.pixelSpacing = (x: spacing[0], y: spacing[1])
        image.fileWindow = first.fileWindow
        image.maxSampleValue = first.maxSampleValue
        image.invertsForDisplay = first.invertsForDisplay
        image.dicom = info
        image.source = folder.path
        return image
    }
    volume.spacing = spacing
}

private func sliceNormal(_ orientation: [Double]) -> [Double] {
    let r = Array(orientation[0..<3]), c = Array(orientation[3..<6])
    return [r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0]]
}

private func positionAlongNormal(_ info: DICOMInfo) -> Double? {
    guard let position = info.imagePosition, let orientation = info.imageOrientation else { return nil }
    let n = sliceNormal(orientation)
    return position[0] * n[0] + position[1] * n[1] + position[2] * n[2]
}

private func sortedAlongNormal(_ files: [(url: URL, file: DICOMFile)]) -> [(url: URL, file: DICOMFile)] {
    if files.allSatisfy({ positionAlongNormal($0.file.info) != nil }) {
        return files.sorted { positionAlongNormal($0.file.info)! < positionAlongNormal($1.file.info)! }
    }
    if files.allSatisfy({ $0.file.info.instanceNumber != nil }) {
        return files.sorted { $0.file.info.instanceNumber! < $1.file.info.instanceNumber! }
    }
    return files.sorted { $0.url.lastPathComponent < $1.url.lastPathComponent }
}

/// x, y from Pixel Spacing; z from the median gap between sorted slice positions,
/// else Slice Thickness.
private func spacing(of files: [DICOMFile], first: Image) -> [Double]? {
    guard let xy = first.pixelSpacing else { return nil }
    let positions = files.compactMap { positionAlongNormal($0.info) }
    var z: Double?
    if positions.count == files.count, positions.count > 1 {
        let gaps = zip(positions.dropFirst(), positions).map { $0 - $1 }.sorted()
        z = gaps[gaps.count / 2]
    }
    z = z ?? files.first?.info.sliceThickness
    guard let z else { return nil }
    return [xy.x, xy.y, z]
}
