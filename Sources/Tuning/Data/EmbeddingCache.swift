import Foundation
import Imaging
import Models
import Tensors

/// Image embeddings on disk, so that decoder-mode training encodes each image
/// (and each augmented variant) once, across epochs and across `fit` runs.
///
/// A key is the SHA-256 of the model's weights digest, the preprocessing
/// version, and the exact encoder input (which already holds the window, the
/// resize, the augmentation and the normalisation): any change to any of them
/// is a different key, so a stale embedding is never reused. One file per key,
/// `<directory>/<key>.safetensors` (4 MiB for LiteMedSAM's 64×64×256). Processes may
/// share a cache: each checks for a key before encoding, and files appear whole.
public struct EmbeddingCache: Sendable {
    /// Bump when the encoder's numerics change in a way the key cannot see.
    static let formatVersion = "segtune-embedding-v1"

    public let directory: URL
    public let modelDigest: String

    public init(directory: URL, modelDigest: String) {
        self.directory = directory
        self.modelDigest = modelDigest
    }

    /// The cache of `model`'s embeddings in `directory`.
    public init(directory: URL, model: BaseModel) throws {
        self.init(directory: directory, modelDigest: try model.sha256())
    }

    public func key(for input: Tensor) -> String {
        var hasher = SHA256()
        hasher.update("\(Self.formatVersion)\n\(modelDigest)\n\(input.shape)\n")
        hasher.update(UnsafeRawBufferPointer(input.data))
        return hasher.hexDigest()
    }

    func url(for key: String) -> URL { directory.appendingPathComponent(key + ".safetensors") }

    /// The cached embedding, or nil when absent or unreadable (then it is recomputed).
    public func embedding(forKey key: String) -> Tensor? {
        let url = url(for: key)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return (try? readSafetensors(at: url))?["embedding"]
    }

    /// Safe beside other processes sharing the folder (several shards, several hosts): a
    /// unique temporary name, then a rename, so a reader sees the whole file or none.
    public func store(_ embedding: Tensor, forKey key: String) throws {
        try AtomicFiles.createFolder(directory)
        let final = url(for: key)
        let temporary = AtomicFiles.temporary(beside: final)
        do {
            try writeSafetensors(["embedding": embedding], metadata: ["model_sha256": modelDigest], to: temporary)
        } catch let error as CheckpointError {
            throw CheckpointError(file: final.path, reason: error.reason)   // the file a user can find, not the temporary
        }
        try AtomicFiles.moveIntoPlace(temporary, at: final)
    }

    /// The embedding of `image`: from the cache, or computed by `segmenter` and stored.
    /// `computed` tells the caller whether the encoder ran.
    public func embedding(of image: PreparedImage, using segmenter: Segmenter) throws -> (embedding: Tensor, computed: Bool) {
        let key = key(for: image.input)
        if let cached = embedding(forKey: key) { return (cached, false) }
        let embedding = segmenter.imageEmbedding(image)
        try store(embedding, forKey: key)
        return (embedding, true)
    }
}
