import Foundation
import Testing
@testable import Imaging

@Suite struct NIfTITests {
    func write(_ bytes: [UInt8], _ name: String) throws -> URL {
        let url = try makeTemporaryFolder(name).appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    @Test(arguments: [Int16(2), 4, 8, 16, 64, 256, 512])
    func everyDatatypeReadsItsValues(_ datatype: Int16) throws {
        let unsigned: [Double] = [0, 1, 2, 200, 7, 9], signed: [Double] = [-3, 0, 5, 100, -100, 7]
        let values = datatype == 2 || datatype == 512 ? unsigned : signed
        let nifti = NIfTIBuilder(dims: [3, 2, 1], datatype: datatype, values: values)
        let volume = try readVolume(at: write(nifti.encoded(), "t\(datatype).nii"))
        #expect(volume.slices.count == 1)
        #expect(volume.slices[0].width == 3 && volume.slices[0].height == 2)
        #expect(volume.slices[0].pixels == values.map(Float.init))
    }

    @Test func scalingSpacingAndAxialSlicesFromGzip() throws {
        // 4 × 3 × 2 voxels, x fastest: slice z holds values 12z … 12z + 11.
        let values = (0..<24).map(Double.init)
        let nifti = NIfTIBuilder(dims: [4, 3, 2], datatype: 4, values: values, pixdim: [0.8, 0.9, 2.5], slope: 2, intercept: -10)
        for (name, bytes) in [("v.nii", nifti.encoded()), ("v.nii.gz", gzipStored(nifti.encoded()))] {
            let volume = try readVolume(at: write(bytes, name))
            #expect(volume.slices.count == 2)
            #expect(volume.spacing == [Double(Float(0.8)), Double(Float(0.9)), 2.5])
            let expected: [Float] = (12..<24).map { Float($0) * 2 - 10 }
            #expect(volume.slices[1].pixels == expected)
            #expect(volume.slices[0].pixelSpacing?.x == Double(Float(0.8)))
        }
    }

    @Test func bigEndianFilesRead() throws {
        let nifti = NIfTIBuilder(dims: [2, 2, 1], datatype: 16, values: [1.5, -2, 3, 4], bigEndian: true)
        #expect(try readImages(at: write(nifti.encoded(), "be.nii"))[0].pixels == [1.5, -2, 3, 4])
    }

    @Test func labelMapAsMaskWithSpacing() throws {
        let nifti = NIfTIBuilder(dims: [3, 1, 2], datatype: 2, values: [0, 1, 2, 2, 0, 3], pixdim: [1, 2, 3])
        let url = try write(gzipStored(nifti.encoded()), "labels.nii.gz")
        let any = try readMask(at: url)
        #expect(any.width == 3 && any.height == 1 && any.depth == 2)
        #expect(any.voxels == [0, 1, 1, 1, 0, 1])
        #expect(any.spacing == [1, 2, 3])
        #expect(try readMask(at: url, labels: [2]).voxels == [0, 0, 1, 1, 0, 0])
    }

    @Test func badFilesAreClearErrors() throws {
        var wrongSize = NIfTIBuilder(dims: [2, 2, 1], datatype: 2, values: [1, 2, 3, 4])
        wrongSize.headerSize = 400
        let wrong = try write(wrongSize.encoded(), "wrong.nii")
        #expect(inputError { _ = try readVolume(at: wrong) }?.reason
                == "not a NIfTI-1 file (header size sizeof_hdr is 400; NIfTI-1 has 348)")
        #expect(inputError { _ = try readMask(at: wrong) }?.file == wrong.path)

        let whole = NIfTIBuilder(dims: [8, 8, 4], datatype: 4, values: Array(repeating: 1, count: 256)).encoded()
        let shortData = try write(Array(whole.prefix(400)), "short.nii")
        #expect(inputError { _ = try readVolume(at: shortData) }?.reason.hasPrefix("truncated") == true)
        let gzip = gzipStored(whole)
        let cutGzip = try write(Array(gzip.prefix(gzip.count / 2)), "cut.nii.gz")
        #expect(inputError { _ = try readVolume(at: cutGzip) }?.file == cutGzip.path)

        let fourD = try write(NIfTIBuilder(dims: [2, 1, 1, 2], datatype: 2, values: [1, 2, 3, 4]).encoded(), "4d.nii")
        #expect(inputError { _ = try readVolume(at: fourD) }?.reason.contains("not supported") == true)
        let empty = try write([], "empty.nii")
        #expect(inputError { _ = try readVolume(at: empty) }?.reason == "empty file")
    }
}
