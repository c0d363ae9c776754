import Tensors

/// A small seeded generator, so every test sees the same "random" tensors.
struct SeededRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 6364136223846793005 &+ 1442695040888963407 }
    mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24) * 2 - 1
    }
    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        Tensor(shape: shape, values: (0..<Tensor.elementCount(shape)).map { _ in next() * scale })
    }
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

extension SeededRandom {
    /// Random MBConv (inverted residual) weights for `c` channels and `hidden` expanded ones.
    mutating func invertedResidualWeights(c: Int, hidden: Int) -> InvertedResidualWeights {
        InvertedResidualWeights(expand: tensor([hidden, c], scale: 0.5), expandBias: tensor([hidden]),
                                depthwise: tensor([3, 3, hidden], scale: 0.5), depthwiseBias: tensor([hidden]),
                                project: tensor([c, hidden], scale: 0.3), projectBias: tensor([c]))
    }
}
