import Foundation

/// NRRD, the format of 3D Slicer and Teem: `.nrrd` (header and data in one file) or a
/// `.nhdr` header naming its data file. Read: 2-D and 3-D scalar volumes (a 4-D one
/// whose extra axis has one sample too), every integer and float type, raw, gzip and
/// ASCII encodings, either byte order; `space` LPS or RAS (and LAS) with `space
/// directions` and `space origin` place the grid in the patient, else `spacings` give
/// an unoriented one. Slicer's `.seg.nrrd` is a label map like this (its segments'
/// names and label values are in `Segment<N>_*` fields, kept in `labelNames`).
struct NRRDFile {
    var grid: StoredGrid
    /// Segment label value → name, from a Slicer segmentation's fields.
    var labelNames: [Int: String]
}

func readNRRD(at url: URL) throws -> NRRDFile {
    let file = url.path
    func fail(_ reason: String) -> InputError { InputError(file: file, reason: reason) }
    let bytes = try readWholeFile(url)
    guard bytes.starts(with: Array("NRRD000".utf8)) else { throw fail("not a NRRD file (it does not start with NRRD000…)") }

    // The header: lines up to the first empty one (or the end of a detached header).
    var fields: [String: String] = [:], keyValues: [String: String] = [:]
    var position = 0, lineNumber = 0
    while position < bytes.count {
        let end = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
        var line = String(decoding: bytes[position..<end], as: UTF8.self)
        if line.hasSuffix("\r") { line.removeLast() }
        position = min(end + 1, bytes.count)
        lineNumber += 1
        if line.isEmpty { break }
        if lineNumber == 1 || line.hasPrefix("#") { continue }
        if let separator = line.range(of: ":=") {
            keyValues[String(line[..<separator.lowerBound])] = String(line[separator.upperBound...])
        } else if let separator = line.range(of: ": ") {
            fields[line[..<separator.lowerBound].lowercased()] = line[separator.upperBound...].trimmingCharacters(in: .whitespaces)
        } else {
            throw fail("header line \(lineNumber) is neither 'field: value' nor 'key:=value'")
        }
        if lineNumber > 10_000 { throw fail("no end of the header in 10,000 lines") }
    }

    guard let dimensionText = fields["dimension"], let dimension = Int(dimensionText), (2...4).contains(dimension) else {
        throw fail("needs 'dimension' 2, 3 or 4 (found \(fields["dimension"] ?? "none"))")
    }
    let sizes = (fields["sizes"] ?? "").split(separator: " ").map { Int($0) }
    guard sizes.count == dimension, sizes.allSatisfy({ $0 != nil && $0! > 0 }) else {
        throw fail("'sizes' must give \(dimension) positive integers (found '\(fields["sizes"] ?? "")')")
    }
    var axisSizes = sizes.map { $0! }
    guard let typeName = fields["type"], let type = nrrdType(typeName) else {
        throw fail("unsupported or missing 'type' (\(fields["type"] ?? "none"))")
    }
    let encoding = (fields["encoding"] ?? "").lowercased()
    guard ["raw", "gzip", "gz", "ascii", "text", "txt"].contains(encoding) else {
        throw fail("unsupported 'encoding' \(encoding.isEmpty ? "(none given)" : encoding): segtune reads raw, gzip and ascii")
    }
    let endian = fields["endian"]?.lowercased()
    if type.bytes > 1 && !["ascii", "text", "txt"].contains(encoding) && endian == nil { throw fail("needs 'endian' for \(typeName) samples") }

    // Directions per axis: "(x,y,z)" for a spatial axis, "none" for the others.
    var directions: [[Double]?] = Array(repeating: nil, count: dimension)
    if let text = fields["space directions"] {
        let parts = text.split(separator: " ")
        guard parts.count == dimension else { throw fail("'space directions' must give one vector or none per axis (\(dimension))") }
        directions = try parts.map { part in
            if part == "none" { return nil }
            guard let vector = parseVector(String(part)), vector.count == 3 else { throw fail("bad space direction '\(part)': expected (x,y,z)") }
            return vector
        }
    }
    // A 4-D file is read when its extra (non-spatial) axis holds one sample.
    if dimension == 4 {
        guard let extra = directions.firstIndex(where: { $0 == nil }), directions.compactMap({ $0 }).count == 3 else {
            throw fail("a 4-D NRRD needs three spatial axes and one other")
        }
        guard axisSizes[extra] == 1 else {
            throw fail("\(axisSizes[extra]) values per voxel (axis \(extra + 1) of \(sizes.map { String($0!) }.joined(separator: "×"))): segtune reads one value per voxel; a Slicer segmentation with overlapping segments has several layers, export it as a label map")
        }
        axisSizes.remove(at: extra)
        directions.remove(at: extra)
    }
    let size = dimension == 2 ? axisSizes + [1] : axisSizes
    let count = try checkedSampleCount(size, file: file)

    // The data: after the header, or in the file the header names.
    var data: Data
    var dataFile = file
    if let name = fields["data file"] ?? fields["datafile"] {
        guard !name.hasPrefix("LIST"), !name.contains("%") else { throw fail("a data file list ('\(name)') is not supported; give one data file") }
        let dataURL = name.hasPrefix("/") ? URL(fileURLWithPath: name) : url.deletingLastPathComponent().appendingPathComponent(name)
        dataFile = dataURL.path
        data = try readWholeFile(dataURL)
    } else {
        data = bytes.subdata(in: position..<bytes.count)
    }
    if let skip = fields["line skip"].flatMap({ Int($0) }), skip > 0 {
        guard skip <= 10_000 else { throw fail("'line skip' \(skip) is more than a header plausibly holds") }
        for _ in 0..<skip {
            guard let newline = data.firstIndex(of: UInt8(ascii: "\n")) else { throw InputError(file: dataFile, reason: "fewer lines than 'line skip'") }
            data = data.subdata(in: (newline + 1)..<data.endIndex)
        }
    }
    if let skipText = fields["byte skip"], let skip = Int(skipText), skip != 0 {
        let needed = count * type.bytes
        if skip == -1 {
            // -1: the data are the file's last bytes (raw only).
            guard encoding == "raw", data.count >= needed else { throw InputError(file: dataFile, reason: "'byte skip: -1' needs raw data of \(needed) bytes") }
            data = data.subdata(in: (data.endIndex - needed)..<data.endIndex)
        } else {
            guard skip > 0, skip <= data.count else { throw InputError(file: dataFile, reason: "'byte skip' \(skip) is past the data") }
            data = data.subdata(in: (data.startIndex + skip)..<data.endIndex)
        }
    }
    let values: [Float]
    if ["ascii", "text", "txt"].contains(encoding) {
        let numbers = String(decoding: data, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" || $0 == "," })
        guard numbers.count >= count else { throw InputError(file: dataFile, reason: "truncated: \(numbers.count) of \(count) values") }
        values = try numbers.prefix(count).map { text in
            guard let v = Float(text) else { throw InputError(file: dataFile, reason: "'\(text)' is not a number") }
            return v
        }
    } else {
        values = try decodeSamples(data, compressed: encoding != "raw", type: type, count: count, bigEndian: endian == "big", file: dataFile)
    }

    let spacing = (0..<3).map { axis -> Double in
        if let d = directions.indices.contains(axis) ? directions[axis] : nil { return (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).squareRoot() }
        let spacings = (fields["spacings"] ?? "").split(separator: " ").map { Double($0) }
        if spacings.indices.contains(axis), let s = spacings[axis], s.isFinite, s > 0 { return s }
        return 1
    }
    let grid = StoredGrid(size: size, spacing: spacing, values: values,
                          geometry: try nrrdGeometry(fields, directions: directions, size: size, fail: fail))
    return NRRDFile(grid: grid, labelNames: segmentNames(keyValues))
}

/// The grid in LPS from `space`, `space directions` and `space origin`; unoriented when
/// the file names no patient space.
private func nrrdGeometry(_ fields: [String: String], directions: [[Double]?], size: [Int],
                          fail: (String) -> InputError) throws -> VolumeGeometry {
    guard directions.count == 3, let space = fields["space"]?.lowercased(), directions.allSatisfy({ $0 != nil }) else {
        return VolumeGeometry(unorientedSize: size)
    }
    // Signs that turn the file's space into LPS.
    let signs: [Double]
    switch space {
    case "left-posterior-superior", "lps": signs = [1, 1, 1]
    case "right-anterior-superior", "ras": signs = [-1, -1, 1]
    case "left-anterior-superior", "las": signs = [1, -1, 1]
    default: return VolumeGeometry(unorientedSize: size)
    }
    var origin = [0.0, 0.0, 0.0]
    if let text = fields["space origin"] {
        guard let parsed = parseVector(text), parsed.count == 3 else { throw fail("bad 'space origin' '\(text)': expected (x,y,z)") }
        origin = parsed
    }
    let affine = (0..<3).map { row in (0..<3).map { directions[$0]![row] * signs[row] } + [origin[row] * signs[row]] }
    do { return try VolumeGeometry(storedSize: size, affine: affine) } catch { throw fail(error.description) }
}

/// "(1.5,0,-2)" → [1.5, 0, -2]; nil when malformed or not finite.
private func parseVector(_ text: String) -> [Double]? {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    guard trimmed.hasPrefix("("), trimmed.hasSuffix(")") else { return nil }
    let values = trimmed.dropFirst().dropLast().split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
    guard values.allSatisfy({ $0 != nil && $0!.isFinite }) else { return nil }
    return values.map { $0! }
}

private func nrrdType(_ name: String) -> SampleType? {
    switch name.lowercased() {
    case "signed char", "int8", "int8_t": .int8
    case "uchar", "unsigned char", "uint8", "uint8_t": .uint8
    case "short", "short int", "signed short", "signed short int", "int16", "int16_t": .int16
    case "ushort", "unsigned short", "unsigned short int", "uint16", "uint16_t": .uint16
    case "int", "signed int", "int32", "int32_t": .int32
    case "uint", "unsigned int", "uint32", "uint32_t": .uint32
    case "longlong", "long long", "long long int", "signed long long", "signed long long int", "int64", "int64_t": .int64
    case "ulonglong", "unsigned long long", "unsigned long long int", "uint64", "uint64_t": .uint64
    case "float": .float32
    case "double": .float64
    default: nil
    }
}

/// Slicer's `Segment<N>_LabelValue` and `Segment<N>_Name` pairs.
private func segmentNames(_ keyValues: [String: String]) -> [Int: String] {
    var names: [Int: String] = [:]
    for (key, value) in keyValues where key.hasPrefix("Segment") && key.hasSuffix("_LabelValue") {
        let prefix = key.dropLast("_LabelValue".count)
        if let label = Int(value.trimmingCharacters(in: .whitespaces)), let name = keyValues[prefix + "_Name"] { names[label] = name }
    }
    return names
}
