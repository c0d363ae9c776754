import Testing
@testable import Tensors

/// Checks a tape's gradients against central differences of the forward kernels.
///
/// The scalar is L = Σ seed ⊙ f(inputs) with a seeded random `seed`, so every output
/// element's gradient path is exercised. For each input element x:
///   numeric = (L(x + h) − L(x − h)) / (2h), the loss summed in Float64,
/// and it passes when |analytic − numeric| ≤ atol + rtol · |numeric|. Defaults: h = 1e-2,
/// atol = 5e-4, rtol = 2e-3 (Float32 forwards: rounding in L is ~1e-6 · |L|, divided by 2h).
struct GradientReport: CustomStringConvertible {
    /// max over elements of |analytic − numeric| / (atol + rtol·|numeric|): ≤ 1 passes.
    var worstRatio: Float = 0
    /// Largest |analytic| gradient, so that an all-zero gradient cannot pass unnoticed.
    var largest: Float = 0
    /// max |f(tape) − f(nil)|: the taped forward must equal inference.
    var forwardMismatch: Float = 0
    var description: String { "worst ratio \(worstRatio), largest gradient \(largest), forward mismatch \(forwardMismatch)" }
    var passed: Bool { worstRatio <= 1 && largest > 1e-3 && forwardMismatch == 0 }
}

func checkGradients(_ inputs: [Tensor], seed: UInt64 = 99, h: Float = 1e-2, atol: Float = 5e-4, rtol: Float = 2e-3,
                    _ f: (Tape?, [Tensor]) -> Tensor) -> GradientReport {
    var report = GradientReport()
    let tape = Tape()
    for x in inputs { tape.requireGradient(x) }
    let y = f(tape, inputs)
    var rng = SeededRandom(seed)
    let weights = rng.tensor(y.shape).values
    tape.backward(seeding: y, with: Tensor(shape: y.shape, values: weights))
    report.forwardMismatch = maxAbsDiff(y.values, f(nil, inputs).values)

    func loss() -> Double {
        zip(f(nil, inputs).values, weights).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
    for x in inputs {
        let g = tape.gradient(of: x)!
        for i in 0..<x.count {
            let v = x[flat: i]
            let up = v + h, down = v - h
            x[flat: i] = up; let lp = loss()
            x[flat: i] = down; let lm = loss()
            x[flat: i] = v
            let numeric = Float((lp - lm) / (Double(up) - Double(down)))
            report.worstRatio = max(report.worstRatio, abs(g[flat: i] - numeric) / (atol + rtol * abs(numeric)))
            report.largest = max(report.largest, abs(g[flat: i]))
        }
    }
    return report
}

/// Values pushed at least `margin` away from zero (ReLU's kink).
func awayFromZero(_ t: Tensor, margin: Float = 0.05) -> Tensor {
    Tensor(shape: t.shape, values: t.values.map { $0 < 0 ? $0 - margin : $0 + margin })
}
