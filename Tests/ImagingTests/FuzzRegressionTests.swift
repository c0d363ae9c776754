import Foundation
import Testing
import Imaging

/// Inputs the fuzz targets found (minimised, fixtures/fuzz/TARGET/; docs/robustness.md):
/// each must be refused with one error that names the file and the reason, through the
/// function the CLI and the target call. `scripts/fuzz --replay` runs them under the
/// sanitizers as well.
@Suite struct FuzzRegressionTests {
    static func fixture(_ target: String, _ name: String) -> URL {
        repositoryRoot.appendingPathComponent("fixtures/fuzz/\(target)/\(name)")
    }

    /// `read` throws an `InputError` for `url` whose reason contains `reason`.
    static func expectRefused(_ url: URL, _ reason: String, _ read: (URL) throws -> Void,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(FileManager.default.fileExists(atPath: url.path), "missing fixture \(url.path)", sourceLocation: sourceLocation)
        do {
            try read(url)
            Issue.record("\(url.lastPathComponent) was read; it should be refused (\(reason))", sourceLocation: sourceLocation)
        } catch let error as InputError {
            #expect(error.file == url.path, sourceLocation: sourceLocation)
            #expect(error.reason.contains(reason), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error) is not an InputError", sourceLocation: sourceLocation)
        }
    }

    /// A deflated dataset whose element claims 3 GB: DCMTK reserves it (never touched),
    /// then finds the stream short; one clean error.
    @Test func deflatedDICOMWithAHugeElementIsTruncated() {
        Self.expectRefused(Self.fixture("dicom", "deflated-3gb-element.dcm"), "truncated") { _ = try readVolume(at: $0) }
    }
}
