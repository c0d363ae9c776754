import Foundation
import Tensors
import Testing
@testable import Tuning

/// A (C, H, W) tensor whose value names its place: 100·c + 10·y + x.
private func labelledEmbedding(channels: Int, height: Int, width: Int) -> Tensor {
    let t = Tensor(uninitialized: [channels, height, width])
    for c in 0 ..< channels { for y in 0 ..< height { for x in 0 ..< width {
        t.data[(c * height + y) * width + x] = Float(100 * c + 10 * y + x)
    } } }
    return t
}

@Test func embeddingMovesByWholeCellsAndRepeatsTheEdge() {
    let moved = EmbeddingShift(dx: 2, dy: -1).applied(toEmbedding: labelledEmbedding(channels: 2, height: 3, width: 4))
    // Row y shows source row y + 1 (clamped to 2); column x shows source column x − 2 (clamped to 0).
    let expected: [[Float]] = [[10, 10, 10, 11], [20, 20, 20, 21], [20, 20, 20, 21]]
    for c in 0 ..< 2 { for y in 0 ..< 3 { for x in 0 ..< 4 {
        #expect(moved.data[(c * 3 + y) * 4 + x] == expected[y][x] + Float(100 * c), "c \(c) y \(y) x \(x)")
    } } }
}

@Test func targetMovesByTheSameDistanceAtItsResolution() {
    // A 2×2-pixel square at (2...3, 4...5) on an 8×8 target, 2 target pixels a cell.
    let target = Tensor(zeros: [8, 8])
    for y in 4 ... 5 { for x in 2 ... 3 { target.data[y * 8 + x] = 1 } }
    let moved = EmbeddingShift(dx: 1, dy: -1).applied(toTarget: target, cellSize: 2)
    var ones: [Int] = []
    for i in 0 ..< 64 where moved.data[i] == 1 { ones.append(i) }
    #expect(ones == [2 * 8 + 4, 2 * 8 + 5, 3 * 8 + 4, 3 * 8 + 5])
    #expect(moved.data.reduce(0, +) == 4)

    // Moved out of the frame: dropped, and nothing comes in.
    let gone = EmbeddingShift(dx: -2, dy: 0).applied(toTarget: target, cellSize: 2)
    #expect(gone.data.reduce(0, +) == 0)
}

@Test func randomMovesStayWithinTheLimitAndFollowTheSeed() {
    var a = SeededGenerator(seed: 7), b = SeededGenerator(seed: 7)
    var seen = Set<Int>()
    for _ in 0 ..< 200 {
        let s = EmbeddingShift.random(maxCells: 3, using: &a), t = EmbeddingShift.random(maxCells: 3, using: &b)
        #expect((s.dx, s.dy) == (t.dx, t.dy))
        #expect(abs(s.dx) <= 3 && abs(s.dy) <= 3)
        seen.insert(s.dx)
    }
    #expect(seen == Set(-3 ... 3))
}
