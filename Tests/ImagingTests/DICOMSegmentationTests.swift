import Foundation
import Testing
@testable import Imaging

/// A small axial CT series written with dump2dcm: 5 × 7 slices (35 pixels, so binary
/// frames do not end on a byte boundary), with patient, study and frame-of-reference UIDs.
struct SourceSeries {
    static let patientID = "SEG-PAT-7"
    static let patientName = "Doe^Jane"
    static let study = "1.2.826.0.1.3680043.9.7777.50"
    static let series = "1.2.826.0.1.3680043.9.7777.50.1"
    static let frameOfReference = "1.2.826.0.1.3680043.9.7777.50.2"
    let rows = 5, columns = 7
    var files: [URL] = []
    var uids: [String] = []

    init(in folder: URL, slices: Int = 4) throws {
        for k in 0..<slices {
            let uid = "\(Self.series).\(k + 1)"
            let file = folder.appendingPathComponent("slice\(k).dcm")
            try writeSourceSlice(file, uid: uid, rows: rows, columns: columns, z: Double(k) * 2.5)
            files.append(file)
            uids.append(uid)
        }
    }
}

/// One slice of `SourceSeries`; `orientation` lets a test write an odd one out, and nil
/// leaves out the geometry (Frame of Reference, Image Position/Orientation).
func writeSourceSlice(_ url: URL, uid: String, rows: Int, columns: Int, z: Double,
                              orientation: String? = "1\\0\\0\\0\\1\\0") throws {
    let raw = url.deletingPathExtension().appendingPathExtension("raw")
    try Data((0..<(rows * columns)).flatMap { i in [UInt8(i & 0xFF), 0] }).write(to: raw)
    let dump = [
        "(0008,0016) UI =CTImageStorage",
        "(0008,0018) UI [\(uid)]",
        "(0008,0060) CS [CT]",
        "(0008,0070) LO [Scanner Co]",
        "(0010,0010) PN [\(SourceSeries.patientName)]",
        "(0010,0020) LO [\(SourceSeries.patientID)]",
        "(0010,0030) DA [19700101]", "(0010,0040) CS [F]",
        "(0008,0020) DA [20240101]", "(0008,0030) TM [120000]", "(0008,0050) SH []", "(0008,0090) PN []",
        "(0020,0010) SH [1]", "(0020,0011) IS [1]",
        "(0020,000d) UI [\(SourceSeries.study)]",
        "(0020,000e) UI [\(SourceSeries.series)]",
        "(0020,0013) IS [\(Int(z / 2.5) + 1)]",
    ] + (orientation.map {
        ["(0020,0052) UI [\(SourceSeries.frameOfReference)]", "(0020,0032) DS [-10\\-20\\\(z)]", "(0020,0037) DS [\($0)]"]
    } ?? []) + [
        "(0018,0050) DS [2.5]",
        "(0028,0030) DS [0.8\\0.6]",
        "(0028,0002) US 1", "(0028,0004) CS [MONOCHROME2]",
        "(0028,0010) US \(rows)", "(0028,0011) US \(columns)",
        "(0028,0100) US 16", "(0028,0101) US 16", "(0028,0102) US 15", "(0028,0103) US 0",
        "(7fe0,0010) OW =\(raw.path)",
    ]
    let dumpURL = url.deletingPathExtension().appendingPathExtension("dump")
    try dump.joined(separator: "\n").appending("\n").write(to: dumpURL, atomically: true, encoding: .utf8)
    try DCMTKFiles.runTool(["dump2dcm", dumpURL.path, url.path])
    try FileManager.default.removeItem(at: raw)
    try FileManager.default.removeItem(at: dumpURL)
}

/// The values dcmdump prints for `tag` (e.g. "0010,0020"), in file order, nested ones included.
func dumpValues(_ file: URL, _ tag: String) throws -> [String] {
    let result = try run(["dcmdump", "+P", tag, file.path])
    #expect(result.status == 0, "dcmdump: \(result.output)")
    return result.output.split(separator: "\n").compactMap { line in
        guard let open = line.firstIndex(of: "["), let close = line[open...].firstIndex(of: "]") else { return nil }
        return String(line[line.index(after: open)..<close])
    }
}

@Suite struct DICOMSegmentationTests {
    /// A square in slice 0, nothing in slice 1, a diagonal in slice 2, everything in slice 3.
    static func knownMasks(rows: Int, columns: Int) -> [[UInt8]] {
        (0..<4).map { k in
            (0..<(rows * columns)).map { i -> UInt8 in
                let y = i / columns, x = i % columns
                switch k {
                case 0: return (1...3).contains(y) && (2...4).contains(x) ? 1 : 0
                case 1: return 0
                case 2: return x == y ? 255 : 0  // any nonzero value is inside
                default: return 1
                }
            }
        }
    }

    /// The known masks over a new source series, written as a SEG labelled "Liver".
    fileprivate static func writtenLiverSEG() throws -> (folder: URL, series: SourceSeries, masks: [[UInt8]], out: URL) {
        let folder = try makeTemporaryFolder()
        let series = try SourceSeries(in: folder)
        let masks = knownMasks(rows: series.rows, columns: series.columns)
        let out = folder.appendingPathComponent("seg.dcm")
        try writeDICOMSegmentation(masks: masks, sources: series.files, rows: series.rows, columns: series.columns,
                                   segmentLabel: "Liver", to: out)
        return (folder, series, masks, out)
    }

    @Test func roundTripKeepsMasksPerInstanceAndLabel() throws {
        let (folder, series, masks, out) = try Self.writtenLiverSEG()
        let seg = try readDICOMSegmentation(at: out)
        #expect(seg.rows == series.rows && seg.columns == series.columns)
        #expect(seg.segmentLabel == "Liver")
        #expect(seg.referencedSeriesUID == SourceSeries.series)
        #expect(Set(seg.frames.keys) == Set(series.uids))
        for (k, uid) in series.uids.enumerated() {
            #expect(seg.frames[uid] == masks[k].map { $0 != 0 ? 1 : 0 }, "slice \(k)")
        }
        // The empty slice 1 is referenced but has no frame of its own.
        #expect(try dumpValues(out, "0028,0008") == ["3"])
        #expect(try dumpValues(out, "0008,1155").filter { $0 == series.uids[1] }.count == 1)
        // Written under a temporary name and renamed: nothing else is left in the folder.
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names == ["seg.dcm", "slice0.dcm", "slice1.dcm", "slice2.dcm", "slice3.dcm"])
    }

    @Test func allEmptyMasksKeepEveryFrame() throws {
        let folder = try makeTemporaryFolder()
        let series = try SourceSeries(in: folder, slices: 3)
        let empty = [[UInt8]](repeating: [UInt8](repeating: 0, count: series.rows * series.columns), count: 3)
        let out = folder.appendingPathComponent("empty.dcm")
        try writeDICOMSegmentation(masks: empty, sources: series.files, rows: series.rows, columns: series.columns,
                                   segmentLabel: "Nothing", to: out)
        #expect(try dumpValues(out, "0028,0008") == ["3"])
        let seg = try readDICOMSegmentation(at: out)
        #expect(seg.frames.count == 3 && seg.frames.values.allSatisfy { $0.allSatisfy { $0 == 0 } })
    }

    @Test func identifiersFollowTheSourceSeries() throws {
        let folder = try makeTemporaryFolder()
        let series = try SourceSeries(in: folder)
        let out = folder.appendingPathComponent("seg.dcm")
        try writeDICOMSegmentation(masks: Self.knownMasks(rows: series.rows, columns: series.columns),
                                   sources: series.files, rows: series.rows, columns: series.columns,
                                   segmentLabel: "Liver",
                                   category: DICOMCode("123037004", scheme: "SCT", meaning: "Anatomical Structure"),
                                   type: DICOMCode("10200004", scheme: "SCT", meaning: "Liver"), to: out)
        for tag in ["0010,0020", "0010,0010", "0020,000d", "0020,0052"] {
            #expect(try dumpValues(out, tag) == dumpValues(series.files[0], tag), "\(tag)")
        }
        #expect(try dumpValues(out, "0010,0020") == [SourceSeries.patientID])
        #expect(try dumpValues(out, "0008,0060") == ["SEG"])
        #expect(try dumpValues(out, "0008,103e") == ["segtune Liver"])
        #expect(try dumpValues(out, "0008,0070") == ["segtune"])  // made by segtune, not the scanner
        // A new series and instance; the source series only as the referenced one.
        // In file order: the Referenced Series Sequence's item, then the SEG's own series.
        let seriesUIDs = try dumpValues(out, "0020,000e")
        #expect(seriesUIDs.count == 2 && seriesUIDs[0] == SourceSeries.series && seriesUIDs[1] != SourceSeries.series)
        #expect(try !series.uids.contains(dumpValues(out, "0008,0018")[0]))
        let codes = try dumpValues(out, "0008,0100")
        #expect(codes.contains("10200004") && codes.contains("123037004"))
        #expect(try dumpValues(out, "0062,0008") == ["AUTOMATIC"])
        #expect(try dumpValues(out, "0062,0009") == ["segtune"])
    }

    @Test func nonASCIILabelIsWrittenAsUTF8() throws {
        let folder = try makeTemporaryFolder()
        let series = try SourceSeries(in: folder, slices: 2)
        let out = folder.appendingPathComponent("seg.dcm")
        try writeDICOMSegmentation(masks: Array(Self.knownMasks(rows: 5, columns: 7).prefix(2)), sources: series.files,
                                   rows: 5, columns: 7, segmentLabel: "Leber größer", to: out)
        #expect(try readDICOMSegmentation(at: out).segmentLabel == "Leber größer")
        #expect(try dumpValues(out, "0008,0005") == ["ISO_IR 192"])
        #expect(try dumpValues(out, "0010,0010") == [SourceSeries.patientName])
    }

    /// dcmseg 3.6.7 writes SEGs only in a Frame of Reference, with every frame placed.
    @Test func slicesWithoutGeometryAreRefused() throws {
        let folder = try makeTemporaryFolder()
        let plain = folder.appendingPathComponent("plain.dcm")
        try writeSourceSlice(plain, uid: "\(SourceSeries.series).20", rows: 2, columns: 3, z: 0, orientation: nil)
        let out = folder.appendingPathComponent("seg.dcm")
        #expect(inputError {
            try writeDICOMSegmentation(masks: [[1, 0, 0, 0, 0, 1]], sources: [plain], rows: 2, columns: 3,
                                       segmentLabel: "Spot", to: out)
        }?.reason == "source \(plain.path) lacks a Frame of Reference UID or Image Position/Orientation (Patient), "
                + "which a DICOM SEG needs")
        // Nor without a Study Instance UID (SeriesTests' writeSlice): it could not be filed with its images.
        let bare = folder.appendingPathComponent("bare.dcm")
        try writeSlice(bare, series: "1.2.3.77", instance: 1, position: [0, 0, 0], orientation: [1, 0, 0, 0, 1, 0], value: 0)
        #expect(inputError {
            try writeDICOMSegmentation(masks: [[1, 0, 0, 0, 0, 1]], sources: [bare], rows: 2, columns: 3,
                                       segmentLabel: "Spot", to: out)
        }?.reason == "source \(bare.path) has no Study/Series Instance UID (anonymised?), so a SEG could not be filed with its images; use --format nifti")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func mismatchedSourcesAreRefusedAndNothingIsWritten() throws {
        let folder = try makeTemporaryFolder()
        let series = try SourceSeries(in: folder, slices: 3)
        let masks = [[UInt8]](repeating: [UInt8](repeating: 1, count: series.rows * series.columns), count: 4)
        let out = folder.appendingPathComponent("seg.dcm")

        let bigger = folder.appendingPathComponent("bigger.dcm")
        try writeSourceSlice(bigger, uid: "\(SourceSeries.series).90", rows: 6, columns: 7, z: 10)
        let sizeError = inputError {
            try writeDICOMSegmentation(masks: masks, sources: series.files + [bigger], rows: series.rows,
                                       columns: series.columns, segmentLabel: "Liver", to: out)
        }
        #expect(sizeError?.reason == "sources differ in size: \(bigger.path) is 6x7 (rows x columns), "
                + "\(series.files[0].path) is 5x7")

        let tilted = folder.appendingPathComponent("tilted.dcm")
        try writeSourceSlice(tilted, uid: "\(SourceSeries.series).91", rows: 5, columns: 7, z: 10,
                             orientation: "1\\0\\0\\0\\0.8\\0.6")
        let orientationError = inputError {
            try writeDICOMSegmentation(masks: masks, sources: series.files + [tilted], rows: series.rows,
                                       columns: series.columns, segmentLabel: "Liver", to: out)
        }
        #expect(orientationError?.reason == "sources differ in orientation: \(tilted.path), \(series.files[0].path)")

        let countError = inputError {
            try writeDICOMSegmentation(masks: masks, sources: series.files, rows: series.rows,
                                       columns: series.columns, segmentLabel: "Liver", to: out)
        }
        #expect(countError?.reason == "4 masks for 3 source slices")

        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names == ["bigger.dcm", "slice0.dcm", "slice1.dcm", "slice2.dcm", "tilted.dcm"])
    }

    @Test func readerRefusesFilesThatAreNotBinarySegmentations() throws {
        let folder = try makeTemporaryFolder()
        let series = try SourceSeries(in: folder, slices: 2)
        #expect(inputError { _ = try readDICOMSegmentation(at: series.files[0]) }?.reason
                == "not a DICOM Segmentation (SOP Class 1.2.840.10008.5.1.4.1.1.2)")
        let out = folder.appendingPathComponent("seg.dcm")
        try writeDICOMSegmentation(masks: Array(Self.knownMasks(rows: 5, columns: 7).prefix(2)),
                                   sources: series.files, rows: 5, columns: 7, segmentLabel: "Liver", to: out)
        // Cut into the pixel data, which end the file.
        let data = try Data(contentsOf: out)
        let cut = folder.appendingPathComponent("cut.dcm")
        try data.prefix(data.count - 3).write(to: cut)
        #expect(inputError { _ = try readDICOMSegmentation(at: cut) }?.reason
                == "damaged or truncated DICOM file (an element runs past the end)")
        // A consistent file whose pixel data (one 35-bit frame, 6 bytes) are too short for 10 frames.
        let inflated = folder.appendingPathComponent("inflated.dcm")
        try data.write(to: inflated)
        try DCMTKFiles.runTool(["dcmodify", "-nb", "-m", "(0028,0008)=10", inflated.path])
        #expect(inputError { _ = try readDICOMSegmentation(at: inflated) }?.reason
                == "damaged segmentation: pixel data hold 6 bytes, 44 expected for 10 frames")
        let fractional = folder.appendingPathComponent("fractional.dcm")
        try data.write(to: fractional)
        try DCMTKFiles.runTool(["dcmodify", "-nb", "-m", "(0062,0001)=FRACTIONAL", fractional.path])
        #expect(inputError { _ = try readDICOMSegmentation(at: fractional) }?.reason
                == "not a binary segmentation (Segmentation Type FRACTIONAL)")
    }

    /// The reader against an independent writer: a SEG that highdicom made (empty slice omitted).
    @Test func readsASegmentationThatHighdicomWrote() throws {
        let folder = try makeTemporaryFolder()
        let series = try SourceSeries(in: folder)
        let masks = Self.knownMasks(rows: series.rows, columns: series.columns)
        let expected = folder.appendingPathComponent("expected.raw")
        try Data(masks.flatMap { $0 }).write(to: expected)
        let out = folder.appendingPathComponent("highdicom.dcm")
        let script = """
            import sys, numpy as np, pydicom, highdicom as hd
            from pydicom.sr.codedict import codes
            out, masks, *paths = sys.argv[1:]
            sources = [pydicom.dcmread(p) for p in paths]
            pixels = np.fromfile(masks, dtype=np.uint8).reshape(len(sources), sources[0].Rows, sources[0].Columns) != 0
            segment = hd.seg.SegmentDescription(
                segment_number=1, segment_label="Liver", segmented_property_category=codes.SCT.AnatomicalStructure,
                segmented_property_type=codes.SCT.Liver, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
                algorithm_identification=hd.AlgorithmIdentificationSequence(
                    name="test", version="1", family=codes.cid7162.ArtificialIntelligence))
            hd.seg.Segmentation(
                source_images=sources, pixel_array=pixels, segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
                segment_descriptions=[segment], series_instance_uid=hd.UID(), series_number=2,
                sop_instance_uid=hd.UID(), instance_number=1, manufacturer="test", manufacturer_model_name="test",
                software_versions="1", device_serial_number="1").save_as(out)
            """
        let result = try run(["python3", "-c", script, out.path, expected.path] + series.files.map(\.path))
        try #require(result.status == 0, "highdicom (scripts/setup installs it): \(result.output)")
        #expect(try dumpValues(out, "0028,0008") == ["3"])
        let seg = try readDICOMSegmentation(at: out)
        #expect(seg.segmentLabel == "Liver")
        #expect(seg.referencedSeriesUID == SourceSeries.series)
        for (k, uid) in series.uids.enumerated() {
            #expect(seg.frames[uid] == masks[k].map { $0 != 0 ? 1 : 0 }, "slice \(k)")
        }
    }

    /// highdicom, an independent reader, must load the SEG and see the same masks.
    @Test func highdicomReadsTheSameMasks() throws {
        let (folder, series, masks, out) = try Self.writtenLiverSEG()
        let expected = folder.appendingPathComponent("expected.raw")
        try Data(masks.flatMap { $0 }).write(to: expected)
        let script = repositoryRoot.appendingPathComponent("scripts/check-dicom-seg").path
        let result = try run(["python3", script, out.path, "--sources"] + series.files.map(\.path)
                             + ["--label", "Liver", "--expected", expected.path])
        #expect(result.status == 0, "scripts/check-dicom-seg (needs highdicom: scripts/setup): \(result.output)")
        #expect(result.output.contains("\"ok\": true"), "\(result.output)")
    }
}
