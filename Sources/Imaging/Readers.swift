import Foundation

/// Reads a mask from a PNG (nonzero is foreground) or a NIfTI, NRRD or MetaImage label map (3-D, with spacing).
/// `labels`: when given, only voxels whose value is one of these labels are foreground.
/// Palette PNGs are read as their indices (the usual way label maps are stored).
public func readMask(at url: URL, labels: Set<Int>? = nil) throws -> Mask {
    switch FileKind(url) {
    case .png:
        let raster = try readPNGRaster(url, keepPaletteIndices: true)
        var voxels = [UInt8](repeating: 0, count: raster.width * raster.height)
        if raster.channels == 1 {
            for i in voxels.indices { voxels[i] = isForeground(Int(raster.samples[i]), labels) ? 1 : 0 }
        } else {
            guard labels == nil else {
                throw InputError(file: url.path, reason: "an RGB mask has no label values; --label needs a gray or palette PNG")
            }
            for i in voxels.indices {
                let p = i * raster.channels
                voxels[i] = raster.samples[p] != 0 || raster.samples[p + 1] != 0 || raster.samples[p + 2] != 0 ? 1 : 0
            }
        }
        return Mask(width: raster.width, height: raster.height, voxels: voxels)
    case .nifti:
        return try readNIfTIMask(at: url, labels: labels)
    case .nrrd:
        return try readNRRD(at: url).grid.mask(labels: labels)
    case .metaImage:
        return try readMetaImage(at: url).mask(labels: labels)
    default:
        throw InputError(file: url.path, reason: "a mask must be a PNG, NIfTI (.nii, .nii.gz), NRRD (.nrrd, .seg.nrrd, .nhdr) or MetaImage (.mha, .mhd) file")
    }
}

@inline(__always)
func isForeground(_ value: Int, _ labels: Set<Int>?) -> Bool {
    if let labels { return labels.contains(value) }
    return value != 0
}

/// The file formats segtune reads, by file name (DICOM files often have no extension: `unknown`).
public enum FileKind: Sendable {
    case dicom, png, jpeg, nifti, nrrd, metaImage, unknown

    public init(_ url: URL) {
        let name = url.lastPathComponent.lowercased()
        if name.hasSuffix(".nii") || name.hasSuffix(".nii.gz") { self = .nifti; return }
        switch url.pathExtension.lowercased() {
        case "dcm", "dicom": self = .dicom
        case "png": self = .png
        case "nrrd", "nhdr": self = .nrrd
        case "mha", "mhd": self = .metaImage
        case "jpg", "jpeg": self = .jpeg
        default: self = .unknown
        }
    }
}
