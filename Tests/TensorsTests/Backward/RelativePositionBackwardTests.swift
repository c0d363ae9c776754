import Foundation
import Testing
@testable import Tensors

/// Attention with SAM ViT's decomposed relative positions (a bias computed from q).
@Suite struct RelativePositionBackwardTests {
    /// 2 sequences, 2 heads of dim 4; queries on a 3×2 grid, keys on a 2×2 grid.
    static let shape = (b: 2, heads: 2, d: 4, qh: 3, qw: 2, kh: 2, kw: 2)

    /// The forward against softmax(scale·q·kᵀ + q·Rh[y, ky] + q·Rw[x, kx])·v written out in Float64.
    @Test func forwardMatchesNaive() {
        let (b, heads, d, qh, qw, kh, kw) = Self.shape
        var rng = SeededRandom(60)
        let c = heads * d, nq = qh * qw, nk = kh * kw
        let q = rng.tensor([b, nq, c]), k = rng.tensor([b, nk, c]), v = rng.tensor([b, nk, c])
        let rh = rng.tensor([qh, kh, d]), rw = rng.tensor([qw, kw, d])
        let out = attention(q: q, k: k, v: v, heads: heads, relativePosition: rh, rw, tape: nil)
        var expected = [Float](repeating: 0, count: b * nq * c)
        for s in 0..<b { for h in 0..<heads { for i in 0..<nq {
            func qv(_ j: Int) -> Double { Double(q[flat: (s * nq + i) * c + h * d + j]) }
            var scores = [Double](repeating: 0, count: nk)
            for t in 0..<nk {
                let (y, x, ky, kx) = (i / qw, i % qw, t / kw, t % kw)
                var dotQK = 0.0, relH = 0.0, relW = 0.0
                for j in 0..<d {
                    dotQK += qv(j) * Double(k[flat: (s * nk + t) * c + h * d + j])
                    relH += qv(j) * Double(rh[flat: (y * kh + ky) * d + j])
                    relW += qv(j) * Double(rw[flat: (x * kw + kx) * d + j])
                }
                scores[t] = dotQK / Double(d).squareRoot() + relH + relW
            }
            let m = scores.max()!
            let e = scores.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
            for j in 0..<d {
                var acc = 0.0
                for t in 0..<nk { acc += e[t] / z * Double(v[flat: (s * nk + t) * c + h * d + j]) }
                expected[(s * nq + i) * c + h * d + j] = Float(acc)
            }
        } } }
        #expect(maxAbsDiff(out.values, expected) < 1e-5)
    }

    @Test func qkvGradients() {
        let (b, heads, d, qh, qw, kh, kw) = Self.shape
        var rng = SeededRandom(61)
        let c = heads * d
        let rh = rng.tensor([qh, kh, d]), rw = rng.tensor([qw, kw, d])
        let r = checkGradients([rng.tensor([b, qh * qw, c]), rng.tensor([b, kh * kw, c]), rng.tensor([b, kh * kw, c])]) { t, x in
            attention(q: x[0], k: x[1], v: x[2], heads: heads, relativePosition: rh, rw, tape: t)
        }
        #expect(r.passed, "\(r)")
    }

    /// The hooks see query-row blocks: blocks of 2 rows give the same gradients as one block.
    @Test func hooksInRowBlocksMatchOneBlock() {
        let (b, heads, d, qh, qw, kh, kw) = Self.shape
        var rng = SeededRandom(62)
        let c = heads * d, nq = qh * qw, nk = kh * kw
        let q = rng.tensor([b, nq, c]), k = rng.tensor([b, nk, c]), v = rng.tensor([b, nk, c]), dOut = rng.tensor([b, nq, c])
        let rh = rng.tensor([qh, kh, d]), rw = rng.tensor([qw, kw, d])
        func view(_ t: Tensor) -> HeadView { HeadView(t, sequenceStride: t.shape[1] * c, rowStride: c, headStride: d) }
        func grads(_ tileElements: Int) -> [Float] {
            let dq = Tensor(zeros: q.shape), dk = Tensor(zeros: k.shape)
            attentionBackward(q: view(q), k: view(k), v: view(v), dOut: view(dOut), dQ: view(dq), dK: view(dk), dV: nil,
                              shape: AttentionShape(sequences: b, heads: heads, queries: nq, keys: nk, headDim: d),
                              biasRows: { s, h, rows, into in
                                  relativePositionBiasRows(q: view(q).at(s, h), qStride: c, rh: rh, rw: rw, rows: rows, bias: into) },
                              biasGradient: { s, h, rows, g in
                                  relativePositionBiasBackward(dBias: g, rows: rows, rh: rh, rw: rw, dq: view(dq).at(s, h), dqStride: c) },
                              tileElements: tileElements)
            return dq.values + dk.values
        }
        let whole = grads(1 << 18), blocked = grads(2 * nk)
        #expect(maxAbsDiff(whole, blocked) < 1e-5)
        #expect(whole.contains { abs($0) > 1e-3 })
    }
}

/// The row-block bias equals the engine's whole-tile `decomposedRelativePositionBias`.
@Test func relativeBiasRowsMatchEngineKernel() {
    var rng = SeededRandom(63)
    let (qh, qw, kh, kw, d) = (3, 4, 2, 3, 5)
    let q = rng.tensor([qh * qw, 7]), rh = rng.tensor([qh, kh, d]), rw = rng.tensor([qw, kw, d])
    let whole = Tensor(zeros: [qh * qw, kh * kw]), rows = Tensor(zeros: [qh * qw, kh * kw])
    decomposedRelativePositionBias(q: q.ptr, qStride: 7, rh: rh, rw: rw, bias: whole.ptr)
    for start in stride(from: 0, to: qh * qw, by: 5) {
        let r = start..<min(qh * qw, start + 5)
        relativePositionBiasRows(q: q.ptr, qStride: 7, rh: rh, rw: rw, rows: r, bias: rows.ptr + start * kh * kw)
    }
    #expect(maxAbsDiff(whole.values, rows.values) < 1e-6)
    #expect(whole.maxAbs > 0.1)
}
