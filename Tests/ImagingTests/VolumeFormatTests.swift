import Foundation
import Testing
@testable import Imaging

/// NRRD files written by pynrrd and MetaImage files written by ITK (SimpleITK), from a
/// crop of TotalSegmentator's test CT (scripts/make-nrrd-fixtures), against the same crop
/// written as NIfTI by nibabel: each must reach the same canonical voxels, spacing and
/// place in the patient.
@Suite struct VolumeFormatTests {
    static let folder = repositoryRoot.appendingPathComponent("fixtures/nrrd")

    /// Canonical voxel (i, j, k) → LPS mm, from the stored affine and the axis map.
    static func corners(_ volume: Volume) throws -> [[Double]] {
        let geometry = try #require(volume.geometry)
        let affine = try #require(geometry.affine)
        let size = geometry.canonicalSize
        // The canonical origin and the far corner, mapped back to stored indices.
        return [[0, 0, 0], size.map { $0 - 1 }].map { canonical in
            var stored = [0, 0, 0]
            for c in 0..<3 {
                let a = geometry.axes[c]
                stored[a] = geometry.flips[c] ? geometry.storedSize[a] - 1 - canonical[c] : canonical[c]
            }
            return (0..<3).map { r in (0..<3).reduce(affine[r][3]) { $0 + affine[r][$1] * Double(stored[$1]) } }
        }
    }

    @Test(arguments: ["ct.nrrd", "ct-lps.nhdr", "ct-permuted.nrrd", "ct.mha", "ct-permuted.mhd"])
    func readsAsTheNIfTIOfTheSameVoxels(name: String) throws {
        let nifti = try readVolume(at: Self.folder.appendingPathComponent("ct.nii.gz"))
        let nrrd = try readVolume(at: Self.folder.appendingPathComponent(name))
        #expect(nrrd.slices.count == nifti.slices.count && nrrd.slices.count == 6)
        #expect(nrrd.slices.map(\.pixels) == nifti.slices.map(\.pixels))
        #expect(nrrd.spacing == nifti.spacing && nrrd.spacing == [3, 3, 3])
        let (a, b) = (try Self.corners(nrrd), try Self.corners(nifti))
        for (p, q) in zip(a.joined(), b.joined()) { #expect(abs(p - q) < 1e-4) }
    }

    @Test func slicerSegmentationIsALabelMapWithSegmentNames() throws {
        let url = Self.folder.appendingPathComponent("labels.seg.nrrd")
        let liver = try readMask(at: url, labels: [5])
        let reference = try readMask(at: Self.folder.appendingPathComponent("labels.nii.gz"), labels: [5])
        #expect(liver.voxels == reference.voxels && liver.foregroundCount > 0)
        #expect(liver.width == 24 && liver.height == 20 && liver.depth == 6)
        let file = try readNRRD(at: url)
        #expect(file.labelNames[5] == "liver" && file.labelNames[79] == "spinal_cord" && file.labelNames.count == 6)
        #expect(try readMask(at: Self.folder.appendingPathComponent("labels.mha"), labels: [5]).voxels == reference.voxels)
    }

    @Test func datasetsPairAScanWithItsSlicerSegmentation() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("segtune-nrrd-set-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        for sub in ["images", "masks"] { try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true) }
        try FileManager.default.copyItem(at: Self.folder.appendingPathComponent("ct.nrrd"), to: dir.appendingPathComponent("images/case1.nrrd"))
        try FileManager.default.copyItem(at: Self.folder.appendingPathComponent("labels.seg.nrrd"), to: dir.appendingPathComponent("masks/case1.seg.nrrd"))
        let dataset = try discoverDataset(at: dir)
        #expect(dataset.cases.map(\.name) == ["case1"] && dataset.unpaired.isEmpty)
        #expect(discoverInputs([dir.appendingPathComponent("images").path]).inputs.map(\.name) == ["case1"])
    }

    @Test(arguments: ["ct.nii.gz", "ct-permuted.nrrd", "ct-permuted.mhd"])
    func masksWrittenAsNRRDLandOnTheInputsGrid(input: String) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("segtune-nrrd-out-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let volume = try readVolume(at: Self.folder.appendingPathComponent(input))
        let liver = try readMask(at: Self.folder.appendingPathComponent("labels.nii.gz"), labels: [5])
        try writePredictedMask(liver, of: volume, name: "case", formats: [.nrrd, .segNrrd], label: "liver", to: dir)
        #expect(predictedMaskExists(name: "case", formats: [.nrrd, .segNrrd], overlays: false, in: dir))
        for name in ["case.nrrd", "case.seg.nrrd"] {
            let url = dir.appendingPathComponent(name)
            #expect(try readMask(at: url).voxels == liver.voxels)
            // Stored like the input, placed like it.
            let back = try readVolume(at: url)
            #expect(back.geometry?.storedSize == volume.geometry?.storedSize)
            let (a, b) = (try Self.corners(back), try Self.corners(volume))
            for (p, q) in zip(a.joined(), b.joined()) { #expect(abs(p - q) < 1e-4) }
        }
        #expect(try readNRRD(at: dir.appendingPathComponent("case.seg.nrrd")).labelNames == [1: "liver"])
    }

    /// slicerio (the reader Slicer's developers publish) sees one segment named by the task
    /// with label value 1, the input's voxel → LPS matrix, and the liver voxels, for inputs
    /// stored RAS, LPS, and with the axes permuted.
    @Test(arguments: ["ct.nii.gz", "ct-lps.nhdr", "ct-permuted.nrrd"])
    func slicerioReadsTheSegmentOnTheInputsGrid(input: String) throws {
        let dir = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let like = Self.folder.appendingPathComponent(input), labels = Self.folder.appendingPathComponent("labels.nii.gz")
        let liver = try readMask(at: labels, labels: [5])
        try writePredictedMask(liver, of: try readVolume(at: like), name: "case", formats: [.segNrrd], label: "liver", to: dir)
        let check = try run(["python3", repositoryRoot.appendingPathComponent("scripts/check-slicer-seg").path,
                             dir.appendingPathComponent("case.seg.nrrd").path, "--like", like.path, "--segment", "liver",
                             "--expected", labels.path, "--expected-label", "5"])
        #expect(check.status == 0, "scripts/check-slicer-seg (needs slicerio: scripts/setup): \(check.output)")
        #expect(check.output.contains("\"foreground\": \(liver.foregroundCount),"), "\(check.output)")
    }

    @Test func damagedFilesAreOneLineErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("segtune-nrrd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try Data(contentsOf: Self.folder.appendingPathComponent("ct.nrrd"))
        let headerEnd = try #require(good.range(of: Data("\n\n".utf8))).upperBound
        let header = String(decoding: good[..<headerEnd], as: UTF8.self)
        let cases: [(String, Data, String)] = [
            ("truncated", good.prefix(good.count - 100), "truncated"),
            ("huge", Data(header.replacingOccurrences(of: "sizes: 24 20 6", with: "sizes: 100000 100000 1000").utf8) + good[headerEnd...], "more than segtune reads"),
            ("bomb", Data(header.replacingOccurrences(of: "sizes: 24 20 6", with: "sizes: 1024 1024 1024").replacingOccurrences(of: "type: int16", with: "type: double").utf8) + good[headerEnd...], "cannot hold"),
            ("layers", Data("NRRD0004\ntype: uint8\ndimension: 4\nsizes: 3 2 2 2\nspace: left-posterior-superior\nspace directions: none (1,0,0) (0,1,0) (0,0,1)\nencoding: raw\n\n".utf8) + Data(count: 24), "3 values per voxel"),
            ("notnrrd", Data("P5 2 2 255\n".utf8), "not a NRRD file"),
            ("encoding", Data("NRRD0004\ntype: uint8\ndimension: 3\nsizes: 1 1 1\nencoding: bzip2\n\n".utf8), "unsupported 'encoding' bzip2"),
            ("endian", Data("NRRD0004\ntype: short\ndimension: 3\nsizes: 1 1 1\nencoding: raw\n\n\0\0".utf8), "needs 'endian'"),
            ("detached", Data("NRRD0004\ntype: uint8\ndimension: 3\nsizes: 2 2 2\nencoding: raw\ndata file: missing.raw\n".utf8), "cannot read"),
        ]
        let mha = try Data(contentsOf: Self.folder.appendingPathComponent("ct.mha"))
        let mhaCases: [(String, Data, String)] = [
            ("mha-truncated", mha.prefix(mha.count - 200), "truncated"),
            ("mha-channels", Data("NDims = 3\nDimSize = 2 2 2\nElementNumberOfChannels = 3\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n".utf8), "3 channels per voxel"),
            ("mha-binary", Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "not a MetaImage file"),
        ]
        for (name, bytes, reason) in cases + mhaCases {
            let url = dir.appendingPathComponent(name + (name.hasPrefix("mha") ? ".mha" : ".nrrd"))
            try bytes.write(to: url)
            do {
                _ = try readVolume(at: url)
                Issue.record("\(name): read without error")
            } catch let error as InputError {
                #expect(error.description.contains(reason), "\(name): \(error.description)")
                #expect(!error.description.contains("\n"))
            }
        }
    }
}
