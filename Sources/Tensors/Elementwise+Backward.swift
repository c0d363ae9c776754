/// Backward of the sums in Elementwise.swift, and of the layout ops (permute).

/// out = a + b  ⇒  dA += dOut (and dB += dOut): one accumulate per side.
public func addBackward(_ dOut: UnsafePointer<Float>, _ dInp: UnsafeMutablePointer<Float>, _ count: Int) {
    addForward(dInp, dOut, dInp, count)
}

/// rows[r, :] += vector  ⇒  dVector += Σ_r dRows[r, :]. dRows is (rowCount, width), dVector (width).
public func addRowsBackward(_ dRows: UnsafePointer<Float>, _ dVector: UnsafeMutablePointer<Float>,
                            rowCount: Int, width: Int) {
    for r in 0..<rowCount { addForward(dVector, dRows + r * width, dVector, width) }
}

/// y = x.permuted(axes)  ⇒  dX += dY.permuted(inverse of axes).
public func permuteBackward(_ dOut: Tensor, axes: [Int], into dInp: Tensor) {
    var inverse = [Int](repeating: 0, count: axes.count)
    for (i, a) in axes.enumerated() { inverse[a] = i }
    dInp.add(dOut.permuted(inverse))
}
