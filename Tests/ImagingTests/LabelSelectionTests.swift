import Foundation
import Testing
@testable import Imaging

/// `--label liver`: segment names of a Slicer segmentation (fixtures/nrrd/labels.seg.nrrd,
/// written by pynrrd with TotalSegmentator's names: liver = 5, spinal_cord = 79, …).
@Suite struct LabelSelectionTests {
    static let folder = repositoryRoot.appendingPathComponent("fixtures/nrrd")

    @Test func numbersAreLabelValuesAndAnythingElseASegmentName() {
        #expect(LabelSelection(parsing: "5") == LabelSelection(values: [5]))
        #expect(LabelSelection(parsing: "liver, 2") == LabelSelection(values: [2], names: ["liver"]))
        #expect(LabelSelection(parsing: "vertebrae_L1,spinal_cord")?.names == ["vertebrae_L1", "spinal_cord"])
        for bad in ["", "1,,2", "-1", "liver,"] { #expect(LabelSelection(parsing: bad) == nil, "\(bad)") }
    }

    @Test func aNamePicksItsSegmentsLabelValue() throws {
        let segmentation = Self.folder.appendingPathComponent("labels.seg.nrrd")
        let reference = try readMask(at: Self.folder.appendingPathComponent("labels.nii.gz"), labels: [5, 79])
        let named = try readMask(at: segmentation, selecting: LabelSelection(parsing: "liver,spinal_cord"))
        #expect(named.voxels == reference.voxels && named.foregroundCount > 0)
        let mixed = try readMask(at: segmentation, selecting: LabelSelection(parsing: "liver,79"))
        #expect(mixed.voxels == reference.voxels)
        // Values alone keep working, on any mask.
        #expect(try readMask(at: segmentation, selecting: [5]).voxels == readMask(at: segmentation, labels: [5]).voxels)
    }

    @Test func anUnknownNameIsOneErrorListingTheNamesPresent() throws {
        let segmentation = Self.folder.appendingPathComponent("labels.seg.nrrd")
        let error = try #require(inputError { _ = try readMask(at: segmentation, selecting: LabelSelection(names: ["livr"])) })
        #expect(error.file == segmentation.path)
        #expect(error.reason == "no segment named 'livr'; its segments: kidney_right (2), liver (5), adrenal_gland_right (8), "
                + "vertebrae_L1 (31), spinal_cord (79), autochthon_right (89)")
        // A file without segment names (NIfTI, a plain NRRD) says that is why.
        for name in ["labels.nii.gz", "ct.nrrd"] {
            let url = Self.folder.appendingPathComponent(name)
            let plain = try #require(inputError { _ = try readMask(at: url, selecting: LabelSelection(names: ["liver"])) })
            #expect(plain.file == url.path && plain.reason.contains("has no segment names"), "\(plain.description)")
        }
    }

    /// fit's path: a dataset case whose mask is a .seg.nrrd, picked by segment name.
    @Test func datasetCasesPickSegmentsByName() throws {
        let dir = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        for sub in ["images", "masks"] { try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true) }
        try FileManager.default.copyItem(at: Self.folder.appendingPathComponent("ct.nrrd"), to: dir.appendingPathComponent("images/case1.nrrd"))
        try FileManager.default.copyItem(at: Self.folder.appendingPathComponent("labels.seg.nrrd"), to: dir.appendingPathComponent("masks/case1.seg.nrrd"))
        let item = try discoverDataset(at: dir).cases[0]
        let byName = try loadCase(item, labels: LabelSelection(names: ["liver"]))
        let byValue = try loadCase(item, labels: [5])
        #expect(byName.masks == byValue.masks && byName.masks.contains { $0.foregroundCount > 0 })
    }
}
