import Testing
@testable import Tensors

/// Input gradients of the convolutions, windows and resize (channels-last, packed weights).
@Suite struct ConvBackwardTests {
    @Test func transposedConv2x2InputGradient() {
        var rng = SeededRandom(40)
        let w = packTransposedConvWeight(rng.tensor([5, 3, 2, 2])), b = rng.tensor([3])
        let r = checkGradients([rng.tensor([2, 2, 3, 5])]) { t, x in transposedConv2x2(x[0], weight: w, bias: b, tape: t) }
        #expect(r.passed, "\(r)")
    }

    /// (kernel, stride, padding, groups): 3×3 same, strided 3×3, 1×1 (the GEMM path), grouped.
    @Test(arguments: [(3, 1, 1, 1), (3, 2, 1, 1), (1, 1, 0, 1), (3, 1, 1, 2), (2, 2, 0, 1)])
    func conv2dInputGradient(kernel: Int, stride: Int, padding: Int, groups: Int) {
        var rng = SeededRandom(41)
        let w = packConvWeight(rng.tensor([4, 4 / groups, kernel, kernel])), b = rng.tensor([4])
        let g = ConvGeometry(kernel: kernel, stride: stride, padding: padding)
        let r = checkGradients([rng.tensor([2, 5, 5, 4])]) { t, x in
            conv2d(x[0], weight: w, bias: b, geometry: g, groups: groups, tape: t)
        }
        #expect(r.passed, "\(r)")
    }

    /// Depthwise 3×3 at stride 1 and 2; 11 channels reach both the vector and the scalar loop.
    @Test(arguments: [1, 2])
    func depthwiseInputGradient(stride: Int) {
        var rng = SeededRandom(42)
        let w = packDepthwiseWeight(rng.tensor([11, 1, 3, 3])), b = rng.tensor([11])
        let g = ConvGeometry(kernel: 3, stride: stride, padding: 1)
        let r = checkGradients([rng.tensor([1, 5, 4, 11])]) { t, x in depthwiseConv2d(x[0], weight: w, bias: b, geometry: g, tape: t) }
        #expect(r.passed, "\(r)")
    }

    /// 5×5 into 3×3 windows pads to 6×6; a product makes the gradient depend on the layout.
    @Test func windowPartitionAndUnpartition() {
        var rng = SeededRandom(43)
        let r = checkGradients([rng.tensor([1, 5, 5, 2])]) { t, x in
            let windows = windowPartition(x[0], window: 3, tape: t)               // (4, 9, 2)
            let mixed = matmul(windows, windows, transposeB: true, tape: t)        // (4, 9, 9)
            let back = windowUnpartition(slice(mixed, axis: 2, 0..<2, tape: t), window: 3, height: 5, width: 5, tape: t)
            return matmul(back, x[0], transposeB: true, tape: t)
        }
        #expect(r.passed, "\(r)")
    }

    @Test(arguments: [(7, 5), (3, 8)])
    func bilinearResizeGradient(outHeight: Int, outWidth: Int) {
        var rng = SeededRandom(44)
        let r = checkGradients([rng.tensor([2, 4, 5])]) { t, x in resizeBilinear(x[0], height: outHeight, width: outWidth, tape: t) }
        #expect(r.passed, "\(r)")
    }
}
