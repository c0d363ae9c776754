import Foundation
import Tensors

/// A frozen base model as tasks know it: the segmenter and the SHA-256 of the checkpoint
/// it was loaded from. task.json records that digest and the embedding cache is keyed by
/// it, so the two are loaded together and a caller cannot pair a model with another
/// checkpoint's digest.
public final class BaseModel: @unchecked Sendable {
    public let segmenter: Segmenter
    /// The file it was loaded from; nil for a model built in memory.
    public let checkpoint: URL?
    private let lock = NSLock()
    private var digest: String?

    /// Loads `checkpoint` (a `.pth` zip or `.safetensors`, never executing code from it).
    public init(preset: ModelPreset, checkpoint: URL) throws {
        segmenter = try Segmenter(preset: preset, weights: loadCheckpoint(at: checkpoint))
        self.checkpoint = checkpoint
    }

    /// A model built in memory, with the digest it stands for (tests, converted weights).
    public init(segmenter: Segmenter, sha256: String) {
        (self.segmenter, self.checkpoint, self.digest) = (segmenter, nil, sha256)
    }

    public var preset: ModelPreset { segmenter.model.preset }

    /// The checkpoint's SHA-256, hashed on first use (about 0.2 s for LiteMedSAM's 39 MB;
    /// zero-shot prediction without a cache never needs it).
    public func sha256() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let digest { return digest }
        guard let checkpoint else { preconditionFailure("a BaseModel built in memory is given its digest") }
        let hashed = try SHA256.hexDigest(ofFile: checkpoint)
        digest = hashed
        return hashed
    }
}
