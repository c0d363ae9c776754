import Foundation

/// MetaImage, ITK's format (ITK-SNAP, elastix): `.mha` (header and data in one file) or
/// an `.mhd` header naming its data file. Read: 2-D and 3-D scalar images of every
/// integer and float type, raw or zlib-compressed, either byte order. ITK's physical
/// space is LPS: `TransformMatrix` (each axis's direction, axis by axis), `ElementSpacing`
/// and `Offset` give the voxel → LPS affine directly (`AnatomicalOrientation` only
/// restates it, as in ITK).
func readMetaImage(at url: URL) throws -> StoredGrid {
    let file = url.path
    func fail(_ reason: String) -> InputError { InputError(file: file, reason: reason) }
    let bytes = try readWholeFile(url)

    // "Key = Value" lines up to ElementDataFile, the last field; LOCAL data follow it.
    var fields: [String: String] = [:]
    var position = 0, lineNumber = 0
    while position < bytes.count {
        let end = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        let line = String(decoding: bytes[position..<end], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        position = min(end + 1, bytes.count)
        lineNumber += 1
        if line.isEmpty { continue }
        guard let separator = line.range(of: "=") else {
            throw fail(lineNumber == 1 ? "not a MetaImage file (no 'Key = Value' header)" : "header line \(lineNumber) is not 'Key = Value'")
        }
        let key = line[..<separator.lowerBound].trimmingCharacters(in: .whitespaces).lowercased()
        fields[key] = line[separator.upperBound...].trimmingCharacters(in: .whitespaces)
        if key == "elementdatafile" { break }
        if lineNumber > 1000 { throw fail("no ElementDataFile in the first 1,000 header lines") }
    }
    guard let dataName = fields["elementdatafile"] else { throw fail("not a MetaImage file (no ElementDataFile)") }
    func numbers(_ key: String) -> [Double]? {
        fields[key].map { $0.split(separator: " ").compactMap { Double($0) }.filter(\.isFinite) }
    }

    guard let dims = fields["ndims"].flatMap({ Int($0) }), (2...3).contains(dims) else {
        throw fail("needs NDims 2 or 3 (found \(fields["ndims"] ?? "none"))")
    }
    let sizes = (fields["dimsize"] ?? "").split(separator: " ").compactMap { Int($0) }
    guard sizes.count == dims else { throw fail("DimSize must give \(dims) sizes (found '\(fields["dimsize"] ?? "")')") }
    if let channels = fields["elementnumberofchannels"].flatMap({ Int($0) }), channels != 1 {
        throw fail("\(channels) channels per voxel: segtune reads one value per voxel")
    }
    guard let typeName = fields["elementtype"], let type = metaType(typeName) else {
        throw fail("unsupported or missing ElementType (\(fields["elementtype"] ?? "none"))")
    }
    let size = dims == 2 ? sizes + [1] : sizes
    let count = try checkedSampleCount(size, file: file)
    let compressed = fields["compresseddata"]?.lowercased() == "true"
    let bigEndian = (fields["binarydatabyteordermsb"] ?? fields["elementbyteordermsb"])?.lowercased() == "true"
    if let binary = fields["binarydata"], binary.lowercased() != "true" { throw fail("ASCII MetaImage data (BinaryData = \(binary)) are not supported") }

    var data: Data
    var dataFile = file
    if dataName.uppercased() == "LOCAL" {
        data = bytes.subdata(in: position..<bytes.count)
    } else {
        guard !dataName.uppercased().hasPrefix("LIST"), !dataName.contains("%") else {
            throw fail("a list of data files ('\(dataName)') is not supported; give one data file")
        }
        let dataURL = dataName.hasPrefix("/") ? URL(fileURLWithPath: dataName) : url.deletingLastPathComponent().appendingPathComponent(dataName)
        dataFile = dataURL.path
        data = try readWholeFile(dataURL)
    }
    if compressed, let stated = fields["compresseddatasize"].flatMap({ Int($0) }), stated > 0, stated < data.count {
        data = data.prefix(stated)
    }
    let values = try decodeSamples(data, compressed: compressed, type: type, count: count, bigEndian: bigEndian, file: dataFile)

    var spacing = numbers("elementspacing") ?? numbers("elementsize") ?? []
    if spacing.count < dims || spacing.contains(where: { $0 <= 0 }) { spacing = Array(repeating: 1, count: dims) }
    spacing = Array(spacing.prefix(dims)) + (dims == 2 ? [1] : [])
    let origin = numbers("offset") ?? numbers("origin") ?? numbers("position") ?? []
    let matrix = numbers("transformmatrix") ?? numbers("rotation") ?? numbers("orientation") ?? []
    let geometry: VolumeGeometry
    if dims == 3, origin.count == 3, matrix.count == 9 {
        // Row k of TransformMatrix is axis k's direction (as ITK writes it).
        let affine = (0..<3).map { r in (0..<3).map { matrix[$0 * 3 + r] * spacing[$0] } + [origin[r]] }
        do { geometry = try VolumeGeometry(storedSize: size, affine: affine) } catch { throw fail(error.description) }
    } else {
        geometry = VolumeGeometry(unorientedSize: size)
    }
    return StoredGrid(size: size, spacing: spacing, values: values, geometry: geometry)
}

private func metaType(_ name: String) -> SampleType? {
    switch name.uppercased() {
    case "MET_CHAR": .int8
    case "MET_UCHAR": .uint8
    case "MET_SHORT": .int16
    case "MET_USHORT": .uint16
    case "MET_INT", "MET_LONG": .int32
    case "MET_UINT", "MET_ULONG": .uint32
    case "MET_LONG_LONG": .int64
    case "MET_ULONG_LONG": .uint64
    case "MET_FLOAT": .float32
    case "MET_DOUBLE": .float64
    default: nil
    }
}
