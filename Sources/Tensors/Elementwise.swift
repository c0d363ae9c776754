/// Elementwise sums, the residual connections and positional-encoding adds.

/// out[i] = a[i] + b[i] (out may alias a or b).
public func addForward(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                       _ out: UnsafeMutablePointer<Float>, _ count: Int) {
    var i = 0
    while i + 8 <= count { store8(load8(a + i) + load8(b + i), out + i); i += 8 }
    while i < count { out[i] = a[i] + b[i]; i += 1 }
}

/// rows[r, :] += vector for every row: a bias or an embedding broadcast over tokens.
public func addRowsForward(_ rows: UnsafeMutablePointer<Float>, _ vector: UnsafePointer<Float>,
                           rowCount: Int, width: Int) {
    for r in 0..<rowCount { addForward(rows + r * width, vector, rows + r * width, width) }
}

extension Tensor {
    /// self + other, same shape.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "shape mismatch \(a.shape) + \(b.shape)")
        let r = Tensor(uninitialized: a.shape)
        addForward(a.ptr, b.ptr, r.ptr, a.count)
        return r
    }

    /// self += other, same element count.
    public func add(_ other: Tensor) {
        precondition(count == other.count, "count mismatch \(shape) += \(other.shape)")
        addForward(ptr, other.ptr, ptr, count)
    }

    /// A tensor of `shape` filled with `value`.
    public convenience init(shape: [Int], repeating value: Float) {
        self.init(zeros: shape)
        data.update(repeating: value)
    }

    /// Largest absolute value (for tolerances).
    public var maxAbs: Float { data.reduce(0) { max($0, abs($1)) } }

    /// Permutes axes (a copy): result.shape[i] = shape[axes[i]]. For layout
    /// changes at the edges (tests, NCHW ↔ NHWC), not for hot loops.
    public func permuted(_ axes: [Int]) -> Tensor {
        precondition(axes.sorted() == Array(0..<rank), "bad permutation \(axes)")
        let newShape = axes.map { shape[$0] }
        var strides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * shape[i + 1] }
        let srcStrides = axes.map { strides[$0] }
        let r = Tensor(uninitialized: newShape)
        var index = [Int](repeating: 0, count: rank)
        let src = ptr, dst = r.ptr
        for o in 0..<count {
            var s = 0
            for d in 0..<rank { s += index[d] * srcStrides[d] }
            dst[o] = src[s]
            var d = rank - 1
            while d >= 0 { index[d] += 1; if index[d] < newShape[d] { break }; index[d] = 0; d -= 1 }
        }
        return r
    }
}
