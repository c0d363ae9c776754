/// SplitMix64: a small, fast, seedable generator, so that the same `--seed`
/// gives the same prompts, split and augmentation on every platform
/// (Swift's SystemRandomNumberGenerator cannot be seeded).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Splits case names into training and validation sets by case, never by
/// slice, so that no patient is on both sides. Deterministic for a seed.
public func splitByCase(_ cases: [String], validationFraction: Double, seed: UInt64)
    -> (training: [String], validation: [String])
{
    precondition((0 ..< 1).contains(validationFraction), "validation fraction must be in [0, 1)")
    var generator = SeededGenerator(seed: seed)
    let shuffled = Array(Set(cases)).sorted().shuffled(using: &generator)
    var validationCount = Int((Double(shuffled.count) * validationFraction).rounded())
    if validationFraction > 0, shuffled.count >= 2 { validationCount = max(1, validationCount) }
    validationCount = min(validationCount, shuffled.count - 1)
    let validation = Array(shuffled.prefix(max(0, validationCount)))
    let training = Array(shuffled.dropFirst(max(0, validationCount)))
    return (training.sorted(), validation.sorted())
}
