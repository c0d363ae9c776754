/// Tensor-level ops that record their backward on a `Tape` (see Tape.swift).
///
/// Each computes its forward with the engine's kernel; with `tape: nil`, or when no
/// input is tracked by the tape, that is all it does (inference cost, nothing kept).
/// Otherwise it records a closure holding only what its backward reads. Outputs are
/// always new tensors: in-place forms would overwrite what a backward needs.

/// nn.Linear: x (..., in) → (..., out). Backward: dX += dY · W (the closure keeps no activation).
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, tape: Tape?) -> Tensor {
    let y = linear(x, weight: weight, bias: bias)
    guard let tape, let xs = tape.slot(of: x) else { return y }
    let inF = weight.shape[1], outF = weight.shape[0], rows = x.count / inF
    tape.record(y) { tape, dy in
        linearBackward(dy.ptr, weight.ptr, tape.gradient(slot: xs).ptr, rows: rows, inFeatures: inF, outFeatures: outF)
    }
    return y
}

/// a + b, where b has a's shape or a's trailing axes (broadcast over the leading ones:
/// a positional encoding, a dense prompt repeated over the batch or the grid).
public func add(_ a: Tensor, _ b: Tensor, tape: Tape?) -> Tensor {
    precondition(b.rank <= a.rank && Array(a.shape.suffix(b.rank)) == b.shape, "add: \(b.shape) does not broadcast to \(a.shape)")
    let y: Tensor
    if a.count == b.count {
        y = Tensor(uninitialized: a.shape)
        addForward(a.ptr, b.ptr, y.ptr, a.count)
    } else {
        y = a.copy()
        addRowsForward(y.ptr, b.ptr, rowCount: a.count / max(b.count, 1), width: b.count)
    }
    guard let tape else { return y }
    let aS = tape.slot(of: a), bS = tape.slot(of: b)
    if aS == nil && bS == nil { return y }
    let rows = a.count / max(b.count, 1), width = b.count
    tape.record(y) { tape, dy in
        if let aS { addBackward(dy.ptr, tape.gradient(slot: aS).ptr, dy.count) }
        if let bS { addRowsBackward(dy.ptr, tape.gradient(slot: bS).ptr, rowCount: rows, width: width) }
    }
    return y
}

/// Batched product of two activations: a (..., m, k) · b (..., n, k)ᵀ when `transposeB`,
/// else a · b with b (..., k, n); the leading axes hold the same batch count.
public func matmul(_ a: Tensor, _ b: Tensor, transposeB: Bool, tape: Tape?) -> Tensor {
    let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1]
    let n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
    let bk = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
    let batch = a.count / (m * k)
    precondition(bk == k && b.count == batch * n * k, "matmul: \(a.shape) · \(b.shape)\(transposeB ? "ᵀ" : "")")
    let y = Tensor(uninitialized: Array(a.shape.dropLast(2)) + [m, n])
    matmulForward(a.ptr, b.ptr, y.ptr, batch: batch, m: m, n: n, k: k, transposeB: transposeB)
    guard let tape else { return y }
    let aS = tape.slot(of: a), bS = tape.slot(of: b)
    if aS == nil && bS == nil { return y }
    tape.record(y) { tape, dy in
        matmulBackward(dy.ptr, a.ptr, b.ptr, dA: aS.map { tape.gradient(slot: $0).ptr },
                       dB: bS.map { tape.gradient(slot: $0).ptr }, batch: batch, m: m, n: n, k: k, transposeB: transposeB)
    }
    return y
}

/// LayerNorm over the last axis (also LayerNorm2d on channels-last maps). Keeps the input.
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float, tape: Tape?) -> Tensor {
    let y = layerNorm(x, weight: weight, bias: bias, eps: eps)
    guard let tape, let xs = tape.slot(of: x) else { return y }
    let width = x.shape.last!
    tape.record(y) { tape, dy in
        layerNormBackward(dy.ptr, x.ptr, weight: weight.ptr, tape.gradient(slot: xs).ptr,
                          rows: x.count / width, width: width, eps: eps)
    }
    return y
}

/// GELU (exact erf). Keeps the input.
public func gelu(_ x: Tensor, tape: Tape?) -> Tensor {
    let y = x.gelu()
    guard let tape, let xs = tape.slot(of: x) else { return y }
    tape.record(y) { tape, dy in geluBackward(x.ptr, dy.ptr, tape.gradient(slot: xs).ptr, x.count) }
    return y
}

/// ReLU. Keeps the output.
public func relu(_ x: Tensor, tape: Tape?) -> Tensor {
    let y = x.relu()
    guard let tape, let xs = tape.slot(of: x) else { return y }
    tape.record(y) { tape, dy in reluBackward(y.ptr, dy.ptr, tape.gradient(slot: xs).ptr, y.count) }
    return y
}

/// Sigmoid. Keeps the output.
public func sigmoid(_ x: Tensor, tape: Tape?) -> Tensor {
    let y = x.sigmoid()
    guard let tape, let xs = tape.slot(of: x) else { return y }
    tape.record(y) { tape, dy in sigmoidBackward(y.ptr, dy.ptr, tape.gradient(slot: xs).ptr, y.count) }
    return y
}

/// Softmax over the last axis. Keeps the output.
public func softmax(_ x: Tensor, tape: Tape?) -> Tensor {
    let width = x.shape.last!, rows = x.count / width
    let y = x.copy()
    softmaxRowsForward(y.ptr, rows: rows, width: width)
    guard let tape, let xs = tape.slot(of: x) else { return y }
    tape.record(y) { tape, dy in
        softmaxRowsBackward(y.ptr, dy.ptr, tape.gradient(slot: xs).ptr, rows: rows, width: width)
    }
    return y
}

/// The same storage under another shape (a view, as `Tensor.reshaped`); its gradient flows to x.
public func reshaped(_ x: Tensor, _ shape: [Int], tape: Tape?) -> Tensor {
    let y = x.reshaped(shape)
    guard let tape, let xs = tape.slot(of: x) else { return y }
    tape.record(y) { tape, dy in addBackward(dy.ptr, tape.gradient(slot: xs).ptr, dy.count) }
    return y
}

/// Axes permuted (a copy), as `Tensor.permuted`: tokens (N, HW, C) ↔ other layouts.
public func permuted(_ x: Tensor, _ axes: [Int], tape: Tape?) -> Tensor {
    let y = x.permuted(axes)
    guard let tape, let xs = tape.slot(of: x) else { return y }
    tape.record(y) { tape, dy in permuteBackward(dy, axes: axes, into: tape.gradient(slot: xs)) }
    return y
}

/// Concatenation along `axis`; each tracked part gets its block of the gradient.
public func concatenate(_ parts: [Tensor], axis: Int, tape: Tape?) -> Tensor {
    let y = concatenate(parts, axis: axis)
    guard let tape else { return y }
    var starts: [(slot: Int, start: Int)] = [], start = 0
    for p in parts {
        if let s = tape.slot(of: p) { starts.append((s, start)) }
        start += p.shape[axis]
    }
    if starts.isEmpty { return y }
    tape.record(y) { tape, dy in
        for (s, start) in starts { concatenateBackward(dy, axis: axis, start: start, into: tape.gradient(slot: s)) }
    }
    return y
}

/// x[..., range, ...] along `axis`.
public func slice(_ x: Tensor, axis: Int, _ range: Range<Int>, tape: Tape?) -> Tensor {
    let y = slice(x, axis: axis, range)
    guard let tape, let xs = tape.slot(of: x) else { return y }
    tape.record(y) { tape, dy in sliceBackward(dy, axis: axis, range, into: tape.gradient(slot: xs)) }
    return y
}

/// x repeated `count` times along a new leading axis: (count, x.shape...). For one set of
/// prompt tokens shared by every window or batch item; its gradient is the sum of the copies'.
public func repeated(_ x: Tensor, count: Int, tape: Tape?) -> Tensor {
    let y = Tensor(uninitialized: [count] + x.shape)
    for i in 0..<count { (y.ptr + i * x.count).update(from: x.ptr, count: x.count) }
    guard let tape, let xs = tape.slot(of: x) else { return y }
    tape.record(y) { tape, dy in addRowsBackward(dy.ptr, tape.gradient(slot: xs).ptr, rowCount: count, width: x.count) }
    return y
}
