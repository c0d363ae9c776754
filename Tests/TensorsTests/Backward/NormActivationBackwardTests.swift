import Testing
@testable import Tensors

/// LayerNorm, activations and softmax against finite differences; odd widths reach the scalar tails.
@Suite struct NormActivationBackwardTests {
    @Test(arguments: [16, 13])
    func layerNormInputGradient(width: Int) {
        var rng = SeededRandom(20)
        let w = rng.tensor([width]), b = rng.tensor([width])
        let r = checkGradients([rng.tensor([3, 2, width])]) { t, x in layerNorm(x[0], weight: w, bias: b, eps: 1e-5, tape: t) }
        #expect(r.passed, "\(r)")
    }

    @Test func geluGradient() {
        var rng = SeededRandom(21)
        let r = checkGradients([rng.tensor([3, 7], scale: 3)]) { t, x in gelu(x[0], tape: t) }
        #expect(r.passed, "\(r)")
    }

    @Test func reluGradient() {
        var rng = SeededRandom(22)
        let r = checkGradients([awayFromZero(rng.tensor([3, 7]))]) { t, x in relu(x[0], tape: t) }
        #expect(r.passed, "\(r)")
    }

    @Test func sigmoidGradient() {
        var rng = SeededRandom(23)
        let r = checkGradients([rng.tensor([3, 7], scale: 3)]) { t, x in sigmoid(x[0], tape: t) }
        #expect(r.passed, "\(r)")
    }

    @Test func softmaxGradient() {
        var rng = SeededRandom(24)
        let r = checkGradients([rng.tensor([4, 11], scale: 2)]) { t, x in softmax(x[0], tape: t) }
        #expect(r.passed, "\(r)")
    }
}
