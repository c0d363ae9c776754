import Tensors

/// A checkpoint's tensors, handed out by key while a model is being built.
///
/// Each layer asks for its keys with the shape it expects; whatever is missing or
/// mis-shaped is recorded rather than thrown at once, so that `finish()` throws
/// one error that lists the first few problems of every kind together.
public final class Weights {
    private let tensors: [String: Tensor]
    private var used: Set<String> = []
    private var missing: [String] = []
    private var misshaped: [(key: String, expected: [Int], found: [Int])] = []

    public init(_ tensors: [String: Tensor]) { self.tensors = tensors }

    /// The tensor stored under `key`, which must have `shape`. A missing or
    /// mis-shaped tensor is recorded and answered with zeros so building continues.
    public func take(_ key: String, _ shape: [Int]) -> Tensor {
        guard let t = tensors[key] else {
            missing.append(key)
            return Tensor(zeros: shape)
        }
        used.insert(key)
        if t.shape != shape {
            misshaped.append((key, shape, t.shape))
            return Tensor(zeros: shape)
        }
        return t
    }

    /// The tensor under `key` whose first axis may have any length and whose
    /// other axes are `trailing` (SAM's relative-position tables, resized on use).
    public func take(_ key: String, anyLength trailing: [Int]) -> Tensor {
        guard let t = tensors[key] else {
            missing.append(key)
            return Tensor(zeros: [1] + trailing)
        }
        used.insert(key)
        guard t.rank == trailing.count + 1, Array(t.shape.dropFirst()) == trailing, t.shape[0] > 0 else {
            misshaped.append((key, [-1] + trailing, t.shape))
            return Tensor(zeros: [1] + trailing)
        }
        return t
    }

    /// Marks a key the model does not use (BatchNorm's `num_batches_tracked`) as expected.
    public func skip(_ key: String) {
        if tensors[key] != nil { used.insert(key) }
    }

    /// Throws one `CheckpointMismatch` if any key was missing, mis-shaped, or left unused.
    public func finish() throws {
        let unexpected = tensors.keys.filter { !used.contains($0) }.sorted()
        if missing.isEmpty && misshaped.isEmpty && unexpected.isEmpty { return }
        throw CheckpointMismatch(missing: missing, unexpected: unexpected,
                                 misshaped: misshaped.map { "\($0.key): model \($0.expected), checkpoint \($0.found)" })
    }
}

/// A view of `Weights` under a key prefix, as PyTorch's module nesting names them.
public struct Scope {
    let weights: Weights
    let prefix: String

    public init(_ weights: Weights, _ prefix: String = "") { self.weights = weights; self.prefix = prefix }

    public subscript(_ name: String) -> Scope { Scope(weights, key(name)) }
    public subscript(_ index: Int) -> Scope { Scope(weights, key(String(index))) }

    public func take(_ name: String, _ shape: [Int]) -> Tensor { weights.take(key(name), shape) }
    public func skip(_ name: String) { weights.skip(key(name)) }
    public func take(_ name: String, anyLength trailing: [Int]) -> Tensor { weights.take(key(name), anyLength: trailing) }

    private func key(_ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }
}

/// A checkpoint that does not fit the model: the first few of each kind of problem.
public struct CheckpointMismatch: Error, CustomStringConvertible {
    public let missing: [String]
    public let unexpected: [String]
    public let misshaped: [String]

    public var description: String {
        func list(_ name: String, _ items: [String]) -> String? {
            guard !items.isEmpty else { return nil }
            let shown = items.prefix(5).joined(separator: ", ")
            return "\(items.count) \(name) (\(shown)\(items.count > 5 ? ", …" : ""))"
        }
        let parts = [list("missing", missing), list("unexpected", unexpected), list("mis-shaped", misshaped)].compactMap { $0 }
        return "checkpoint does not match the model: " + parts.joined(separator: "; ")
    }
}
