import Foundation
import Testing
@testable import Imaging

/// Writes one 2×3 (rows × columns) 16-bit DICOM slice whose pixels all equal `value`.
func writeSlice(_ url: URL, series: String, instance: Int?, position: [Double]?, orientation: [Double]? = nil, value: Int) throws {
    let raw = url.deletingPathExtension().appendingPathExtension("raw")
    try Data((0..<6).flatMap { _ in [UInt8(value & 0xFF), UInt8(value >> 8)] }).write(to: raw)
    var dump = [
        "(0008,0016) UI =CTImageStorage",
        "(0008,0018) UI [1.2.826.0.1.3680043.9.7777.4.\(abs(url.lastPathComponent.hashValue % 1_000_000))]",
        "(0008,0060) CS [CT]",
        "(0020,000e) UI [\(series)]",
        "(0028,0002) US 1", "(0028,0004) CS [MONOCHROME2]", "(0028,0010) US 2", "(0028,0011) US 3",
        "(0028,0030) DS [0.7\\0.7]",
        "(0028,0100) US 16", "(0028,0101) US 16", "(0028,0102) US 15", "(0028,0103) US 0",
    ]
    if let instance { dump.append("(0020,0013) IS [\(instance)]") }
    if let position { dump.append("(0020,0032) DS [\(position.map { "\($0)" }.joined(separator: "\\"))]") }
    if let orientation { dump.append("(0020,0037) DS [\(orientation.map { "\($0)" }.joined(separator: "\\"))]") }
    dump.append("(7fe0,0010) OW =\(raw.path)")
    let dumpURL = url.deletingPathExtension().appendingPathExtension("dump")
    try dump.joined(separator: "\n").appending("\n").write(to: dumpURL, atomically: true, encoding: .utf8)
    try DCMTKFiles.runTool(["dump2dcm", dumpURL.path, url.path])
    try FileManager.default.removeItem(at: raw)
    try FileManager.default.removeItem(at: dumpURL)
}

@Suite struct SeriesTests {
    // Coronal slices: rows along +x, columns along −z, so the normal is +y. Sorting by z
    // (or by Instance Number, here reversed) would give another order.
    let coronal: [Double] = [1, 0, 0, 0, 0, -1]
    let ys: [Double] = [10, 12.5, 15, 17.5]
    let zs: [Double] = [3, 9, 1, 4]

    @Test func seriesSortsAlongTheSliceNormal() throws {
        let folder = try makeTemporaryFolder()
        for (k, order) in [2, 0, 3, 1].enumerated() {
            try writeSlice(folder.appendingPathComponent("file\(k).dcm"), series: "1.2.3.1", instance: 10 - order,
                           position: [0, ys[order], zs[order]], orientation: coronal, value: order)
        }
        let volume = try readVolume(at: folder)
        // Stored order follows the normal; then the coronal slices are brought to canonical
        // LPS order (columns → left, rows → posterior, slices → superior): each canonical
        // slice's rows are the stored slices, in order.
        #expect(volume.storedSlices?.map { $0.instanceNumber } == [10, 9, 8, 7])
        #expect(volume.geometry?.storedCode == "LIP")
        #expect(volume.slices.count == 2 && volume.slices.allSatisfy { $0.width == 3 && $0.height == 4 })
        #expect(volume.slices[0].pixels == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
        #expect(abs(volume.spacing![1] - (2.5 * 2.5 + 1.0 / 9).squareRoot()) < 1e-9 && volume.spacing![0] == 0.7 && volume.spacing![2] == 0.7)
        #expect(volume.seriesInstanceUID == "1.2.3.1")
    }

    /// Slices whose Image Orientation (Patient) differ are not one volume: one clear line.
    @Test func mixedOrientationsAreAClearError() throws {
        let folder = try makeTemporaryFolder()
        try writeSlice(folder.appendingPathComponent("a.dcm"), series: "1.2.3.5", instance: 1, position: [0, 0, 0], orientation: [1, 0, 0, 0, 1, 0], value: 1)
        try writeSlice(folder.appendingPathComponent("b.dcm"), series: "1.2.3.5", instance: 2, position: [0, 0, 1], orientation: coronal, value: 2)
        let error = #expect(throws: InputError.self) { try readVolume(at: folder) }
        #expect(error?.reason.hasPrefix("slices have different orientations") == true)
    }

    @Test func withoutPositionsInstanceNumberOrders() throws {
        let folder = try makeTemporaryFolder()
        for (name, instance) in [("a.dcm", 3), ("b.dcm", 1), ("c.dcm", 2)] {
            try writeSlice(folder.appendingPathComponent(name), series: "1.2.3.2", instance: instance, position: nil, value: instance)
        }
        #expect(try readImages(at: folder).map { $0.pixels[0] } == [1, 2, 3])
    }

    @Test func mixedSeriesAreSplitAndReported() throws {
        let folder = try makeTemporaryFolder()
        try writeSlice(folder.appendingPathComponent("a1.dcm"), series: "1.2.3.10", instance: 1, position: [0, 0, 0], value: 1)
        try writeSlice(folder.appendingPathComponent("a2.dcm"), series: "1.2.3.10", instance: 2, position: [0, 0, 1], value: 2)
        try writeSlice(folder.appendingPathComponent("b1.dcm"), series: "1.2.3.20", instance: 1, position: [0, 0, 0], value: 9)
        try Data("not dicom".utf8).write(to: folder.appendingPathComponent("notes.dcm"))
        let scan = try scanDICOMFolder(at: folder)
        #expect(scan.series.map(\.seriesInstanceUID) == ["1.2.3.10", "1.2.3.20"])
        #expect(scan.series.map(\.slices.count) == [2, 1])
        #expect(scan.skipped.map { URL(fileURLWithPath: $0.file).lastPathComponent } == ["notes.dcm"])
        let error = inputError { _ = try readVolume(at: folder) }
        #expect(error?.reason == "holds 2 DICOM series: 1.2.3.10 (2 slices), 1.2.3.20 (1 slice)")
    }
}
