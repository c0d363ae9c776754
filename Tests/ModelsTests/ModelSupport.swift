import Foundation
import Models
import Tensors

/// The package root, found from this file's path so tests run from any directory.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let realCheckpoint = packageRoot.appendingPathComponent("models/lite_medsam.pth")
let hasRealCheckpoint = FileManager.default.fileExists(atPath: realCheckpoint.path)

/// The real LiteMedSAM weights, read once for all tests.
let realWeights: [String: Tensor] = hasRealCheckpoint ? (try? loadCheckpoint(at: realCheckpoint)) ?? [:] : [:]

/// Built once: the encoder is the slow part of every parity test.
let realSegmenter: Segmenter? = hasRealCheckpoint ? try? Segmenter(weights: realWeights) : nil

func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.count == b.count, "\(a.shape) vs \(b.shape)")
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a.data[i] - b.data[i])) }
    return m
}
