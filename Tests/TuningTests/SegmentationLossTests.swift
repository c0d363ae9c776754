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

private func evaluate(_ logits: [Float], _ target: [Float], gradient: inout [Float]) -> SegmentationLoss.Result {
    logits.withUnsafeBufferPointer { x in
        target.withUnsafeBufferPointer { t in
            gradient.withUnsafeMutableBufferPointer { g in
                SegmentationLoss.evaluate(logits: x, target: t, gradient: g)
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

@Test func lossGradientMatchesCentralDifferences() {
    var generator = SeededGenerator(seed: 3)
    let n = 30
    let logits = (0 ..< n).map { _ in Float.random(in: -4 ... 4, using: &generator) }
    let target = (0 ..< n).map { _ in Float(Bool.random(using: &generator) ? 1 : 0) }
    var gradient = [Float](repeating: 0, count: n)
    _ = evaluate(logits, target, gradient: &gradient)
    var scratch = [Float](repeating: 0, count: n)
    let h: Float = 1e-2
    for i in 0 ..< n {
        var plus = logits, minus = logits
        plus[i] += h
        minus[i] -= h
        let numeric = (evaluate(plus, target, gradient: &scratch).total - evaluate(minus, target, gradient: &scratch).total) / Double(2 * h)
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
