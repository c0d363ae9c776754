import Foundation
import Tensors
import ZIPFoundation

/// Reads a PyTorch `.pth`/`.pt` file (the zip format of `torch.save`, PyTorch ≥ 1.6):
/// `<prefix>/data.pkl` through `RestrictedUnpickler`, then each tensor from its
/// storage entry `<prefix>/data/<key>`, borrowed from the memory map when it can be.
enum TorchCheckpoint {
    static func read(_ file: MappedFile) throws -> [String: Tensor] {
        let zip = try ZipDirectory(file)
        guard let pickleEntry = zip.entry(endingWith: "data.pkl") else {
            throw file.error("zip archive without a data.pkl entry: not a PyTorch checkpoint")
        }
        let prefix = String(pickleEntry.name.dropLast("data.pkl".count))
        let bigEndian = try byteOrderIsBig(zip.entry(named: prefix + "byteorder"), in: file)

        let (pickle, pickleOwner) = try payload(of: pickleEntry, in: file)
        let root = try withExtendedLifetime(pickleOwner) {
            var unpickler = RestrictedUnpickler(pickle) { file.error($0) }
            return try unpickler.load()
        }
        let entries = try stateDictEntries(root, file: file)

        var storages: [String: (bytes: UnsafeRawBufferPointer, owner: AnyObject)] = [:]
        var result: [String: Tensor] = [:]
        result.reserveCapacity(entries.count)
        for (name, reference) in entries {
            let storage = reference.storage
            if storages[storage.key] == nil {
                guard let entry = zip.entry(named: prefix + "data/" + storage.key) else {
                    throw file.error("tensor \(name): storage data/\(storage.key) is missing from the archive")
                }
                storages[storage.key] = try payload(of: entry, in: file)
            }
            let (bytes, owner) = storages[storage.key]!
            guard storage.elementCount <= bytes.count / storage.type.byteSize else {
                throw file.error("tensor \(name): storage data/\(storage.key) holds \(bytes.count) bytes, "
                    + "fewer than its \(storage.elementCount) \(storage.type.rawValue) elements need")
            }
            guard let base = bytes.baseAddress ?? (storage.elementCount == 0 ? UnsafeRawPointer(bitPattern: 16) : nil) else {
                throw file.error("tensor \(name): empty storage")
            }
            result[name] = makeTensor(base: base, type: storage.type, bigEndian: bigEndian, shape: reference.shape,
                                      strides: reference.strides, offset: reference.offset, owner: owner)
        }
        return result
    }

    /// The tensors of the state dict: the root dict, or the dict under its
    /// `model` / `state_dict` key (training checkpoints nest it there).
    private static func stateDictEntries(_ root: PickleValue, file: MappedFile) throws -> [(String, TensorReference)] {
        guard case .dict(var dict) = root else {
            throw file.error("the pickled object is not a dict of tensors")
        }
        for key in ["model", "state_dict"] {
            if case .dict(let nested)? = dict[key] {
                dict = nested
                break
            }
        }
        var entries: [(String, TensorReference)] = []
        for (key, value) in dict.pairs {
            guard case .string(let name) = key else { throw file.error("state dict has a non-string key") }
            guard case .tensor(let reference) = value else {
                throw file.error("state dict entry \(name) is not a tensor")
            }
            entries.append((name, reference))
        }
        guard !entries.isEmpty else { throw file.error("the checkpoint holds no tensors") }
        return entries
    }

    private static func byteOrderIsBig(_ entry: ZipDirectory.Entry?, in file: MappedFile) throws -> Bool {
        // Files written before the entry existed are little-endian.
        guard let entry else { return false }
        let (bytes, owner) = try payload(of: entry, in: file)
        let text = withExtendedLifetime(owner) {
            String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        switch text {
        case "little": return false
        case "big": return true
        default: throw file.error("unknown byteorder '\(text)' in the archive")
        }
    }

    /// An entry's bytes: a range of the map when stored, else inflated by ZIPFoundation.
    private static func payload(of entry: ZipDirectory.Entry, in file: MappedFile) throws
        -> (bytes: UnsafeRawBufferPointer, owner: AnyObject)
    {
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.size else {
                throw file.error("zip entry \(entry.name): stored entry with differing sizes")
            }
            return (UnsafeRawBufferPointer(rebasing: file.bytes[entry.dataOffset..<entry.dataOffset + entry.size]), file)
        case 8:
            // Deflate expands at most about 1032:1: a size beyond that is a damaged or hostile
            // header, refused before the buffer is allocated (a zip bomb inflates no further).
            guard entry.size <= entry.compressedSize * 1032 + 1024 else {
                throw file.error("zip entry \(entry.name): \(entry.compressedSize) compressed bytes cannot hold the \(entry.size) bytes its header gives")
            }
            let buffer = HeapBytes(count: entry.size)
            do {
                let archive = try Archive(url: URL(fileURLWithPath: file.path), accessMode: .read)
                guard let zipEntry = archive[entry.name] else { throw file.error("zip entry \(entry.name) unreadable") }
                var filled = 0
                _ = try archive.extract(zipEntry) { chunk in
                    guard filled + chunk.count <= entry.size else { throw file.error("zip entry \(entry.name) inflates past its size") }
                    chunk.copyBytes(to: UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[filled...]))
                    filled += chunk.count
                }
                guard filled == entry.size else { throw file.error("zip entry \(entry.name) inflates short") }
            } catch let error as CheckpointError {
                throw error
            } catch {
                throw file.error("zip entry \(entry.name) cannot be inflated (\(error))")
            }
            return (UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<entry.size]), buffer)
        default:
            throw file.error("zip entry \(entry.name) uses unsupported compression method \(entry.method)")
        }
    }
}

/// Heap bytes that borrowed tensors can keep alive.
final class HeapBytes: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer
    init(count: Int) {
        bytes = .allocate(byteCount: max(count, 1), alignment: 64)
    }
    deinit { bytes.deallocate() }
}
