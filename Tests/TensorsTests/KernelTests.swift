import Foundation
import Testing
@testable import Tensors

/// Each kernel against a plain loop written from the PyTorch definition.
@Suite struct KernelTests {
    @Test func gemmMatchesNaiveProductForAllTransposes() {
        var rng = SeededRandom(1)
        let (m, n, k) = (5, 7, 9)
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = rng.tensor(ta ? [k, m] : [m, k]), b = rng.tensor(tb ? [n, k] : [k, n])
            let c = rng.tensor([m, n])
            var expected = [Float](repeating: 0, count: m * n)
            for i in 0..<m { for j in 0..<n {
                var s: Float = 0
                for p in 0..<k { s += (ta ? a[flat: p * m + i] : a[flat: i * k + p]) * (tb ? b[flat: j * k + p] : b[flat: p * n + j]) }
                expected[i * n + j] = 2 * s + 0.5 * c[flat: i * n + j]
            } }
            gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 2, a: a.ptr, lda: ta ? m : k,
                 b: b.ptr, ldb: tb ? k : n, beta: 0.5, c: c.ptr, ldc: n)
            #expect(maxAbsDiff(c.values, expected) < 1e-5)
        }
    }

    @Test func linearMatchesNaive() {
        var rng = SeededRandom(2)
        let x = rng.tensor([2, 3, 6]), w = rng.tensor([4, 6]), b = rng.tensor([4])
        let y = linear(x, weight: w, bias: b)
        #expect(y.shape == [2, 3, 4])
        var expected: [Float] = []
        for r in 0..<6 { for o in 0..<4 {
            var s = b[flat: o]
            for i in 0..<6 { s += x[flat: r * 6 + i] * w[flat: o * 6 + i] }
            expected.append(s)
        } }
        #expect(maxAbsDiff(y.values, expected) < 1e-5)
    }

    /// PyTorch's Conv2d on NCHW with weight (out, in/g, k, k), written out.
    func naiveConv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, pad: Int, groups: Int) -> Tensor {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, cg, k) = (w.shape[0], w.shape[1], w.shape[2])
        let ho = (h + 2 * pad - k) / stride + 1, wo = (wd + 2 * pad - k) / stride + 1
        let out = Tensor(zeros: [n, o, ho, wo])
        for bi in 0..<n { for oc in 0..<o { for oy in 0..<ho { for ox in 0..<wo {
            var s = b?[flat: oc] ?? 0
            let g = oc / (o / groups)
            for ci in 0..<cg { for ky in 0..<k { for kx in 0..<k {
                let iy = oy * stride - pad + ky, ix = ox * stride - pad + kx
                if iy < 0 || iy >= h || ix < 0 || ix >= wd { continue }
                s += x[flat: ((bi * c + g * cg + ci) * h + iy) * wd + ix] * w[flat: ((oc * cg + ci) * k + ky) * k + kx]
            } } }
            out[flat: ((bi * o + oc) * ho + oy) * wo + ox] = s
        } } } }
        return out
    }

    @Test(arguments: [(3, 1, 1, 1), (3, 2, 1, 2), (2, 2, 0, 1), (1, 1, 0, 1), (1, 2, 0, 1)])
    func convMatchesNaive(kernel: Int, stride: Int, pad: Int, groups: Int) {
        var rng = SeededRandom(3)
        let x = rng.tensor([2, 4, 7, 6]), w = rng.tensor([6, 4 / groups, kernel, kernel]), b = rng.tensor([6])
        let expected = naiveConv(x, w, b, stride: stride, pad: pad, groups: groups)
        let y = conv2d(x.permuted([0, 2, 3, 1]), weight: packConvWeight(w), bias: b,
                       geometry: ConvGeometry(kernel: kernel, stride: stride, padding: pad), groups: groups)
        #expect(y.shape == [2, expected.shape[2], expected.shape[3], 6])
        #expect(maxAbsDiff(y.permuted([0, 3, 1, 2]).values, expected.values) < 1e-4)
    }

    @Test(arguments: [(1, 1), (2, 1), (1, 0)])
    func depthwiseMatchesNaive(stride: Int, pad: Int) {
        var rng = SeededRandom(4)
        let c = 12 // one SIMD chunk plus a scalar tail
        let x = rng.tensor([1, c, 9, 8]), w = rng.tensor([c, 1, 3, 3]), b = rng.tensor([c])
        let expected = naiveConv(x, w, b, stride: stride, pad: pad, groups: c)
        let y = depthwiseConv2d(x.permuted([0, 2, 3, 1]), weight: packDepthwiseWeight(w), bias: b,
                                geometry: ConvGeometry(kernel: 3, stride: stride, padding: pad))
        #expect(maxAbsDiff(y.permuted([0, 3, 1, 2]).values, expected.values) < 1e-5)
    }

    @Test func transposedConvMatchesNaive() {
        var rng = SeededRandom(5)
        let (cin, cout, h, w) = (5, 3, 3, 4)
        let x = rng.tensor([1, cin, h, w]), wt = rng.tensor([cin, cout, 2, 2]), b = rng.tensor([cout])
        // PyTorch ConvTranspose2d(k=2, s=2): out[o, 2y+a, 2x+c] = b[o] + Σᵢ x[i, y, x]·W[i, o, a, c]
        var expected = [Float](repeating: 0, count: cout * 4 * h * w)
        for o in 0..<cout { for y in 0..<(2 * h) { for xx in 0..<(2 * w) {
            var s = b[flat: o]
            for i in 0..<cin { s += x[flat: (i * h + y / 2) * w + xx / 2] * wt[flat: ((i * cout + o) * 2 + y % 2) * 2 + xx % 2] }
            expected[(o * 2 * h + y) * 2 * w + xx] = s
        } } }
        let y = transposedConv2x2(x.permuted([0, 2, 3, 1]), weight: packTransposedConvWeight(wt), bias: b)
        #expect(maxAbsDiff(y.permuted([0, 3, 1, 2]).values, expected) < 1e-5)
    }

    @Test func batchNormFoldEqualsConvThenBatchNorm() {
        var rng = SeededRandom(6)
        let x = rng.tensor([1, 3, 5, 5]), w = rng.tensor([4, 3, 3, 3])
        let gamma = rng.tensor([4]), beta = rng.tensor([4]), mean = rng.tensor([4])
        let variance = Tensor(shape: [4], values: [0.5, 1.5, 2, 0.1])
        let conv = naiveConv(x, w, nil, stride: 1, pad: 1, groups: 1)
        var expected = conv.values
        for i in 0..<expected.count {
            let c = (i / 25) % 4
            expected[i] = (expected[i] - mean[flat: c]) / (variance[flat: c] + 1e-5).squareRoot() * gamma[flat: c] + beta[flat: c]
        }
        let folded = foldBatchNorm(weight: w, bias: nil, gamma: gamma, beta: beta, mean: mean, variance: variance)
        let y = conv2d(x.permuted([0, 2, 3, 1]), weight: packConvWeight(folded.weight), bias: folded.bias,
                       geometry: ConvGeometry(kernel: 3, padding: 1))
        #expect(maxAbsDiff(y.permuted([0, 3, 1, 2]).values, expected) < 1e-4)
    }

    @Test func layerNormMatchesDoublePrecisionLoop() {
        var rng = SeededRandom(7)
        let width = 21
        let x = rng.tensor([5, width], scale: 3), w = rng.tensor([width]), b = rng.tensor([width])
        let y = layerNorm(x, weight: w, bias: b, eps: 1e-6)
        var expected: [Float] = []
        for r in 0..<5 {
            let row = (0..<width).map { Double(x[flat: r * width + $0]) }
            let mean = row.reduce(0, +) / Double(width)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(width)
            for i in 0..<width { expected.append(Float((row[i] - mean) / (variance + 1e-6).squareRoot()) * w[flat: i] + b[flat: i]) }
        }
        #expect(maxAbsDiff(y.values, expected) < 1e-5)
    }

    @Test func activationsMatchTheirDefinitions() {
        let xs = stride(from: -12.0 as Float, through: 12, by: 0.0173).map { $0 }
        let x = Tensor(shape: [xs.count], values: xs)
        let gelu = xs.map { Float(0.5 * Double($0) * (1 + Foundation.erf(Double($0) / 2.0.squareRoot()))) }
        let sigmoid = xs.map { Float(1 / (1 + Foundation.exp(-Double($0)))) }
        #expect(maxAbsDiff(x.gelu().values, gelu) < 2e-6)
        #expect(maxAbsDiff(x.sigmoid().values, sigmoid) < 1e-6)
        #expect(x.relu().values == xs.map { max(0, $0) })
        for v in stride(from: -87 as Float, through: 88, by: 0.37) {
            let e = exp8(Vec8(repeating: v))[0], ref = Float(Foundation.exp(Double(v)))
            #expect(abs(e - ref) <= 3e-7 * ref)
        }
        #expect(exp8(Vec8(repeating: -1000))[0] < 1e-37)
    }

    @Test func softmaxMatchesNaive() {
        var rng = SeededRandom(8)
        let x = rng.tensor([3, 11], scale: 20)
        var expected: [Float] = []
        for r in 0..<3 {
            let row = (0..<11).map { Double(x[flat: r * 11 + $0]) }
            let m = row.max()!, e = row.map { Foundation.exp($0 - m) }, s = e.reduce(0, +)
            expected += e.map { Float($0 / s) }
        }
        softmaxRowsForward(x.ptr, rows: 3, width: 11)
        #expect(maxAbsDiff(x.values, expected) < 1e-6)
    }

    /// TinyViT's layout: qkv rows (token, head, [q|k|v]), bias per head.
    @Test func attentionWithBiasMatchesNaive() {
        var rng = SeededRandom(9)
        let (seqs, heads, tokens, d) = (3, 2, 5, 4)
        let qkv = rng.tensor([seqs, tokens, heads * 3 * d]), bias = rng.tensor([heads, tokens, tokens])
        let out = Tensor(zeros: [seqs, tokens, heads * d])
        let row = heads * 3 * d
        func view(_ offset: Int) -> HeadView { HeadView(qkv, offset: offset, sequenceStride: tokens * row, rowStride: row, headStride: 3 * d) }
        attentionForward(q: view(0), k: view(d), v: view(2 * d),
                         out: HeadView(out, sequenceStride: tokens * heads * d, rowStride: heads * d, headStride: d),
                         shape: AttentionShape(sequences: seqs, heads: heads, queries: tokens, keys: tokens, headDim: d),
                         bias: bias.ptr)
        var expected = [Float](repeating: 0, count: out.count)
        let scale = 1 / Float(d).squareRoot()
        for s in 0..<seqs { for h in 0..<heads { for i in 0..<tokens {
            func at(_ t: Int, _ part: Int, _ c: Int) -> Float { qkv[flat: (s * tokens + t) * row + h * 3 * d + part * d + c] }
            var scores = (0..<tokens).map { j in (0..<d).reduce(Float(0)) { $0 + at(i, 0, $1) * at(j, 1, $1) } * scale + bias[flat: (h * tokens + i) * tokens + j] }
            let m = scores.max()!
            scores = scores.map { Foundation.exp($0 - m) }
            let z = scores.reduce(0, +)
            for c in 0..<d {
                expected[(s * tokens + i) * heads * d + h * d + c] = (0..<tokens).reduce(Float(0)) { $0 + scores[$1] / z * at($1, 2, c) }
            }
        } } }
        #expect(maxAbsDiff(out.values, expected) < 1e-5)
    }

    @Test func windowPartitionPadsAndRoundTrips() {
        var rng = SeededRandom(10)
        let (h, w, c, win) = (5, 4, 2, 3)
        let x = rng.tensor([1, h, w, c])
        let windows = windowPartition(x, window: win)
        #expect(windows.shape == [4, 9, c])
        for wy in 0..<2 { for wx in 0..<2 { for ty in 0..<win { for tx in 0..<win { for ch in 0..<c {
            let y = wy * win + ty, xx = wx * win + tx
            let expected: Float = (y < h && xx < w) ? x[flat: (y * w + xx) * c + ch] : 0
            #expect(windows[flat: ((wy * 2 + wx) * 9 + ty * win + tx) * c + ch] == expected)
        } } } } }
        #expect(windowUnpartition(windows, window: win, height: h, width: w).values == x.values)
    }

    /// Reference values from torch 2.13: F.interpolate(x, size, mode="bilinear", align_corners=False).
    @Test func bilinearResizeMatchesPyTorch() {
        let x = Tensor(shape: [1, 3, 4], values: (0..<12).map { Float(pow(Double($0), 1.5)) })
        let down = resizeBilinear(x, height: 2, width: 3)
        #expect(maxAbsDiff(down.values, [2.257514238357544, 4.6703200340271, 8.071908950805664,
                                         19.64965057373047, 25.21820068359375, 31.22540283203125]) < 1e-5)
        let up = resizeBilinear(x, height: 5, width: 7)
        let torchUp: [Float] = [0.0, 0.3571428954601288, 0.9285714626312256, 1.91421377658844, 2.9975507259368896, 4.350536346435547, 5.196152210235596, 3.200000286102295, 3.8686201572418213, 4.938412189483643, 6.323984622955322, 7.786544322967529, 9.472238540649414, 10.525795936584473, 8.0, 9.135835647583008, 10.95317268371582, 12.938639640808105, 14.970033645629883, 17.154788970947266, 18.520259857177734, 16.776451110839844, 18.167768478393555, 20.393875122070312, 22.762290954589844, 25.169971466064453, 27.71019172668457, 29.297828674316406, 22.627416610717773, 24.18905258178711, 26.687673568725586, 29.311389923095703, 31.969924926757812, 34.74712371826172, 36.482872009277344]
        #expect(maxAbsDiff(up.values, torchUp) < 1e-5)
    }

    @Test func parallelForVisitsEveryIndexOnce() {
        var seen = [Int](repeating: 0, count: 1000)
        seen.withUnsafeMutableBufferPointer { buf in
            let b = UncheckedBox(buf)
            Threads.parallelFor(1000) { b.value[$0] += 1 }
        }
        #expect(seen.allSatisfy { $0 == 1 })
    }
}

@Suite struct FastMathTests {
    @Test func rationalErfMatchesFoundation() {
        for x in stride(from: -6 as Float, through: 6, by: 0.001) {
            let ours = erfRational8(Vec8(repeating: x))[0], ref = Float(Foundation.erf(Double(x)))
            #expect(abs(ours - ref) < 1e-6, "erf(\(x))")
        }
    }
}

@Suite struct FusionTests {
    /// The row-tiled fused block equals the same kernels run one after another on whole tensors.
    @Test(arguments: [1, 2, 3])
    func invertedResidualMatchesUnfusedComposition(tileRows: Int) {
        var rng = SeededRandom(11)
        let (h, w, c, hidden) = (9, 6, 8, 24)
        let x = rng.tensor([1, h, w, c])
        let p = rng.invertedResidualWeights(c: c, hidden: hidden)
        let a = linear(x, weight: p.expand, bias: p.expandBias).gelu()
        let b = depthwiseConv2d(a, weight: p.depthwise, bias: p.depthwiseBias, geometry: ConvGeometry(kernel: 3, padding: 1)).gelu()
        let expected = (linear(b, weight: p.project, bias: p.projectBias) + x).gelu()
        let fused = invertedResidualForward(x, p, tileRows: tileRows)
        #expect(maxAbsDiff(fused.values, expected.values) < 1e-5)
    }
}

@Suite struct RelativePositionTests {
    /// add_decomposed_rel_pos written out: bias[(y,x),(ky,kx)] = Σc q[(y,x),c]·(Rh[y,ky,c] + Rw[x,kx,c]).
    @Test func decomposedBiasMatchesNaive() {
        var rng = SeededRandom(12)
        let (qh, qw, kh, kw, c, stride) = (3, 2, 3, 4, 5, 7)
        let q = rng.tensor([qh * qw, stride]), rh = rng.tensor([qh, kh, c]), rw = rng.tensor([qw, kw, c])
        let bias = Tensor(zeros: [qh * qw, kh * kw])
        decomposedRelativePositionBias(q: q.ptr, qStride: stride, rh: rh, rw: rw, bias: bias.ptr)
        var expected: [Float] = []
        for y in 0..<qh { for x in 0..<qw { for ky in 0..<kh { for kx in 0..<kw {
            var s: Float = 0
            for ch in 0..<c { s += q[flat: (y * qw + x) * stride + ch] * (rh[flat: (y * kh + ky) * c + ch] + rw[flat: (x * kw + kx) * c + ch]) }
            expected.append(s)
        } } } }
        #expect(maxAbsDiff(bias.values, expected) < 1e-5)
    }

    /// Equal lengths gather table[i − j + k − 1]; written out for q = k = 3.
    @Test func tableGatherWithoutResize() {
        let table = Tensor(shape: [5, 1], values: [10, 11, 12, 13, 14])
        let r = relativePositionTable(querySize: 3, keySize: 3, table: table)
        #expect(r.values == [12, 11, 10, 13, 12, 11, 14, 13, 12])
    }
}

extension FusionTests {
    /// The tiled MLP equals LayerNorm → Linear → GELU → Linear → + x run on whole tensors.
    @Test(arguments: [1, 4, 128])
    func residualMLPMatchesUnfusedComposition(tileTokens: Int) {
        var rng = SeededRandom(13)
        let (tokens, c, hidden) = (37, 12, 48)
        let x = rng.tensor([1, tokens, c], scale: 2)
        let p = MLPWeights(normWeight: rng.tensor([c]), normBias: rng.tensor([c]), normEps: 1e-5,
                           fc1: rng.tensor([hidden, c], scale: 0.5), fc1Bias: rng.tensor([hidden]),
                           fc2: rng.tensor([c, hidden], scale: 0.3), fc2Bias: rng.tensor([c]))
        let h = linear(layerNorm(x, weight: p.normWeight, bias: p.normBias, eps: 1e-5), weight: p.fc1, bias: p.fc1Bias).gelu()
        let expected = linear(h, weight: p.fc2, bias: p.fc2Bias) + x
        #expect(maxAbsDiff(residualMLPForward(x, p, tileTokens: tileTokens).values, expected.values) < 1e-5)
    }
}

extension FusionTests {
    /// The row-of-windows kernel equals partition → LayerNorm → qkv → biased attention → proj →
    /// unpartition → + x on whole tensors, with padding (7×5 in windows of 3) and TinyViT's qkv layout.
    @Test func residualWindowAttentionMatchesUnfusedComposition() {
        var rng = SeededRandom(14)
        let (h, w, c, heads, win) = (7, 5, 8, 2, 3)
        let d = c / heads, n = win * win
        let x = rng.tensor([1, h, w, c])
        let p = WindowAttentionWeights(normWeight: rng.tensor([c]), normBias: rng.tensor([c]), normEps: 1e-5,
                                       qkv: rng.tensor([3 * c, c], scale: 0.5), qkvBias: rng.tensor([3 * c]),
                                       proj: rng.tensor([c, c], scale: 0.5), projBias: rng.tensor([c]),
                                       bias: rng.tensor([heads, n, n]), heads: heads, partStride: d, headStride: 3 * d)
        let windows = windowPartition(x, window: win)
        let qkv = linear(layerNorm(windows, weight: p.normWeight, bias: p.normBias, eps: 1e-5), weight: p.qkv, bias: p.qkvBias)
        let att = Tensor(zeros: windows.shape)
        func view(_ part: Int) -> HeadView { HeadView(qkv, offset: part * d, sequenceStride: n * 3 * c, rowStride: 3 * c, headStride: 3 * d) }
        attentionForward(q: view(0), k: view(1), v: view(2), out: HeadView(att, sequenceStride: n * c, rowStride: c, headStride: d),
                         shape: AttentionShape(sequences: windows.shape[0], heads: heads, queries: n, keys: n, headDim: d), bias: p.bias!.ptr)
        let expected = windowUnpartition(linear(att, weight: p.proj, bias: p.projBias), window: win, height: h, width: w) + x
        #expect(maxAbsDiff(residualWindowAttentionForward(x, p, window: win).values, expected.values) < 1e-5)
    }
}
