import Testing
@testable import Tensors

/// Linear, matmul, sums and the layout ops against finite differences.
@Suite struct LinearBackwardTests {
    @Test func linearInputGradient() {
        var rng = SeededRandom(10)
        let w = rng.tensor([4, 6]), b = rng.tensor([4])
        let r = checkGradients([rng.tensor([2, 3, 6])]) { t, x in linear(x[0], weight: w, bias: b, tape: t) }
        #expect(r.passed, "\(r)")
    }

    @Test(arguments: [true, false])
    func matmulBothSides(transposeB: Bool) {
        var rng = SeededRandom(11)
        let a = rng.tensor([2, 3, 5]), b = rng.tensor(transposeB ? [2, 4, 5] : [2, 5, 4])
        let r = checkGradients([a, b]) { t, x in matmul(x[0], x[1], transposeB: transposeB, tape: t) }
        #expect(r.passed, "\(r)")
    }

    @Test func addSameShapeAndBroadcast() {
        var rng = SeededRandom(12)
        let same = checkGradients([rng.tensor([3, 4]), rng.tensor([3, 4])]) { t, x in add(x[0], x[1], tape: t) }
        #expect(same.passed, "\(same)")
        // A (4, 3) map broadcast over a batch of 2, as the dense prompt over images.
        let broadcast = checkGradients([rng.tensor([2, 4, 3]), rng.tensor([4, 3])]) { t, x in add(x[0], x[1], tape: t) }
        #expect(broadcast.passed, "\(broadcast)")
    }

    @Test func reshapePermuteConcatSlice() {
        var rng = SeededRandom(13)
        let a = rng.tensor([2, 3, 4]), b = rng.tensor([2, 2, 4])
        let r = checkGradients([a, b]) { t, x in
            let joined = concatenate([x[0], x[1]], axis: 1, tape: t)             // (2, 5, 4)
            let cut = slice(joined, axis: 1, 1..<4, tape: t)                      // (2, 3, 4)
            let chw = permuted(reshaped(cut, [2, 3, 2, 2], tape: t), [0, 3, 1, 2], tape: t)
            // A nonlinearity so that the layout must be right for the gradient to be.
            return matmul(chw, chw, transposeB: true, tape: t)
        }
        #expect(r.passed, "\(r)")
    }
}
