import Testing
import Tensors

/// Checks d(Σ seed ⊙ forward(prompts))/d(prompts) of every prompt tensor against central
/// differences: `samples` entries per tensor, step `h`, tolerance `tolerance` × the largest
/// gradient magnitude of that tensor (which must not vanish). `forward(tape)` runs the encoder
/// on the same `prompts` objects, recording on `tape` when given.
func expectPromptGradientsMatchFiniteDifferences(
    prompts: [Tensor], seed: Tensor, step h: Float, tolerance: Float, samples: Int,
    forward: (Tape?) -> Tensor
) {
    func objective() -> Double {
        let y = forward(nil)
        var s = 0.0
        for i in 0..<y.count { s += Double(y.data[i]) * Double(seed.data[i]) }
        return s
    }
    let tape = Tape()
    for p in prompts { tape.requireGradient(p) }
    let y = forward(tape)
    tape.backward(seeding: y, with: seed)
    for (b, p) in prompts.enumerated() {
        let grad = tape.gradient(of: p)!
        let largest = grad.data.reduce(0) { max($0, abs($1)) }
        #expect(largest > 1e-4, "block \(b): gradient vanished")
        for i in stride(from: 0, to: p.count, by: max(1, p.count / samples)) {
            let saved = p.data[i]
            p.data[i] = saved + h; let up = objective()
            p.data[i] = saved - h; let down = objective()
            p.data[i] = saved
            let numeric = Float((up - down) / Double(2 * h))
            #expect(abs(numeric - grad.data[i]) <= tolerance * largest, "block \(b) [\(i)]: \(numeric) vs \(grad.data[i]) of \(largest)")
        }
    }
}
