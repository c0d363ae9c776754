import Foundation

/// Softmax and multi-head scaled dot-product attention.
///
/// Attention works on strided views so that callers need no head-splitting
/// copies: TinyViT's fused qkv rows (token, head, [q|k|v]) and SAM's separate
/// projections are both just different strides.

/// Softmax of each row of `rows × width`, in place.
public func softmaxRowsForward(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
    for r in 0..<rows { softmaxRow(x + r * width, width) }
}

@inline(__always) func softmaxRow(_ p: UnsafeMutablePointer<Float>, _ n: Int) {
    var mv = Vec8(repeating: -.infinity), i = 0
    while i + 8 <= n { let v = load8(p + i); mv.replace(with: v, where: v .> mv); i += 8 }
    var m = -Float.infinity
    for l in 0..<8 { m = max(m, mv[l]) }
    while i < n { m = max(m, p[i]); i += 1 }
    let m8 = Vec8(repeating: m)
    var acc = Vec8()
    i = 0
    while i + 8 <= n { let e = exp8(load8(p + i) - m8); store8(e, p + i); acc += e; i += 8 }
    var s = acc.sum()
    while i < n { let e = Foundation.exp(p[i] - m); p[i] = e; s += e; i += 1 }
    let inv = Vec8(repeating: 1 / s)
    i = 0
    while i + 8 <= n { store8(load8(p + i) * inv, p + i); i += 8 }
    while i < n { p[i] *= inv[0]; i += 1 }
}

/// Where element (sequence s, token t, head h, channel d) lives:
/// `base + s·sequenceStride + t·rowStride + h·headStride + d`.
/// The view holds its tensor, so the storage outlives every kernel given the view.
public struct HeadView: @unchecked Sendable {
    public let tensor: Tensor
    public var offset: Int
    public var sequenceStride: Int, rowStride: Int, headStride: Int
    public init(_ tensor: Tensor, offset: Int = 0, sequenceStride: Int, rowStride: Int, headStride: Int) {
        self.tensor = tensor; self.offset = offset
        self.sequenceStride = sequenceStride; self.rowStride = rowStride; self.headStride = headStride
    }
    var base: UnsafeMutablePointer<Float> { tensor.ptr + offset }
    @inline(__always) func at(_ s: Int, _ h: Int) -> UnsafeMutablePointer<Float> {
        base + s * sequenceStride + h * headStride
    }
}

/// The sizes of one attention call.
public struct AttentionShape: Sendable {
    public var sequences: Int, heads: Int, queries: Int, keys: Int, headDim: Int, valueDim: Int
    public var scale: Float
    public init(sequences: Int, heads: Int, queries: Int, keys: Int, headDim: Int, valueDim: Int? = nil, scale: Float? = nil) {
        self.sequences = sequences; self.heads = heads; self.queries = queries; self.keys = keys
        self.headDim = headDim; self.valueDim = valueDim ?? headDim
        self.scale = scale ?? 1 / Float(headDim).squareRoot()
    }
}

/// out = softmax(scale · q·kᵀ + bias) · v for every (sequence, head).
/// bias: (heads, queries, keys) added to the scaled scores, or nil.
/// addBias: writes a per-(sequence, head) additive bias into the (queries, keys)
/// buffer it is given (SAM ViT's relative positions), instead of `bias`.
/// probs: where to keep the probabilities (sequences, heads, queries, keys) for a
/// backward pass, or nil to use per-thread scratch.
/// Parallel over (sequence, head) pairs, single-threaded BLAS inside.
public func attentionForward(q: HeadView, k: HeadView, v: HeadView, out: HeadView, shape a: AttentionShape,
                             bias: UnsafePointer<Float>? = nil,
                             addBias: ((_ sequence: Int, _ head: Int, _ into: UnsafeMutablePointer<Float>) -> Void)? = nil,
                             probs: UnsafeMutablePointer<Float>? = nil) {
    let tile = a.queries * a.keys
    let biasBox = UncheckedBox(bias), probsBox = UncheckedBox(probs), addBox = UncheckedBox(addBias)
    let biased = bias != nil || addBias != nil
    Threads.parallelRanges(a.sequences * a.heads) { range in
        let scratch = probsBox.value == nil ? UnsafeMutablePointer<Float>.allocate(capacity: tile) : nil
        scratch?.initialize(repeating: 0, count: tile)
        defer { scratch?.deallocate() }
        for job in range {
            let s = job / a.heads, h = job % a.heads
            let p = probsBox.value.map { $0 + job * tile } ?? scratch!
            if let addBias = addBox.value {
                addBias(s, h, p)
            } else if let bias = biasBox.value {
                p.update(from: bias + h * tile, count: tile)
            }
            gemm(transB: true, m: a.queries, n: a.keys, k: a.headDim, alpha: a.scale,
                 a: q.at(s, h), lda: q.rowStride, b: k.at(s, h), ldb: k.rowStride,
                 beta: biased ? 1 : 0, c: p, ldc: a.keys)
            softmaxRowsForward(p, rows: a.queries, width: a.keys)
            gemm(m: a.queries, n: a.valueDim, k: a.keys, a: p, lda: a.keys,
                 b: v.at(s, h), ldb: v.rowStride, c: out.at(s, h), ldc: out.rowStride)
        }
    }
}
