import Foundation
import Testing
@testable import Models

/// Checkpoints the fuzz targets found or that pin a limit they led to (fixtures/fuzz/;
/// docs/robustness.md): each is refused with one error naming the file and the reason,
/// before anything is allocated from its sizes. `scripts/fuzz --replay` runs them under
/// AddressSanitizer as well.
@Suite struct CheckpointFuzzRegressionTests {
    static func expectRefused(_ target: String, _ name: String, _ reason: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        let url = ParityFixtures.repositoryRoot.appendingPathComponent("fixtures/fuzz/\(target)/\(name)")
        #expect(FileManager.default.fileExists(atPath: url.path), "missing fixture \(url.path)", sourceLocation: sourceLocation)
        do {
            _ = try loadCheckpoint(at: url)
            Issue.record("\(name) was loaded; it should be refused (\(reason))", sourceLocation: sourceLocation)
        } catch let error as CheckpointError {
            #expect(error.file == url.path, sourceLocation: sourceLocation)
            #expect(error.reason.contains(reason), "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error) is not a CheckpointError", sourceLocation: sourceLocation)
        }
    }

    /// A ZIP64 record claiming 14·10^15 entries: the array was reserved from it (ASan:
    /// allocation-size-too-big).
    @Test func zip64EntryCountBeyondTheDirectory() {
        Self.expectRefused("pth", "zip64-entry-count.pth", "entries cannot fit")
    }

    /// A deflated entry claiming 4 GB from 572 compressed bytes: its buffer was allocated first.
    @Test func deflatedEntryClaimingMoreThanDeflateCanHold() {
        Self.expectRefused("pth", "deflated-size-claim.pth", "compressed bytes cannot hold")
    }

    /// shape [2^32, 2^32, 4]: the element count overflowed (a trap).
    @Test func safetensorsShapeWhoseCountOverflows() {
        Self.expectRefused("safetensors", "shape-overflow.safetensors", "more than 2^31 elements")
    }

    @Test func checkedCountsAndExtents() {
        #expect(checkedElementCount([3, 0, 5]) == 0)
        #expect(checkedElementCount([1 << 40, 1 << 40, 0]) == nil)
        #expect(checkedElementCount([1 << 31]) == 1 << 31)
        #expect(checkedElementCount([(1 << 31) + 1]) == nil)
        #expect(checkedElementCount([2, -1]) == nil)
        #expect(storageExtent(shape: [2, 3], strides: [3, 1]) == 6)
        #expect(storageExtent(shape: [1 << 40, 2], strides: [1 << 40, 1]) == nil)
    }
}
