import Tensors

/// All trainable prompt parameters in one contiguous buffer with named views,
/// and their gradients in the same layout (llm.c's parameter arena): the
/// optimiser is one loop over one buffer and a task file is one write.
public final class ParameterArena: @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        public let offset: Int
        public var count: Int { Tensor.elementCount(shape) }
    }

    public let entries: [Entry]
    /// Every parameter, flat.
    public let values: Tensor
    /// d loss / d values, same layout; `zeroGradients()` before each step.
    public let gradients: Tensor

    public init(layout: [(name: String, shape: [Int])]) {
        var entries: [Entry] = []
        var offset = 0
        for (name, shape) in layout {
            precondition(!entries.contains { $0.name == name }, "duplicate parameter \(name)")
            entries.append(Entry(name: name, shape: shape, offset: offset))
            offset += Tensor.elementCount(shape)
        }
        self.entries = entries
        self.values = Tensor(zeros: [offset])
        self.gradients = Tensor(zeros: [offset])
    }

    public var count: Int { values.count }

    /// The parameter `name`, sharing the arena's storage.
    public func value(_ name: String) -> Tensor { view(of: values, name) }

    /// The gradient of parameter `name`, sharing the arena's storage.
    public func gradient(_ name: String) -> Tensor { view(of: gradients, name) }

    public func zeroGradients() {
        gradients.data.update(repeating: 0)
    }

    private func view(of flat: Tensor, _ name: String) -> Tensor {
        guard let entry = entries.first(where: { $0.name == name }) else {
            preconditionFailure("no parameter named \(name)")
        }
        let slice = UnsafeMutableBufferPointer(rebasing: flat.data[entry.offset ..< entry.offset + entry.count])
        return Tensor(shape: entry.shape, borrowing: slice, owner: flat)
    }
}
