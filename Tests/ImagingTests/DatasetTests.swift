import Foundation
import Testing
@testable import Imaging

@Suite struct DatasetTests {
    func folder(_ root: URL, _ name: String) throws -> URL {
        let url = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func gray(_ width: Int, _ height: Int, _ f: (Int) -> UInt8 = { UInt8($0 % 2) }) -> [UInt8] {
        (0..<(width * height)).map(f)
    }

    @Test func pngPairsAndUnpairedFilesInOneWarning() throws {
        let root = try makeTemporaryFolder()
        let images = try folder(root, "images"), masks = try folder(root, "masks")
        try writeGrayPNG(gray(4, 3) { UInt8($0 * 10) }, width: 4, height: 3, to: images.appendingPathComponent("a.png"))
        try writeGrayPNG(gray(4, 3), width: 4, height: 3, to: masks.appendingPathComponent("a.png"))
        try writeGrayPNG(gray(4, 3), width: 4, height: 3, to: images.appendingPathComponent("b.png"))
        try writeGrayPNG(gray(5, 3), width: 5, height: 3, to: masks.appendingPathComponent("b.png"))
        try writeGrayPNG(gray(4, 3), width: 4, height: 3, to: masks.appendingPathComponent("c.png"))
        try Data("notes".utf8).write(to: images.appendingPathComponent("readme.txt"))

        let dataset = try discoverDataset(at: root)
        #expect(dataset.layout == .imagesMasks)
        #expect(dataset.cases.map(\.name) == ["a", "b"])
        #expect(dataset.unpaired.map(\.lastPathComponent) == ["readme.txt", "c.png"])
        #expect(dataset.unpairedWarning?.contains("images/readme.txt, masks/c.png") == true)

        let a = try loadCase(dataset.cases[0])
        #expect(a.images.count == 1 && a.masks.count == 1)
        #expect(a.masks[0].voxels == gray(4, 3))
        #expect(a.images[0].pixels[2] == 20)

        let error = inputError { _ = try loadCase(dataset.cases[1]) }
        #expect(error?.file == masks.appendingPathComponent("b.png").path)
        #expect(error?.reason == "mask is 5×3×1, its image \(images.appendingPathComponent("b.png").path) is 4×3×1")
    }

    @Test func nnUNetLayoutWithLabelSelection() throws {
        let root = try makeTemporaryFolder()
        let images = try folder(root, "imagesTr"), labels = try folder(root, "labelsTr")
        let image = NIfTIBuilder(dims: [2, 2, 2], datatype: 4, values: [1, 2, 3, 4, 5, 6, 7, 8], pixdim: [0.5, 0.5, 2])
        try Data(gzipStored(image.encoded())).write(to: images.appendingPathComponent("liver_007_0000.nii.gz"))
        try Data(gzipStored(image.encoded())).write(to: images.appendingPathComponent("liver_007_0001.nii.gz"))
        let label = NIfTIBuilder(dims: [2, 2, 2], datatype: 2, values: [0, 1, 2, 0, 2, 2, 0, 1])
        try Data(gzipStored(label.encoded())).write(to: labels.appendingPathComponent("liver_007.nii.gz"))

        let dataset = try discoverDataset(at: root)
        #expect(dataset.layout == .nnUNet)
        #expect(dataset.cases.map(\.name) == ["liver_007"])
        #expect(dataset.unpaired.map(\.lastPathComponent) == ["liver_007_0001.nii.gz"])
        let item = try loadCase(dataset.cases[0], labels: [2])
        #expect(item.images.count == 2 && item.masks.count == 2)
        #expect(item.masks.map(\.voxels) == [[0, 0, 1, 0], [1, 1, 0, 0]])
        #expect(item.spacing == [0.5, 0.5, 2])
    }

    @Test func dicomSeriesWithPerSliceMasks() throws {
        let root = try makeTemporaryFolder()
        let series = try folder(root, "images/ct01"), masks = try folder(root, "masks/ct01")
        for k in 1...3 {
            try writeSlice(series.appendingPathComponent("IM\(k)"), series: "1.2.3.30", instance: k, position: [0, 0, Double(k)], value: k)
        }
        try writeGrayPNG([0, 1, 1, 0, 0, 1], width: 3, height: 2, to: masks.appendingPathComponent("0001.png"))
        try writeGrayPNG([1, 1, 1, 0, 0, 0], width: 3, height: 2, to: masks.appendingPathComponent("0003.png"))
        let dataset = try discoverDataset(at: root)
        #expect(dataset.cases.first?.maskIsSliceFolder == true)
        let item = try loadCase(dataset.cases[0])
        #expect(item.images.map { $0.pixels[0] } == [1, 2, 3])
        #expect(item.masks.map(\.voxels) == [[0, 1, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0], [1, 1, 1, 0, 0, 0]])
        #expect(item.slicesWithoutMaskFile == [2])

        try writeGrayPNG([1, 1], width: 2, height: 1, to: masks.appendingPathComponent("0002.png"))
        let error = inputError { _ = try loadCase(dataset.cases[0]) }
        #expect(error?.file == masks.appendingPathComponent("0002.png").path)
        #expect(error?.reason.contains(series.path) == true)
    }

    @Test func notADatasetIsAClearError() throws {
        let root = try makeTemporaryFolder()
        #expect(try discoverDatasetIfPresent(at: root) == nil)
        #expect(inputError { _ = try discoverDataset(at: root) }?.reason.contains("not a dataset folder") == true)
        _ = try folder(root, "images")
        #expect(inputError { _ = try discoverDataset(at: root) }?.reason == "has images/ but no masks/ folder")
    }

    @Test func bundledDemoDataPairsUp() throws {
        let demo = repositoryRoot.appendingPathComponent("fixtures/demo/white-matter")
        guard FileManager.default.fileExists(atPath: demo.path) else { return }  // arrives with the lead's branch
        let dataset = try discoverDataset(at: demo)
        #expect(!dataset.cases.isEmpty)
        #expect(dataset.unpaired.isEmpty)
        let first = try loadCase(dataset.cases[0])
        #expect(first.masks[0].width == first.images[0].width)
    }
}
