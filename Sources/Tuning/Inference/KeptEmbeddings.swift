import Foundation
import Imaging
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// The image embeddings of a volume's slices, kept while the cascade needs them (its 3-D
/// step sees every slice before it draws a box). Each is 4 MB (64×64×256 floats), so a
/// 340-slice CT would hold 1.4 GB: past `inMemorySlices`, they go to an unlinked temporary
/// file and are read back when asked for, bit for bit, so memory stays that of a few
/// slices whatever the volume's length, and the masks are the same.
final class KeptEmbeddings {
    /// Volumes up to this many slices keep their embeddings in memory (256 MB).
    static let inMemorySlices = 64

    private let spills: Bool
    private var inMemory: [Int: Tensor] = [:]
    private var onDisk: [Int: (offset: Int, shape: [Int])] = [:]
    private var descriptor: Int32 = -1
    private var end = 0

    init(slices: Int) { spills = slices > Self.inMemorySlices }

    deinit { if descriptor >= 0 { close(descriptor) } }

    func contains(_ z: Int) -> Bool { inMemory[z] != nil || onDisk[z] != nil }

    func store(_ embedding: Tensor, at z: Int) throws {
        guard spills else { inMemory[z] = embedding; return }
        if descriptor < 0 { try openFile() }
        let bytes = embedding.count * MemoryLayout<Float>.size
        let written = pwrite(descriptor, UnsafeRawPointer(embedding.data.baseAddress!), bytes, off_t(end))
        guard written == bytes else { throw failure("cannot write the slices' embeddings to a temporary file") }
        onDisk[z] = (end, embedding.shape)
        end += bytes
    }

    func embedding(at z: Int) throws -> Tensor {
        if let tensor = inMemory[z] { return tensor }
        guard let (offset, shape) = onDisk[z] else { preconditionFailure("slice \(z)'s embedding was never stored") }
        let tensor = Tensor(uninitialized: shape)
        let bytes = tensor.count * MemoryLayout<Float>.size
        guard pread(descriptor, UnsafeMutableRawPointer(tensor.data.baseAddress!), bytes, off_t(offset)) == bytes else {
            throw failure("cannot read the slices' embeddings back from their temporary file")
        }
        return tensor
    }

    /// In the temporary folder (TMPDIR), unlinked at once: nothing is left behind, even by
    /// a killed process.
    private func openFile() throws {
        var pattern = Array((FileManager.default.temporaryDirectory.path + "/segtune-embeddings-XXXXXX").utf8CString)
        descriptor = mkstemp(&pattern)
        guard descriptor >= 0 else { throw failure("cannot create a temporary file for the slices' embeddings") }
        unlink(String(cString: pattern))
    }

    private func failure(_ what: String) -> InputError {
        InputError(file: FileManager.default.temporaryDirectory.path, reason: "\(what) (\(String(cString: strerror(errno))))")
    }
}
