import Foundation
import Tensors

/// Moves a training example in the embedding's grid, so that the tokens learn what the
/// structure looks like rather than where it lies in the frame.
///
/// Two patients frame one structure differently even after the body crop (the spinal
/// cord's centre 0.04 of the frame apart on TotalSegmentator's two test CTs, more than
/// the cord's width), and tokens fitted to one scan point at the first patient's place.
/// The image encoder is a convolution/windowed-attention stack without absolute position
/// embeddings, so moving its output by whole cells is close to encoding a moved image,
/// while the decoder's positional encoding stays put: the cheap way to train on a new
/// position at every step without encoding again (docs/tuning.md, "Position").
public struct EmbeddingShift: Sendable, Equatable {
    /// Cells in x and y; positive moves content right and down.
    public var dx: Int
    public var dy: Int

    public init(dx: Int, dy: Int) { (self.dx, self.dy) = (dx, dy) }

    /// A move of up to `maxCells` in each direction, drawn from `generator`.
    public static func random(maxCells: Int, using generator: inout SeededGenerator) -> EmbeddingShift {
        EmbeddingShift(dx: Int.random(in: -maxCells ... maxCells, using: &generator),
                       dy: Int.random(in: -maxCells ... maxCells, using: &generator))
    }

    public var isNone: Bool { dx == 0 && dy == 0 }

    /// The embedding (C, H, W) moved; uncovered cells repeat the nearest edge cell
    /// (after the body crop the frame's edge is air or padding, as is what came in).
    public func applied(toEmbedding embedding: Tensor) -> Tensor {
        precondition(embedding.rank == 3, "an image embedding is (C, H, W)")
        let (channels, height, width) = (embedding.shape[0], embedding.shape[1], embedding.shape[2])
        let out = Tensor(uninitialized: embedding.shape)
        for c in 0 ..< channels {
            let plane = c * height * width
            for y in 0 ..< height {
                let sy = min(max(y - dy, 0), height - 1)
                for x in 0 ..< width {
                    out.data[plane + y * width + x] = embedding.data[plane + sy * width + min(max(x - dx, 0), width - 1)]
                }
            }
        }
        return out
    }

    /// The target (S, S) moved by the same distance at its resolution (`cellSize` target
    /// pixels a cell); what moves out is dropped and what comes in is background.
    public func applied(toTarget target: Tensor, cellSize: Int) -> Tensor {
        precondition(target.rank == 2, "a target is (S, S)")
        let (height, width) = (target.shape[0], target.shape[1])
        let (mx, my) = (dx * cellSize, dy * cellSize)
        let out = Tensor(zeros: target.shape)
        for y in max(0, my) ..< min(height, height + my) {
            for x in max(0, mx) ..< min(width, width + mx) {
                out.data[y * width + x] = target.data[(y - my) * width + (x - mx)]
            }
        }
        return out
    }
}
