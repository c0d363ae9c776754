import Foundation
import Models

/// Registration of a slice's thumbnail to the atlas's (Atlas.swift): an axis-aligned scale
/// and shift per candidate slice, searched on a grid, by normalised cross-correlation.
extension SliceAtlas {
    /// Target coordinate u ↦ atlas coordinate (u − ½)·scale + ½ + shift, per axis.
    struct Transform: Equatable {
        var scaleX: Float = 1, scaleY: Float = 1, shiftX: Float = 0, shiftY: Float = 0

        func targetBox(of box: UnitBox) -> UnitBox {
            UnitBox(x0: (box.x0 - 0.5 - shiftX) / scaleX + 0.5, y0: (box.y0 - 0.5 - shiftY) / scaleY + 0.5,
                    x1: (box.x1 - 0.5 - shiftX) / scaleX + 0.5, y1: (box.y1 - 0.5 - shiftY) / scaleY + 0.5)
        }
    }

    struct Match {
        var slice: Int
        var correlation: Float
        var transform: Transform
    }

    /// The best transform for each candidate slice, best first.
    func matches(_ target: [Float]) -> [Match] {
        let standardTarget = standardised(target)
        let first = thumbnails.indices.map { ($0, correlation(standardTarget, thumbnails[$0])) }
            .sorted { $0.1 > $1.1 }.prefix(Self.candidates)
        return first.map { slice, _ in bestTransform(of: thumbnails[slice], to: standardTarget, slice: slice) }
            .sorted { $0.correlation > $1.correlation }
    }

    /// Grid search over scales and shifts; the warp is separable (rows, then columns).
    func bestTransform(of atlas: [Float], to target: [Float], slice: Int) -> Match {
        let n = Self.side
        var best = Match(slice: slice, correlation: -2, transform: Transform())
        var rows = [Float](repeating: 0, count: n * n), warped = [Float](repeating: 0, count: n * n)
        // Raw buffers: indexing the grid's arrays element by element cost twice the time.
        atlas.withUnsafeBufferPointer { atlas in
            rows.withUnsafeMutableBufferPointer { rows in
                warped.withUnsafeMutableBufferPointer { warped in
                    for y in Self.axisTaps {
                        for r in 0..<n {
                            let (i, f) = (y.index[r], y.fraction[r])
                            for c in 0..<n {
                                let a = i >= 0 && i < n ? atlas[i * n + c] : 0, b = i + 1 >= 0 && i + 1 < n ? atlas[(i + 1) * n + c] : 0
                                rows[r * n + c] = a + f * (b - a)
                            }
                        }
                        for x in Self.axisTaps {
                            x.index.withUnsafeBufferPointer { index in
                                x.fraction.withUnsafeBufferPointer { fraction in
                                    for r in 0..<n {
                                        for c in 0..<n {
                                            let (i, f) = (index[c], fraction[c])
                                            let a = i >= 0 && i < n ? rows[r * n + i] : 0, b = i + 1 >= 0 && i + 1 < n ? rows[r * n + i + 1] : 0
                                            warped[r * n + c] = a + f * (b - a)
                                        }
                                    }
                                }
                            }
                            let score = target.withUnsafeBufferPointer { correlation($0, UnsafeBufferPointer(warped)) }
                            if score > best.correlation {
                                best = Match(slice: slice, correlation: score,
                                             transform: Transform(scaleX: x.scale, scaleY: y.scale, shiftX: x.shift, shiftY: y.shift))
                            }
                        }
                    }
                }
            }
        }
        return best
    }

    /// One (scale, shift) of the grid along one axis: for each target pixel, the atlas
    /// pixel left of its sample and the fraction towards the next (bilinear; outside the
    /// atlas reads 0).
    struct AxisTaps {
        var scale: Float, shift: Float
        var index: [Int], fraction: [Float]
    }

    /// The grid's taps, the same for rows and columns, so computed once.
    static let axisTaps: [AxisTaps] = scales.flatMap { scale in
        shifts.map { shift in
            let n = Float(side)
            let samples = (0..<side).map { k in (((Float(k) + 0.5) / n - 0.5) * scale + 0.5 + shift) * n - 0.5 }
            return AxisTaps(scale: scale, shift: shift, index: samples.map { Int($0.rounded(.down)) },
                            fraction: samples.map { $0 - $0.rounded(.down) })
        }
    }
}

/// `values` minus their mean, divided by their norm (all zero for a constant image).
func standardised(_ values: [Float]) -> [Float] {
    let mean = values.reduce(0, +) / Float(values.count)
    let centred = values.map { $0 - mean }
    let norm = centred.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return norm > 0 ? centred.map { $0 / norm } : centred
}

/// Normalised cross-correlation of a standardised target with `other` (the target sums
/// to zero, so `other`'s mean drops out of the numerator).
func correlation(_ standardTarget: [Float], _ other: [Float]) -> Float {
    standardTarget.withUnsafeBufferPointer { target in other.withUnsafeBufferPointer { correlation(target, $0) } }
}

func correlation(_ standardTarget: UnsafeBufferPointer<Float>, _ other: UnsafeBufferPointer<Float>) -> Float {
    var dot: Float = 0, sum: Float = 0, squares: Float = 0
    for i in other.indices {
        dot += standardTarget[i] * other[i]
        sum += other[i]
        squares += other[i] * other[i]
    }
    let variance = squares - sum * sum / Float(other.count)
    return variance > 0 ? dot / variance.squareRoot() : 0
}

/// The image inside the model's padded input (mean over its channels), averaged over
/// `SliceAtlas.side`² cells: the same view of a slice at fit and at predict time.
func thumbnail(_ slice: PreparedImage) -> [Float] {
    let n = SliceAtlas.side
    let (side, channels) = (slice.input.shape[1], slice.input.shape[3])
    let (w, h) = (slice.resizedWidth, slice.resizedHeight)
    var sum = [Float](repeating: 0, count: n * n), count = [Float](repeating: 0, count: n * n)
    let pixels = slice.input.data
    for y in 0..<h {
        let row = min(n - 1, y * n / h)
        for x in 0..<w {
            let cell = row * n + min(n - 1, x * n / w)
            var value: Float = 0
            for c in 0..<channels { value += pixels[(y * side + x) * channels + c] }
            sum[cell] += value / Float(channels)
            count[cell] += 1
        }
    }
    // A side shorter than the thumbnail leaves cells empty: they take their nearest pixel.
    return (0..<(n * n)).map { cell in
        if count[cell] > 0 { return sum[cell] / count[cell] }
        let (y, x) = ((cell / n) * h / n, (cell % n) * w / n)
        return pixels[(y * side + x) * channels]
    }
}

func median(_ values: [Float]) -> Float {
    let sorted = values.sorted(), m = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2
}
