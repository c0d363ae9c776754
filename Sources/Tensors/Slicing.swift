/// Concatenation and slicing along one axis (token sequences: the decoder's
/// [iou token | mask tokens | prompts], the mask tokens' outputs). The engine
/// copies these inline; these are the Tensor ops with their backwards.
///
/// Along `axis`, a tensor is `outer` blocks of (shape[axis] · inner) contiguous values,
/// outer = Π shape[..<axis], inner = Π shape[(axis+1)...].

func splitAround(_ shape: [Int], axis: Int) -> (outer: Int, inner: Int) {
    (shape[..<axis].reduce(1, *), shape[(axis + 1)...].reduce(1, *))
}

/// parts, equal except along `axis` → their concatenation along `axis`.
public func concatenate(_ parts: [Tensor], axis: Int) -> Tensor {
    precondition(!parts.isEmpty, "concatenate: no parts")
    var shape = parts[0].shape
    for p in parts {
        var s = p.shape; s[axis] = shape[axis]
        precondition(s == shape, "concatenate: \(p.shape) does not match \(parts[0].shape) off axis \(axis)")
    }
    shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
    let out = Tensor(uninitialized: shape)
    let (outer, inner) = splitAround(shape, axis: axis)
    let row = shape[axis] * inner
    var offset = 0
    for p in parts {
        let chunk = p.shape[axis] * inner
        for o in 0..<outer { (out.ptr + o * row + offset).update(from: p.ptr + o * chunk, count: chunk) }
        offset += chunk
    }
    return out
}

/// dOut of the concatenation ⇒ dPart += its block, for the part starting at `start` along `axis`.
public func concatenateBackward(_ dOut: Tensor, axis: Int, start: Int, into dPart: Tensor) {
    let (outer, inner) = splitAround(dOut.shape, axis: axis)
    let row = dOut.shape[axis] * inner, chunk = dPart.shape[axis] * inner
    for o in 0..<outer { addBackward(dOut.ptr + o * row + start * inner, dPart.ptr + o * chunk, chunk) }
}

/// x[..., range, ...] along `axis` (a copy).
public func slice(_ x: Tensor, axis: Int, _ range: Range<Int>) -> Tensor {
    precondition(range.lowerBound >= 0 && range.upperBound <= x.shape[axis], "slice: \(range) outside \(x.shape) axis \(axis)")
    var shape = x.shape; shape[axis] = range.count
    let out = Tensor(uninitialized: shape)
    let (outer, inner) = splitAround(x.shape, axis: axis)
    let row = x.shape[axis] * inner, chunk = range.count * inner
    for o in 0..<outer { (out.ptr + o * chunk).update(from: x.ptr + o * row + range.lowerBound * inner, count: chunk) }
    return out
}

/// dOut of the slice ⇒ dX[..., range, ...] += dOut.
public func sliceBackward(_ dOut: Tensor, axis: Int, _ range: Range<Int>, into dX: Tensor) {
    let (outer, inner) = splitAround(dX.shape, axis: axis)
    let row = dX.shape[axis] * inner, chunk = range.count * inner
    for o in 0..<outer { addBackward(dOut.ptr + o * chunk, dX.ptr + o * row + range.lowerBound * inner, chunk) }
}
