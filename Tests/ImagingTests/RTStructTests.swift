import Foundation
import Testing
@testable import Imaging

/// dcmdump's values of `tag` in file order, long values whole (+L), UIDs as numbers (-Un).
private func dumped(_ file: URL, _ tag: String) throws -> [String] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["dcmdump", "+L", "-Un", "+P", tag, file.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return output.split(separator: "\n").compactMap { line in
        guard let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
        return String(line[line.index(after: open)..<close])
    }
}

@Suite struct RTStructTests {
    /// On the 5 × 7 slices of `SourceSeries`: a ring with an island beside it, nothing, a
    /// diagonal line (pixels touching at corners), everything.
    static func knownMasks() -> [[UInt8]] {
        let rows = ["#####.#", "#...#..", "#.#.#..", "#...#..", "#####.."]  // ring, an island in its hole, an island
        return (0..<4).map { k in
            (0..<35).map { i -> UInt8 in
                let y = i / 7, x = i % 7
                switch k {
                case 0: return Array(rows[y])[x] == "#" ? 1 : 0
                case 1: return 0
                case 2: return x == y ? 1 : 0
                default: return 1
                }
            }
        }
    }

    /// The known masks over a new source series, as an RTSTRUCT with one ROI, "Liver", in a
    /// folder of its own (out of the series folder).
    static func writtenLiver(extra: [RTStructROI] = []) throws -> (series: SourceSeries, folder: URL, out: URL) {
        let folder = try makeTemporaryFolder()
        let seriesFolder = folder.appendingPathComponent("series")
        try FileManager.default.createDirectory(at: seriesFolder, withIntermediateDirectories: true)
        let series = try SourceSeries(in: seriesFolder)
        let out = folder.appendingPathComponent("liver.rtstruct.dcm")
        try writeRTStructure(rois: [RTStructROI(name: "Liver", masks: knownMasks())] + extra, sources: series.files,
                             rows: 5, columns: 7, to: out)
        return (series, folder, out)
    }

    @Test func roundTripGivesTheMasksBackExactly() throws {
        let (series, folder, out) = try Self.writtenLiver()
        let read = try readRTStructContours(at: out, slices: series.files, roi: nil)
        #expect(read.roiNames == ["Liver"] && read.chosen == 0)
        // Slice 0: ring, hole, island in the hole, island beside; slice 2: five corner-touching pixels; slice 3: one.
        #expect(read.contours.map(\.slice) == [0, 0, 0, 0, 2, 2, 2, 2, 2, 3])
        for (k, expected) in Self.knownMasks().enumerated() {
            let filled = fillEvenOdd(read.contours.filter { $0.slice == k }.map(\.points), width: 7, height: 5)
            #expect(filled == expected, "slice \(k)")
        }
        // The same through the series folder, in canonical order (this series is already LPS).
        let placed = try readRTStructMask(at: out, series: folder.appendingPathComponent("series"), roi: nil)
        #expect(placed.roi == "Liver")
        #expect(placed.mask.voxels == Self.knownMasks().flatMap { $0 })
        #expect(placed.mask.depth == 4 && placed.mask.spacing == [0.6, 0.8, 2.5])
        // Written under a temporary name and renamed: nothing else is left in the folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["liver.rtstruct.dcm", "series"])
    }

    /// Points in patient coordinates from each slice's Image Position (-10, -20, z), Pixel
    /// Spacing (0.8 between rows, 0.6 between columns) and orientation, worked out by hand.
    @Test func contoursLieInPatientCoordinatesOnPixelEdges() throws {
        let (_, _, out) = try Self.writtenLiver()
        let data = try dumped(out, "3006,0050")
        // The island at column 6, row 0 of slice 0 (z 0): corners at columns 5.5, 6.5 and rows -0.5, 0.5.
        #expect(data.contains("-6.7\\-20.4\\0\\-6.1\\-20.4\\0\\-6.1\\-19.6\\0\\-6.7\\-19.6\\0"), "\(data)")
        // Slice 3 (z 7.5) is all inside: the image's outer edges.
        #expect(data.contains("-10.3\\-20.4\\7.5\\-6.1\\-20.4\\7.5\\-6.1\\-16.4\\7.5\\-10.3\\-16.4\\7.5"), "\(data)")
        #expect(try dumped(out, "3006,0042") == Array(repeating: "CLOSED_PLANAR", count: 10))
        #expect(try dumped(out, "3006,0046") == Array(repeating: "4", count: 10))  // every contour here is a rectangle
    }

    @Test func referencesFollowTheSeries() throws {
        let (series, _, out) = try Self.writtenLiver()
        for tag in ["0010,0020", "0010,0010", "0020,000d"] {
            #expect(try dumped(out, tag) == dumped(series.files[0], tag), "\(tag)")
        }
        #expect(try dumped(out, "0008,0016") == ["1.2.840.10008.5.1.4.1.1.481.3"])
        #expect(try dumped(out, "0008,0060") == ["RTSTRUCT"])
        // Referenced Frame of Reference → RT Referenced Study → Series → every slice; then each
        // contour's own slice (4 on slice 0, 5 on slice 2, 1 on slice 3), in file order.
        #expect(try dumped(out, "3006,0024") == [SourceSeries.frameOfReference])  // the ROI's frame of reference
        #expect(try dumped(out, "0020,0052") == [SourceSeries.frameOfReference])
        let u = series.uids
        #expect(try dumped(out, "0008,1155") == [SourceSeries.study] + u + [u[0], u[0], u[0], u[0]] + Array(repeating: u[2], count: 5) + [u[3]])
        let seriesUIDs = try dumped(out, "0020,000e")
        #expect(seriesUIDs.count == 2 && seriesUIDs.contains(SourceSeries.series) && seriesUIDs.filter { $0 != SourceSeries.series }.count == 1)
        #expect(try dumped(out, "3006,0026") == ["Liver"])
        #expect(try dumped(out, "3006,002a") == [roiDisplayColor(for: "Liver").map(String.init).joined(separator: "\\")])
        #expect(try dumped(out, "3006,0084") == ["1", "1"])  // the contours and the observation reference ROI 1
        #expect(try dumped(out, "3006,0036") == ["AUTOMATIC"])
    }

    @Test func anROIIsChosenByName() throws {
        let spleen = Self.knownMasks().reversed().map { $0 }
        let (series, _, out) = try Self.writtenLiver(extra: [RTStructROI(name: "Spleen", color: [0, 0, 255], masks: spleen)])
        let read = try readRTStructContours(at: out, slices: series.files, roi: "Spleen")
        #expect(read.roiNames == ["Liver", "Spleen"] && read.chosen == 1)
        for k in 0..<4 {
            #expect(fillEvenOdd(read.contours.filter { $0.slice == k }.map(\.points), width: 7, height: 5) == spleen[k], "slice \(k)")
        }
        #expect(try dumped(out, "3006,002a").last == "0\\0\\255")
        #expect(inputError { _ = try readRTStructContours(at: out, slices: series.files, roi: "Kidney") }?.reason
                == "has no ROI named \"Kidney\" (its ROIs: Liver, Spleen)")
    }

    /// A structure set another program wrote (pydicom, `fuzz/make-seeds`: the rtstruct
    /// fuzz target's seed): a 3 × 3 square on slice 1, the slice minus that square on slice 3.
    @Test func aStructureSetWrittenByPydicomIsFilledAsDrawn() throws {
        let seeds = repositoryRoot.appendingPathComponent("fuzz/seeds")
        let slices = (0..<4).map { seeds.appendingPathComponent("dicom-seg-series/slice\($0).dcm") }
        let read = try readRTStructContours(at: seeds.appendingPathComponent("rtstruct/ring.rtstruct.dcm"), slices: slices, roi: nil)
        #expect(read.roiNames == ["Liver"])
        var square = [UInt8](repeating: 0, count: 35)
        for row in 1...3 { for column in 2...4 { square[row * 7 + column] = 1 } }
        let expected = [[UInt8](repeating: 0, count: 35), square, [UInt8](repeating: 0, count: 35), square.map { 1 - $0 }]
        for k in 0..<4 {
            #expect(fillEvenOdd(read.contours.filter { $0.slice == k }.map(\.points), width: 7, height: 5) == expected[k], "slice \(k)")
        }
    }

    /// A task that found nothing: an ROI without contours, read back as an empty mask.
    @Test func emptyMasksGiveAnROIWithoutContours() throws {
        let folder = try makeTemporaryFolder()
        let series = try SourceSeries(in: folder, slices: 2)
        let out = folder.appendingPathComponent("none.rtstruct.dcm")
        let empty = [[UInt8]](repeating: [UInt8](repeating: 0, count: 35), count: 2)
        try writeRTStructure(rois: [RTStructROI(name: "Nothing", masks: empty)], sources: series.files, rows: 5, columns: 7, to: out)
        let read = try readRTStructContours(at: out, slices: series.files, roi: nil)
        #expect(read.roiNames == ["Nothing"] && read.contours.isEmpty)
        #expect(try dumped(out, "3006,0026") == ["Nothing"] && dumped(out, "3006,0050").isEmpty)
        #expect(inputError {
            try writeRTStructure(rois: [RTStructROI(name: "Odd", color: [1, 2], masks: empty)], sources: series.files, rows: 5, columns: 7, to: out)
        }?.reason == "ROI \"Odd\" has 2 colour components, 3 (RGB) expected")
    }

    @Test func nonASCIINameIsWrittenAsUTF8() throws {
        let folder = try makeTemporaryFolder()
        let series = try SourceSeries(in: folder, slices: 2)
        let out = folder.appendingPathComponent("x.rtstruct.dcm")
        try writeRTStructure(rois: [RTStructROI(name: "Leber größer", masks: Array(Self.knownMasks().prefix(2)))],
                             sources: series.files, rows: 5, columns: 7, to: out)
        #expect(try readRTStructContours(at: out, slices: series.files, roi: "Leber größer").roiNames == ["Leber größer"])
        #expect(try dumped(out, "0008,0005") == ["ISO_IR 192"])
        #expect(try dumped(out, "0010,0010") == [SourceSeries.patientName])
    }

    /// Files planning systems would misread are refused with one line naming the reason.
    @Test func badStructureSetsAreRefused() throws {
        let (series, folder, out) = try Self.writtenLiver()
        func damaged(_ name: String, _ assignment: String) throws -> URL {
            let copy = folder.appendingPathComponent(name)
            try FileManager.default.copyItem(at: out, to: copy)
            try DCMTKFiles.runTool(["dcmodify", "-nb", "-m", assignment, copy.path])
            return copy
        }
        func reason(_ file: URL) -> String? { inputError { _ = try readRTStructContours(at: file, slices: series.files, roi: nil) }?.reason }

        let open = try damaged("open.dcm", "(3006,0039)[0].(3006,0040)[1].(3006,0042)=OPEN_PLANAR")
        #expect(reason(open) == "ROI \"Liver\" contour 2 is OPEN_PLANAR; only CLOSED_PLANAR contours enclose an area")
        let point = try damaged("point.dcm", "(3006,0039)[0].(3006,0040)[0].(3006,0042)=POINT")
        #expect(reason(point) == "ROI \"Liver\" contour 1 is POINT; only CLOSED_PLANAR contours enclose an area")
        // Half-way between slice 0 (z 0) and slice 1 (z 2.5).
        let between = try damaged("between.dcm", "(3006,0039)[0].(3006,0040)[0].(3006,0050)=0\\0\\1.25\\1\\0\\1.25\\1\\1\\1.25")
        #expect(reason(between) == "ROI \"Liver\" contour 1 lies on no slice plane of the series (the nearest, slice0.dcm, is 1.25 mm away)")
        let elsewhere = try damaged("elsewhere.dcm", "(3006,0020)[0].(3006,0024)=1.2.826.0.1.3680043.9.7777.99")
        #expect(reason(elsewhere) == "ROI \"Liver\" is in Frame of Reference 1.2.826.0.1.3680043.9.7777.99, the series in \(SourceSeries.frameOfReference)")
        #expect(inputError { _ = try readRTStructContours(at: series.files[0], slices: series.files, roi: nil) }?.reason
                == "not an RT Structure Set (SOP Class 1.2.840.10008.5.1.4.1.1.2)")
        let ragged = try damaged("ragged.dcm", "(3006,0039)[0].(3006,0040)[0].(3006,0050)=0\\0\\0\\1\\0")
        #expect(reason(ragged) == "ROI \"Liver\" contour 1 has 5 Contour Data values, not 3 per point")
        let data = try Data(contentsOf: out)
        let cut = folder.appendingPathComponent("cut.dcm")
        try data.prefix(data.count - 7).write(to: cut)
        #expect(reason(cut) != nil)
    }

    /// rt-utils traces pixel centres and writes a one-pixel island as a CLOSED_PLANAR single
    /// point: read, on its slice, enclosing nothing.
    @Test func aOnePointContourFillsNothing() throws {
        let (series, folder, out) = try Self.writtenLiver()
        let point = folder.appendingPathComponent("point.dcm")
        try FileManager.default.copyItem(at: out, to: point)
        // Contour 2 is the island at column 6, row 0 of slice 0 (z 0): now its centre only.
        try DCMTKFiles.runTool(["dcmodify", "-nb", "-m", "(3006,0039)[0].(3006,0040)[1].(3006,0050)=-6.4\\-20\\0",
                                "-m", "(3006,0039)[0].(3006,0040)[1].(3006,0046)=1", point.path])
        let read = try readRTStructContours(at: point, slices: series.files, roi: nil)
        #expect(read.contours[1].slice == 0 && read.contours[1].points.count == 1)
        #expect(read.contours[1].points.allSatisfy { abs($0.x - 6) < 1e-9 && abs($0.y) < 1e-9 }, "\(read.contours[1].points)")
        var expected = Self.knownMasks()[0]
        expected[6] = 0
        #expect(fillEvenOdd(read.contours.filter { $0.slice == 0 }.map(\.points), width: 7, height: 5) == expected)
    }

    @Test func writerRefusesSlicesItCannotPlace() throws {
        let folder = try makeTemporaryFolder()
        let plain = folder.appendingPathComponent("plain.dcm")
        try writeSourceSlice(plain, uid: "\(SourceSeries.series).20", rows: 2, columns: 3, z: 0, orientation: nil)
        let out = folder.appendingPathComponent("x.rtstruct.dcm")
        #expect(inputError {
            try writeRTStructure(rois: [RTStructROI(name: "Spot", masks: [[1, 0, 0, 0, 0, 1]])], sources: [plain], rows: 2, columns: 3, to: out)
        }?.reason == "slice \(plain.path) lacks a Frame of Reference UID, Image Position/Orientation (Patient) or Pixel Spacing, which RTSTRUCT contours need")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// Without a Study Instance UID an RTSTRUCT could not be filed with its images; reading
    /// one on such a series needs only the geometry.
    @Test func anonymisedSeriesIsRefusedForWritingNotForReading() throws {
        let (series, folder, out) = try Self.writtenLiver()
        let bare = folder.appendingPathComponent("bare")
        try FileManager.default.createDirectory(at: bare, withIntermediateDirectories: true)
        let copies = try series.files.map { file -> URL in
            let copy = bare.appendingPathComponent(file.lastPathComponent)
            try FileManager.default.copyItem(at: file, to: copy)
            try DCMTKFiles.runTool(["dcmodify", "-nb", "-e", "(0020,000d)", copy.path])
            return copy
        }
        let again = folder.appendingPathComponent("again.rtstruct.dcm")
        #expect(inputError {
            try writeRTStructure(rois: [RTStructROI(name: "Liver", masks: Self.knownMasks())], sources: copies, rows: 5, columns: 7, to: again)
        }?.reason == "slice \(copies[0].path) has no Study/Series Instance UID (anonymised?), so an RTSTRUCT could not reference it; use --format nifti")
        #expect(try readRTStructMask(at: out, series: bare, roi: "Liver").mask.voxels == Self.knownMasks().flatMap { $0 })
    }

    @Test func onlyADICOMSeriesGetsAnRTStruct() throws {
        let folder = try makeTemporaryFolder()
        let image = Image(width: 2, height: 2, channels: 1, pixels: [0, 1, 2, 3])
        let volume = Volume(slices: [image], spacing: nil, source: "/data/photo.png")
        let error = inputError {
            try writePredictedMask(Mask(width: 2, height: 2, voxels: [0, 1, 1, 0]), of: volume, name: "photo", formats: [.png, .rtstruct],
                                   label: "Liver", to: folder)
        }
        #expect(error?.description == "/data/photo.png: --format rtstruct needs a DICOM series (a folder of slices)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
        #expect(try MaskFormat.parseList("png,rtstruct") == [.png, .rtstruct])
        // --skip-existing and shards look for <name>.rtstruct.dcm.
        #expect(!predictedMaskExists(name: "ct", formats: [.rtstruct], overlays: false, in: folder))
        try Data().write(to: folder.appendingPathComponent("ct.seg.dcm"))
        #expect(!predictedMaskExists(name: "ct", formats: [.rtstruct], overlays: false, in: folder))
        try Data().write(to: folder.appendingPathComponent("ct.rtstruct.dcm"))
        #expect(predictedMaskExists(name: "ct", formats: [.rtstruct], overlays: false, in: folder))
    }
}
