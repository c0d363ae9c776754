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

    /// A 703-byte JPEG claiming 65500 × 65500: libjpeg filled it with gray for 21 s in 4 GB.
    @Test func jpegClaimingMorePixelsThanTheCapIsRefused() {
        Self.expectRefused(Self.fixture("jpeg", "65500x65500-baseline.jpg"), "more pixels than segtune reads") { _ = try readVolume(at: $0) }
    }

    /// 554 bytes of progressive JPEG claiming 16000 × 16000 (under the pixel cap): its
    /// coefficient buffer alone is 512 MB; libjpeg's memory is capped at 256 MB.
    @Test func progressiveJPEGNeedingGigabytesIsRefused() {
        Self.expectRefused(Self.fixture("jpeg", "16000x16000-progressive.jpg"), "needs more than 256 MB") { _ = try readVolume(at: $0) }
    }

    /// A 67-byte PNG claiming 65535 × 65535 (16 GB as floats): refused at its header.
    @Test func pngClaimingMorePixelsThanTheCapIsRefused() {
        Self.expectRefused(Self.fixture("png", "65535x65535.png"), "more pixels than segtune reads") { _ = try readMask(at: $0) }
        Self.expectRefused(Self.fixture("png", "65535x65535.png"), "more pixels than segtune reads") { _ = try readVolume(at: $0) }
    }

    /// A 6 KB JPEG 2000 file whose Rows and Columns say 65535: 17 GB were zeroed for the
    /// frame before its 64 × 64 codestream was checked (90 s).
    @Test func jpeg2000FrameIsCheckedBeforeItsBufferExists() {
        Self.expectRefused(Self.fixture("dicom", "jpeg2000-65535x65535.dcm"), "the codestream is 64x64") { _ = try readVolume(at: $0) }
    }

    /// 65535 × 65535 × 2^31 − 1 frames of 16 bits: the byte count wrapped around 2^64.
    @Test func frameCountCannotWrapThePixelDataSize() {
        Self.expectRefused(Self.fixture("dicom", "frames-overflow.dcm"), "2147483647 frame(s) of 8589672450 expected") { _ = try readVolume(at: $0) }
    }
}
