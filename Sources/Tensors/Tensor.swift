#if canImport(CBLAS)
import CBLAS
#endif

/// A dense Float32 tensor in row-major (C) order.
///
/// A reference type on purpose: kernels write into the tensors they are handed
/// (llm.c style), so an op never copies behind the caller's back; `copy()` is
/// the only way to duplicate storage. `data` is a raw buffer rather than an
/// array so that kernels run without exclusivity checks (docs/architecture.md, Decisions).
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let data: UnsafeMutableBufferPointer<Float>
    /// Keeps borrowed storage (a memory-mapped checkpoint, a parent tensor) alive.
    private let owner: AnyObject?
    private let ownsData: Bool

    public var count: Int { data.count }
    public var rank: Int { shape.count }

    /// A zero-filled tensor.
    public convenience init(zeros shape: [Int]) {
        self.init(uninitialized: shape)
        data.initialize(repeating: 0)
    }

    /// A tensor whose values are garbage until written: only for outputs a
    /// kernel overwrites entirely (it saves a pass over memory).
    public init(uninitialized shape: [Int]) {
        Memory.configured
        let n = Tensor.elementCount(shape)
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
        self.shape = shape
        self.data = buffer
        self.owner = nil
        self.ownsData = true
    }

    /// A tensor holding a copy of `values`, which must have `shape`'s element count.
    public convenience init(shape: [Int], values: [Float]) {
        precondition(values.count == Tensor.elementCount(shape), "values do not fill shape \(shape)")
        self.init(uninitialized: shape)
        _ = data.initialize(from: values)
    }

    /// A tensor over memory that `owner` keeps alive (no copy).
    public init(shape: [Int], borrowing data: UnsafeMutableBufferPointer<Float>, owner: AnyObject) {
        precondition(data.count == Tensor.elementCount(shape), "buffer does not fill shape \(shape)")
        self.shape = shape
        self.data = data
        self.owner = owner
        self.ownsData = false
    }

    deinit {
        if ownsData { data.deallocate() }
    }

    /// The same storage under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, borrowing: data, owner: self)
    }

    /// A tensor with its own copy of the storage.
    public func copy() -> Tensor {
        let result = Tensor(uninitialized: shape)
        if count > 0 { result.data.baseAddress!.update(from: data.baseAddress!, count: count) }
        return result
    }

    /// Overwrites this tensor's values with `source`'s (same element count; shapes may differ).
    public func assign(from source: Tensor) {
        precondition(source.count == count, "assign: \(source.shape) into \(shape)")
        if count > 0 { data.baseAddress!.update(from: source.data.baseAddress!, count: count) }
    }

    /// The values as an array, for tests and small reads.
    public var values: [Float] { Array(data) }

    public subscript(flat index: Int) -> Float {
        get { data[index] }
        set { data[index] = newValue }
    }

    public static func elementCount(_ shape: [Int]) -> Int {
        shape.reduce(1, *)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String { "Tensor\(shape)" }
}
