import Tensors

/// An element type as stored in a checkpoint; every one becomes Float32 on load
/// (integers such as BatchNorm's `num_batches_tracked` included).
enum StoredType: String, Sendable {
    case float32, float16, bfloat16, float64, int64, int32, int16, int8, uint8, bool

    var byteSize: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }

    /// Element `index` of `base`, converted to Float.
    @inline(__always)
    func load(_ base: UnsafeRawPointer, _ index: Int, bigEndian: Bool) -> Float {
        let at = index * byteSize
        @inline(__always) func bits<T: FixedWidthInteger>(_: T.Type) -> T {
            let raw = base.loadUnaligned(fromByteOffset: at, as: T.self)
            return bigEndian ? T(bigEndian: raw) : T(littleEndian: raw)
        }
        switch self {
        case .float32: return Float(bitPattern: bits(UInt32.self))
        case .float16: return floatFromHalf(bits(UInt16.self))
        case .bfloat16: return Float(bitPattern: UInt32(bits(UInt16.self)) << 16)
        case .float64: return Float(Double(bitPattern: bits(UInt64.self)))
        case .int64: return Float(bits(Int64.self))
        case .int32: return Float(bits(Int32.self))
        case .int16: return Float(bits(Int16.self))
        case .int8: return Float(base.load(fromByteOffset: at, as: Int8.self))
        case .uint8: return Float(base.load(fromByteOffset: at, as: UInt8.self))
        case .bool: return base.load(fromByteOffset: at, as: UInt8.self) != 0 ? 1 : 0
        }
    }
}

/// IEEE half → single, by bits (`Float16` is missing on some supported platforms).
@inline(__always)
func floatFromHalf(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }  // inf, NaN
    if exponent == 0 {
        // Zero or subnormal: mantissa × 2⁻²⁴.
        let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -magnitude : magnitude
    }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}

/// A Float32 tensor from stored elements laid out by `shape`/`strides` (in
/// elements) from element `offset` of `base`. Little-endian, aligned, contiguous
/// Float32 — every tensor PyTorch and safetensors normally write — is borrowed
/// without a copy; anything else is converted into fresh storage.
func makeTensor(base: UnsafeRawPointer, type: StoredType, bigEndian: Bool, shape: [Int], strides: [Int],
                offset: Int, owner: AnyObject) -> Tensor {
    let count = Tensor.elementCount(shape)
    let start = base + offset * type.byteSize
    if type == .float32, !bigEndian, isContiguous(shape: shape, strides: strides),
       Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 {
        let floats = UnsafeMutablePointer(mutating: start.assumingMemoryBound(to: Float.self))
        return Tensor(shape: shape, borrowing: UnsafeMutableBufferPointer(start: floats, count: count), owner: owner)
    }
    let tensor = Tensor(zeros: shape)
    guard count > 0 else { return tensor }
    let out = tensor.data
    if isContiguous(shape: shape, strides: strides) {
        for i in 0..<count { out[i] = type.load(start, i, bigEndian: bigEndian) }
        return tensor
    }
    // General strides: walk the row-major index, advancing the source position per axis.
    var index = [Int](repeating: 0, count: shape.count)
    var source = 0
    for i in 0..<count {
        out[i] = type.load(start, source, bigEndian: bigEndian)
        var axis = shape.count - 1
        while axis >= 0 {
            index[axis] += 1
            source += strides[axis]
            if index[axis] < shape[axis] { break }
            source -= strides[axis] * shape[axis]
            index[axis] = 0
            axis -= 1
        }
    }
    return tensor
}

/// Row-major contiguity; axes of size 1 may carry any stride.
func isContiguous(shape: [Int], strides: [Int]) -> Bool {
    var expected = 1
    for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
        if strides[axis] != expected { return false }
        expected *= shape[axis]
    }
    return true
}

/// Elements from the first to one past the last that a strided view touches (0 for an
/// empty tensor), or nil when a damaged header's sizes overflow.
func storageExtent(shape: [Int], strides: [Int]) -> Int? {
    if shape.contains(0) { return 0 }
    var extent = 1
    for (size, stride) in zip(shape, strides) {
        let (reach, o1) = (size - 1).multipliedReportingOverflow(by: stride)
        let (sum, o2) = extent.addingReportingOverflow(reach)
        if o1 || o2 { return nil }
        extent = sum
    }
    return extent
}

/// The most elements one checkpoint tensor may have (2^31, 8 GB as Float32): a header that
/// claims more is damaged or hostile, refused before anything is allocated.
let maxTensorElements = 1 << 31

/// The element count of `shape`, or nil when a dimension is negative, the product of its
/// nonzero sizes overflows (row-major strides multiply those), or it passes `maxTensorElements`.
func checkedElementCount(_ shape: [Int]) -> Int? {
    var nonzero = 1
    for size in shape where size != 0 {
        guard size > 0 else { return nil }
        let (product, overflow) = nonzero.multipliedReportingOverflow(by: size)
        if overflow || product > maxTensorElements { return nil }
        nonzero = product
    }
    return shape.contains(0) ? 0 : nonzero
}
