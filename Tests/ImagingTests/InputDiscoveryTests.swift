import Foundation
import Testing
@testable import Imaging

/// The one set of rules for what path arguments hold.
@Suite struct InputDiscoveryTests {
    func touch(_ url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: url)
    }

    @Test func foldersFilesAndNestedSeries() throws {
        let root = try makeTemporaryFolder()
        // A folder with images, DICOM files beside a subfolder (once dropped), notes, and a patient/series tree.
        for name in ["a.png", "b.nii.gz", "IM0001", "IM0002.dcm", "notes.txt", "boxes.csv", "s1/1.dcm", "p1/s2/CT.1.2.3", "p2/s2/CT.1.2.4"] {
            try touch(root.appendingPathComponent(name))
        }
        let found = discoverInputs([root.path, root.appendingPathComponent("a.png").path, root.appendingPathComponent("missing.png").path])
        let named = found.inputs.map { "\($0.name)=\($0.url.path.dropFirst(root.path.count))" }
        #expect(named == ["a=/a.png", "b=/b.nii.gz", "\(root.lastPathComponent)=", "p1_s2=/p1/s2", "p2_s2=/p2/s2", "s1=/s1", "a=/a.png"])
        #expect(found.errors.map(\.reason) == ["no such file or folder"])
    }

    @Test func datasetFolderGivesItsCasesImages() throws {
        let root = try makeTemporaryFolder()
        for name in ["images/c1.png", "masks/c1.png", "images/c2.png", "masks/c2.png"] { try touch(root.appendingPathComponent(name)) }
        #expect(discoverInputs([root.path]).inputs.map(\.name) == ["c1", "c2"])
        #expect(scanStem(URL(fileURLWithPath: "/x/ct.nii.gz")) == "ct" && scanStem(URL(fileURLWithPath: "/x/CT.1.2.3")) == "CT.1.2.3")
    }
}
