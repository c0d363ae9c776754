import Foundation

/// A value built by `RestrictedUnpickler`. Only data: strings, numbers,
/// containers, and the tensor references a state dict is made of.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// An allowed global, not yet applied.
    case global(AllowedGlobal)
    /// A persistent id `('storage', type, key, location, numel)`.
    case storage(StorageReference)
    case tensor(TensorReference)
}

/// Lists and dicts are filled after they are memoized, so they are shared boxes.
final class PickleList { var items: [PickleValue] = [] }

final class PickleDict {
    private(set) var pairs: [(key: PickleValue, value: PickleValue)] = []
    private var stringIndex: [String: Int] = [:]

    func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let s) = key, let i = stringIndex[s] {
            pairs[i].value = value
            return
        }
        if case .string(let s) = key { stringIndex[s] = pairs.count }
        pairs.append((key, value))
    }

    subscript(key: String) -> PickleValue? { stringIndex[key].map { pairs[$0].value } }
}

struct StorageReference {
    let type: StoredType
    /// The name of the storage's entry under `data/` in the zip.
    let key: String
    let elementCount: Int
}

struct TensorReference {
    let storage: StorageReference
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// The globals a PyTorch state dict needs. Loading never calls anything: a
/// global only names how to rebuild data, and every other global is refused.
enum AllowedGlobal: Equatable {
    case orderedDict
    case rebuildTensor
    case rebuildParameter
    case storageType(StoredType)

    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensor
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch", "FloatStorage"): self = .storageType(.float32)
        case ("torch", "HalfStorage"): self = .storageType(.float16)
        case ("torch", "BFloat16Storage"): self = .storageType(.bfloat16)
        case ("torch", "DoubleStorage"): self = .storageType(.float64)
        case ("torch", "LongStorage"): self = .storageType(.int64)
        case ("torch", "IntStorage"): self = .storageType(.int32)
        case ("torch", "ShortStorage"): self = .storageType(.int16)
        case ("torch", "CharStorage"): self = .storageType(.int8)
        case ("torch", "ByteStorage"): self = .storageType(.uint8)
        case ("torch", "BoolStorage"): self = .storageType(.bool)
        default: return nil
        }
    }
}

/// A pickle reader (protocols 2–5) restricted to what `torch.save` writes for a
/// state dict. It builds values and never executes code: unknown globals and
/// object-building opcodes (INST, OBJ, NEWOBJ, …) are errors that name them.
struct RestrictedUnpickler {
    private let bytes: UnsafeRawBufferPointer
    private let fail: (String) -> CheckpointError
    private var position = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// `fail` turns a reason into the caller's error (it knows the file name).
    init(_ bytes: UnsafeRawBufferPointer, fail: @escaping (String) -> CheckpointError) {
        self.bytes = bytes
        self.fail = fail
    }

    mutating func load() throws -> PickleValue {
        while true {
            let opcodeOffset = position
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                   // PROTO
            case 0x95: try skip(8)                                      // FRAME (a hint only)
            case 0x2E:                                                  // STOP
                guard let result = stack.popLast(), stack.isEmpty else { throw fail("corrupt pickle (STOP with \(stack.count + 1) values on the stack)") }
                return result
            case 0x28: marks.append(stack.count)                        // MARK
            case 0x7D: stack.append(.dict(PickleDict()))                // EMPTY_DICT
            case 0x5D: stack.append(.list(PickleList()))                // EMPTY_LIST
            case 0x29: stack.append(.tuple([]))                         // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popToMark()))            // TUPLE
            case 0x85: stack.append(.tuple(try pop(1)))                 // TUPLE1
            case 0x86: stack.append(.tuple(try pop(2)))                 // TUPLE2
            case 0x87: stack.append(.tuple(try pop(3)))                 // TUPLE3
            case 0x4E: stack.append(.none)                              // NONE
            case 0x88: stack.append(.bool(true))                        // NEWTRUE
            case 0x89: stack.append(.bool(false))                       // NEWFALSE
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))   // BININT
            case 0x4B: stack.append(.int(Int(try byte())))              // BININT1
            case 0x4D: stack.append(.int(try uint(2)))                  // BININT2
            case 0x8A: stack.append(.int(try long(Int(try byte()))))    // LONG1
            case 0x8B: stack.append(.int(try long(try uint(4))))        // LONG4
            case 0x47:                                                  // BINFLOAT (big-endian)
                let raw = try read(8)
                stack.append(.float(Double(bitPattern: raw.reduce(0) { $0 << 8 | UInt64($1) })))
            case 0x8C: stack.append(.string(try text(Int(try byte()))))   // SHORT_BINUNICODE
            case 0x58: stack.append(.string(try text(try uint(4))))       // BINUNICODE
            case 0x8D: stack.append(.string(try text(try uint(8))))       // BINUNICODE8
            case 0x55: stack.append(.string(try text(Int(try byte()))))   // SHORT_BINSTRING
            case 0x54: stack.append(.string(try text(try uint(4))))       // BINSTRING
            case 0x43: stack.append(.bytes(try read(Int(try byte()))))    // SHORT_BINBYTES
            case 0x42: stack.append(.bytes(try read(try uint(4))))        // BINBYTES
            case 0x71: memo[Int(try byte())] = try top()                  // BINPUT
            case 0x72: memo[try uint(4)] = try top()                      // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()                       // MEMOIZE
            case 0x68: stack.append(try recall(Int(try byte())))          // BINGET
            case 0x6A: stack.append(try recall(try uint(4)))              // LONG_BINGET
            case 0x30: _ = try pop(1)                                     // POP
            case 0x31: _ = try popToMark()                                // POP_MARK
            case 0x32: stack.append(try top())                            // DUP
            case 0x63:                                                    // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                stack.append(.global(try allow(module, name)))
            case 0x93:                                                    // STACK_GLOBAL
                let pair = try pop(2)
                guard case .string(let module) = pair[0], case .string(let name) = pair[1] else {
                    throw fail("corrupt pickle (STACK_GLOBAL without two strings)")
                }
                stack.append(.global(try allow(module, name)))
            case 0x51: stack.append(try persistentID(try pop(1)[0]))      // BINPERSID
            case 0x73:                                                    // SETITEM
                let kv = try pop(2)
                try dictionary(try top()).set(kv[0], kv[1])
            case 0x75:                                                    // SETITEMS
                let items = try popToMark()
                guard items.count % 2 == 0 else { throw fail("corrupt pickle (SETITEMS with an odd count)") }
                let dict = try dictionary(try top())
                for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
            case 0x61:                                                    // APPEND
                let item = try pop(1)[0]
                try list(try top()).items.append(item)
            case 0x65:                                                    // APPENDS
                let items = try popToMark()
                try list(try top()).items.append(contentsOf: items)
            case 0x52:                                                    // REDUCE
                let parts = try pop(2)
                stack.append(try reduce(parts[0], parts[1]))
            case 0x62:                                                    // BUILD
                // torch's state dict is an OrderedDict carrying a `_metadata`
                // attribute (module versions); it changes no tensor.
                let state = try pop(1)[0]
                guard case .dict = try top() else {
                    throw fail("pickle sets the state of a non-dict object (\(describe(state))); refused")
                }
            default:
                let name = Self.opcodeNames[op].map { "\($0) (0x\(String(op, radix: 16)))" } ?? "0x\(String(op, radix: 16))"
                throw fail("unsupported pickle opcode \(name) at byte \(opcodeOffset): a state dict of tensors never needs it")
            }
        }
    }

    // MARK: Applying the allowed globals

    private func allow(_ module: String, _ name: String) throws -> AllowedGlobal {
        guard let global = AllowedGlobal(module: module, name: name) else {
            throw fail("refuses pickle global \(module).\(name): a checkpoint may only hold tensors (nothing in it is executed)")
        }
        return global
    }

    private func reduce(_ callable: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
        guard case .global(let global) = callable, case .tuple(let args) = arguments else {
            throw fail("corrupt pickle (REDUCE needs an allowed global and a tuple)")
        }
        switch global {
        case .orderedDict:
            let dict = PickleDict()
            if let initial = args.first {
                guard case .list(let pairs) = initial else { throw fail("unsupported OrderedDict(...) arguments") }
                for pair in pairs.items {
                    guard case .tuple(let kv) = pair, kv.count == 2 else { throw fail("unsupported OrderedDict(...) arguments") }
                    dict.set(kv[0], kv[1])
                }
            }
            return .dict(dict)
        case .rebuildTensor:
            // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
            guard args.count >= 4, case .storage(let storage) = args[0], case .int(let offset) = args[1],
                  let shape = ints(args[2]), let strides = ints(args[3]), shape.count == strides.count else {
                throw fail("corrupt pickle (unexpected _rebuild_tensor_v2 arguments)")
            }
            guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor with a negative offset, size or stride (shape \(shape), strides \(strides))")
            }
            guard checkedElementCount(shape) != nil else {
                throw fail("tensor of shape \(shape) has more than 2^31 elements")
            }
            guard let extent = storageExtent(shape: shape, strides: strides), extent <= storage.elementCount,
                  offset <= storage.elementCount - extent else {
                throw fail("tensor of shape \(shape) at offset \(offset) overruns its storage \(storage.key) of \(storage.elementCount) elements")
            }
            return .tensor(TensorReference(storage: storage, offset: offset, shape: shape, strides: strides))
        case .rebuildParameter:
            // _rebuild_parameter(data, requires_grad, backward_hooks): the data is the tensor.
            guard let data = args.first, case .tensor = data else {
                throw fail("corrupt pickle (_rebuild_parameter without a tensor)")
            }
            return data
        case .storageType:
            throw fail("pickle calls a storage type directly; refused")
        }
    }

    private func persistentID(_ id: PickleValue) throws -> PickleValue {
        guard case .tuple(let parts) = id, parts.count == 5, case .string("storage") = parts[0],
              case .global(.storageType(let type)) = parts[1], case .string(let key) = parts[2],
              case .int(let count) = parts[4], count >= 0 else {
            throw fail("unsupported persistent id \(describe(id)) (expected ('storage', type, key, location, numel))")
        }
        return .storage(StorageReference(type: type, key: key, elementCount: count))
    }

    private func ints(_ value: PickleValue) -> [Int]? {
        guard case .tuple(let items) = value else { return nil }
        var result: [Int] = []
        for item in items {
            guard case .int(let v) = item else { return nil }
            result.append(v)
        }
        return result
    }

    private func describe(_ value: PickleValue) -> String {
        switch value {
        case .string(let s): "'\(s)'"
        case .int(let i): "\(i)"
        case .tuple(let items): "(" + items.map(describe).joined(separator: ", ") + ")"
        case .global(let g): "\(g)"
        default: "a \(String(describing: value).prefix(while: { $0 != "(" }))"
        }
    }

    // MARK: Stack and stream

    private func dictionary(_ value: PickleValue) throws -> PickleDict {
        guard case .dict(let d) = value else { throw fail("corrupt pickle (SETITEM on a non-dict)") }
        return d
    }

    private func list(_ value: PickleValue) throws -> PickleList {
        guard case .list(let l) = value else { throw fail("corrupt pickle (APPEND on a non-list)") }
        return l
    }

    private func top() throws -> PickleValue {
        guard let value = stack.last else { throw fail("corrupt pickle (empty stack)") }
        return value
    }

    private mutating func pop(_ n: Int) throws -> [PickleValue] {
        let floor = marks.last ?? 0
        guard stack.count - n >= floor else { throw fail("corrupt pickle (stack underflow)") }
        defer { stack.removeLast(n) }
        return Array(stack.suffix(n))
    }

    private mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("corrupt pickle (no MARK)") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func recall(_ index: Int) throws -> PickleValue {
        guard let value = memo[index] else { throw fail("corrupt pickle (memo \(index) unset)") }
        return value
    }

    private mutating func byte() throws -> UInt8 {
        guard position < bytes.count else { throw fail("corrupt pickle (ends without STOP; truncated?)") }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func read(_ n: Int) throws -> [UInt8] {
        let start = position
        try skip(n)
        return Array(bytes[start..<start + n])
    }

    /// Moves past `n` bytes. FRAME's length used to be read into an array and dropped, and
    /// Swift 6.3 at -O freed that array before copying into it (AddressSanitizer: a write
    /// after free, found by scripts/fuzz pth on torch's own protocol-4 file).
    private mutating func skip(_ n: Int) throws {
        guard n >= 0, n <= bytes.count - position else { throw fail("corrupt pickle (ends inside a value; truncated?)") }
        position += n
    }

    private mutating func uint(_ n: Int) throws -> Int {
        let raw = try read(n)
        let value = raw.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard let result = Int(exactly: value) else { throw fail("corrupt pickle (length out of range)") }
        return result
    }

    /// A little-endian two's-complement integer of `n` bytes (LONG1/LONG4).
    private mutating func long(_ n: Int) throws -> Int {
        guard n <= 8 else { throw fail("pickle integer of \(n) bytes is out of range") }
        let raw = try read(n)
        guard n > 0 else { return 0 }
        var value = raw.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        if n < 8, raw[n - 1] & 0x80 != 0 { value |= ~UInt64(0) << (8 * n) }   // sign-extend
        return Int(Int64(bitPattern: value))
    }

    private mutating func text(_ n: Int) throws -> String {
        String(decoding: try read(n), as: UTF8.self)
    }

    private mutating func line() throws -> String {
        var raw: [UInt8] = []
        while true {
            let b = try byte()
            if b == 0x0A { return String(decoding: raw, as: UTF8.self) }
            raw.append(b)
            guard raw.count < 256 else { throw fail("corrupt pickle (GLOBAL name too long)") }
        }
    }

    private static let opcodeNames: [UInt8: String] = [
        0x69: "INST", 0x6F: "OBJ", 0x81: "NEWOBJ", 0x92: "NEWOBJ_EX", 0x50: "PERSID", 0x82: "EXT1",
        0x83: "EXT2", 0x84: "EXT4", 0x49: "INT", 0x4C: "LONG", 0x46: "FLOAT", 0x53: "STRING",
        0x56: "UNICODE", 0x64: "DICT", 0x6C: "LIST", 0x67: "GET", 0x70: "PUT", 0x8F: "EMPTY_SET",
        0x90: "ADDITEMS", 0x91: "FROZENSET", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
    ]
}
