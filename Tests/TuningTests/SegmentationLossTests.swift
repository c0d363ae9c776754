import Foundation
import Testing
@testable import Tuning

private struct LossFixture: Decodable {
    struct Case: Decodable {
        let name: String
        let logits: [Double]
        let target: [Double]
        let dice: Double
        let bce: Double
        let gradient: [Double]
    }
    let cases: [Case]
}

private func evaluate(_ logits: [Float], _ target: [Float], gradient: inout [Float],
                      emptySmooth: Double = SegmentationLoss.smooth) -> SegmentationLoss.Result {
    logits.withUnsafeBufferPointer { x in
        target.withUnsafeBufferPointer { t in
            gradient.withUnsafeMutableBufferPointer { g in
                SegmentationLoss.evaluate(logits: x, target: t, gradient: g, emptySmooth: emptySmooth)
            }
        }
    }
}

@Test(arguments: try loadJSONFixture("fixtures/tuning/loss.json", as: LossFixture.self).cases.map(\.name))
func lossMatchesMONAIAndTorch(caseName: String) throws {
    let fixture = try loadJSONFixture("fixtures/tuning/loss.json", as: LossFixture.self)
    let reference = try #require(fixture.cases.first { $0.name == caseName })
    var gradient = [Float](repeating: 0, count: reference.logits.count)
    let result = evaluate(reference.logits.map(Float.init), reference.target.map(Float.init), gradient: &gradient)
    // Logits arrive as Float32, so agreement is to Float32 rounding of the inputs.
    #expect(abs(result.dice - reference.dice) < 1e-5)
    #expect(abs(result.bce - reference.bce) < 1e-5 * max(1, reference.bce))
    let scale = reference.gradient.map(abs).max()!
    for (mine, theirs) in zip(gradient, reference.gradient) {
        #expect(abs(Double(mine) - theirs) <= 1e-4 * scale)
    }
}

@Test(arguments: [false, true])
func lossGradientMatchesCentralDifferences(emptyTarget: Bool) {
    var generator = SeededGenerator(seed: 3)
    let n = 30
    let logits = (0 ..< n).map { _ in Float.random(in: -4 ... 4, using: &generator) }
    let target = (0 ..< n).map { _ in Float(!emptyTarget && Bool.random(using: &generator) ? 1 : 0) }
    // An empty target takes the structure's size as its smoothing (here 6 of 30 pixels).
    let emptySmooth = 6.0
    var gradient = [Float](repeating: 0, count: n)
    _ = evaluate(logits, target, gradient: &gradient, emptySmooth: emptySmooth)
    var scratch = [Float](repeating: 0, count: n)
    let h: Float = 1e-2
    for i in 0 ..< n {
        var plus = logits, minus = logits
        plus[i] += h
        minus[i] -= h
        let numeric = (evaluate(plus, target, gradient: &scratch, emptySmooth: emptySmooth).total
                       - evaluate(minus, target, gradient: &scratch, emptySmooth: emptySmooth).total) / Double(2 * h)
        #expect(abs(numeric - Double(gradient[i])) < 1e-4, "element \(i)")
    }
}

@Test func perfectPredictionHasNearZeroDiceLoss() {
    let target: [Float] = [1, 1, 0, 0]
    var gradient = [Float](repeating: 0, count: 4)
    let result = evaluate([20, 20, -20, -20], target, gradient: &gradient)
    #expect(result.dice < 1e-6)
    #expect(result.bce < 1e-8)
}

/// MONAI's ε leaves an empty target's Dice term flat at 1 (no push towards "none"); with
/// the structure's size as smoothing it is the share of a structure's worth of false
/// foreground, and 0 only when nothing is predicted.
@Test func emptyTargetPenalisesFalseForegroundBySize() {
    let empty = [Float](repeating: 0, count: 8)
    var gradient = [Float](repeating: 0, count: 8)
    let flat = evaluate([3, 3, -20, -20, -20, -20, -20, -20], empty, gradient: &gradient)
    #expect(flat.dice > 0.999)
    let k = 4.0
    let one = evaluate([20, -20, -20, -20, -20, -20, -20, -20], empty, gradient: &gradient, emptySmooth: k)
    let two = evaluate([20, 20, -20, -20, -20, -20, -20, -20], empty, gradient: &gradient, emptySmooth: k)
    let none = evaluate([Float](repeating: -20, count: 8), empty, gradient: &gradient, emptySmooth: k)
    #expect(abs(one.dice - 1 / (1 + k)) < 1e-6)
    #expect(abs(two.dice - 2 / (2 + k)) < 1e-6)
    #expect(none.dice < 1e-6)
    // A target that holds the structure keeps MONAI's ε whatever emptySmooth says.
    let held = evaluate([20, 20, -20, -20, -20, -20, -20, -20], [1, 1, 0, 0, 0, 0, 0, 0], gradient: &gradient, emptySmooth: k)
    #expect(held.dice < 1e-6)
}
