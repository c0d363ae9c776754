import Foundation
import Tensors

/// AdamW (Loshchilov & Hutter) over a parameter arena, as torch.optim.AdamW
/// computes it (bias-corrected moments, decoupled weight decay).
public struct AdamW: Sendable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// Prompts get no weight decay by default: shrinking them towards zero has no meaning.
    public var weightDecay: Float = 0
    public private(set) var step = 0
    /// Running means of the gradients and of their squares (saved for `--resume`).
    public private(set) var firstMoment: [Float]
    public private(set) var secondMoment: [Float]

    public init(parameterCount: Int, weightDecay: Float = 0) {
        firstMoment = Array(repeating: 0, count: parameterCount)
        secondMoment = Array(repeating: 0, count: parameterCount)
        self.weightDecay = weightDecay
    }

    /// An optimiser continuing from saved state.
    public init(step: Int, firstMoment: [Float], secondMoment: [Float], weightDecay: Float = 0) {
        precondition(firstMoment.count == secondMoment.count, "moments of different sizes")
        self.step = step
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
        self.weightDecay = weightDecay
    }

    /// One update of `arena.values` from `arena.gradients` at learning rate `lr`.
    public mutating func update(_ arena: ParameterArena, lr: Float) {
        precondition(arena.count == firstMoment.count, "optimiser built for another arena")
        step += 1
        let correction1 = 1 - pow(beta1, Float(step))
        let correction2 = 1 - pow(beta2, Float(step))
        let (b1, b2, eps, decay) = (beta1, beta2, epsilon, weightDecay)
        let values = arena.values.data, gradients = arena.gradients.data
        firstMoment.withUnsafeMutableBufferPointer { m in
            secondMoment.withUnsafeMutableBufferPointer { v in
                for i in 0 ..< values.count {
                    let g = gradients[i]
                    values[i] -= lr * decay * values[i]
                    m[i] = b1 * m[i] + (1 - b1) * g
                    v[i] = b2 * v[i] + (1 - b2) * g * g
                    let mHat = m[i] / correction1
                    let vHat = v[i] / correction2
                    values[i] -= lr * mHat / (vHat.squareRoot() + eps)
                }
            }
        }
    }
}

/// Learning rate with linear warm-up, then cosine decay to zero at `totalSteps`.
public struct CosineSchedule: Sendable {
    public let baseRate: Float
    public let warmupSteps: Int
    public let totalSteps: Int

    public init(baseRate: Float, warmupSteps: Int, totalSteps: Int) {
        self.baseRate = baseRate
        self.warmupSteps = max(0, warmupSteps)
        self.totalSteps = max(1, totalSteps)
    }

    /// The rate for 0-based `step`.
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return baseRate * Float(step + 1) / Float(warmupSteps) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, Float(step - warmupSteps) / Float(span))
        return baseRate * 0.5 * (1 + cos(Float.pi * progress))
    }
}
