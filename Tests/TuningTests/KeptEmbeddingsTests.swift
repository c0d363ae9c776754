import Foundation
import Tensors
import Testing
@testable import Tuning

/// A long volume's embeddings go to a temporary file and come back bit for bit, so the
/// cascade's masks do not depend on where they were kept.
struct KeptEmbeddingsTests {
    static func embedding(_ seed: Float) -> Tensor {
        Tensor(shape: [1, 8, 8, 16], values: (0..<1024).map { sin(Float($0) * seed) * 1e3 + seed })
    }

    @Test(arguments: [KeptEmbeddings.inMemorySlices, KeptEmbeddings.inMemorySlices + 1])
    func embeddingsComeBackBitForBit(slices: Int) throws {
        let kept = KeptEmbeddings(slices: slices)
        for z in [5, 0, 3] { try kept.store(Self.embedding(Float(z) + 0.5), at: z) }
        #expect(kept.contains(3) && !kept.contains(1))
        for z in [0, 3, 5, 3] {
            let back = try kept.embedding(at: z)
            #expect(back.shape == [1, 8, 8, 16])
            #expect(back.values.map(\.bitPattern) == Self.embedding(Float(z) + 0.5).values.map(\.bitPattern))
        }
    }
}
