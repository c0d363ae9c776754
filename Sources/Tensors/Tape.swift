/// A reverse-mode tape: gradients of one scalar-like seed with respect to the
/// tensors marked `requireGradient` (prompts), through the frozen model.
///
/// Usage:
///
///     let tape = Tape()
///     tape.requireGradient(tokens)
///     let logits = model(tokens, tape: tape)          // taped ops (TapedOps.swift)
///     tape.backward(seeding: logits, with: dLogits)   // the loss gave dLoss/dLogits
///     let dTokens = tape.gradient(of: tokens)
///
/// or, with the prompts in a parameter arena, `tape.requireGradient(tokens, accumulatingInto: dTokens)`.
///
/// - During the forward, each taped op whose input depends (transitively) on a
///   marked tensor records one backward closure; an op on constants only (the
///   frozen image-embedding path) records nothing and costs nothing. Passing
///   `tape: nil` to a taped op is plain inference.
/// - Weights are constants: no op computes a weight gradient.
/// - Tensors are identified by object identity. The tape holds them weakly, so
///   tracking pins no memory; a closure keeps alive only what its backward
///   reads (the softmax output, LayerNorm's input, attention's q, k, v). Each
///   tracked tensor gets its own slot, so an address reused after a tensor is
///   freed never inherits a gradient. A view (`Tensor.reshaped`, an arena's
///   `value(name)`) is a new object: mark the very object the model receives, and
///   reshape tracked tensors with the taped `reshaped(_:_:tape:)`.
/// - Gradients are allocated lazily as zeros and accumulated (+=) by the
///   backward kernels. An intermediate's gradient is freed as soon as the op
///   that produced it has run its backward; only the marked tensors' remain.
/// - One `backward` per tape: make a new tape for each training step. A tape is
///   used from one thread (the kernels parallelise inside each op).
public final class Tape {
    private struct Entry {
        weak var tensor: Tensor?
        let slot: Int
    }

    private struct Step {
        let output: Int
        let run: (Tape, Tensor) -> Void
    }

    private var entries: [ObjectIdentifier: Entry] = [:]
    private var shapes: [[Int]] = []
    private var gradients: [Tensor?] = []
    private var leaves: Set<Int> = []
    private var steps: [Step] = []
    private var finished = false

    public init() {}

    /// Marks `tensor` as an input whose gradient `gradient(of:)` will return.
    public func requireGradient(_ tensor: Tensor) {
        leaves.insert(slot(of: tensor) ?? register(tensor))
    }

    /// Marks `tensor` and makes `gradient` (same element count) its gradient buffer: the
    /// backward adds into it and does not clear it first. With the prompts as views of
    /// one parameter buffer and `gradient` the matching view of one gradient buffer, the
    /// optimiser sees all gradients in one place (llm.c's parameter arena), and several
    /// tapes can accumulate into it (a batch split over steps).
    public func requireGradient(_ tensor: Tensor, accumulatingInto gradient: Tensor) {
        precondition(gradient.count == tensor.count, "Tape.requireGradient: gradient \(gradient.shape) for \(tensor.shape)")
        let s = slot(of: tensor) ?? register(tensor)
        precondition(gradients[s] == nil, "Tape.requireGradient: \(tensor) already has a gradient buffer")
        leaves.insert(s)
        gradients[s] = gradient.shape == tensor.shape ? gradient : gradient.reshaped(tensor.shape)
    }

    /// Whether `tensor` is marked or depends on a marked tensor.
    public func tracks(_ tensor: Tensor) -> Bool { slot(of: tensor) != nil }

    /// How many op backwards have been recorded (0 for a forward on constants).
    public var recordedOps: Int { steps.count }

    /// Runs the recorded backwards in reverse order, starting from dL/d`output` = `gradient`.
    /// `output` must be a tensor a taped op returned from marked inputs: seeding anything
    /// else (a constant, an untaped `reshaped` view) is a programming error, stopped here
    /// rather than silently giving zero gradients.
    public func backward(seeding output: Tensor, with gradient: Tensor) {
        precondition(!finished, "Tape.backward: a tape runs backward once; make a new tape per step")
        precondition(gradient.count == output.count, "Tape.backward: seed \(gradient.shape) for output \(output.shape)")
        guard let seedSlot = slot(of: output) else {
            preconditionFailure("Tape.backward: \(output) was not computed by taped ops from a marked tensor")
        }
        finished = true
        self.gradient(slot: seedSlot).add(gradient)
        while let step = steps.popLast() {
            // An output no later op used, and that is not the seed, has no gradient: skip.
            guard let dOut = gradients[step.output] else { continue }
            step.run(self, dOut)
            if !leaves.contains(step.output) { gradients[step.output] = nil }
        }
    }

    /// The gradient of a marked tensor after `backward` (zeros if the seed does not depend on it;
    /// a view of the caller's buffer when given one); nil for a tensor never marked.
    public func gradient(of tensor: Tensor) -> Tensor? {
        guard let s = slot(of: tensor), leaves.contains(s) else { return nil }
        return gradients[s] ?? Tensor(zeros: shapes[s])
    }

    // MARK: - For taped ops

    /// The slot of a tracked tensor, nil if it needs no gradient.
    func slot(of tensor: Tensor) -> Int? {
        guard let e = entries[ObjectIdentifier(tensor)], e.tensor === tensor else { return nil }
        return e.slot
    }

    /// Records that `output` was computed from tracked inputs; `backward(tape, dOutput)`
    /// accumulates into the inputs' gradients through `gradient(slot:)`.
    func record(_ output: Tensor, backward: @escaping (Tape, Tensor) -> Void) {
        precondition(!finished, "Tape: recording after backward")
        steps.append(Step(output: register(output), run: backward))
    }

    /// The gradient buffer of a slot, zeros when first asked for.
    func gradient(slot: Int) -> Tensor {
        if let g = gradients[slot] { return g }
        let g = Tensor(zeros: shapes[slot])
        gradients[slot] = g
        return g
    }

    private func register(_ tensor: Tensor) -> Int {
        let s = shapes.count
        shapes.append(tensor.shape)
        gradients.append(nil)
        entries[ObjectIdentifier(tensor)] = Entry(tensor: tensor, slot: s)
        return s
    }
}
