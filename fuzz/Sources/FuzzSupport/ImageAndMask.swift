import Imaging

/// The input as a file named `name`, read as an image (`predict`, `fit`) and as a mask and
/// label map (`score`, `fit`'s masks/), through the functions the CLI calls. The NIfTI,
/// NRRD, MetaImage and PNG targets differ only in the name, which picks the reader.
public func readAsImageAndMask(_ name: String, _ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    withFile(named: name, bytes(data, size)) { url in
        _ = try? readVolume(at: url)
        _ = try readMask(at: url, labels: [1, 5])
    }
    return 0
}
