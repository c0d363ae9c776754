import Foundation

/// A bad input file: which file, and why. Every reader throws this, so a batch
/// command prints one line per bad file (`file: reason`) and carries on.
public struct InputError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}

/// One 2-D image as read from a file, before any window.
///
/// `pixels` are interleaved (row-major, `channels` values per pixel): for DICOM
/// and NIfTI the modality values (stored × slope + intercept, e.g. HU for CT),
/// for PNG/JPEG the stored sample values (0…255 or 0…65535).
public struct Image: Sendable {
    public var width: Int
    public var height: Int
    /// 1 (gray) or 3 (RGB).
    public var channels: Int
    public var pixels: [Float]
    /// Millimetres per pixel along x (columns) and y (rows); nil when the file does not say.
    public var pixelSpacing: (x: Double, y: Double)?
    /// The file's own window (DICOM Window Center/Width), if it has one.
    public var fileWindow: (width: Double, level: Double)?
    /// The largest value the stored samples can take (255, 4095, 65535), when known.
    public var maxSampleValue: Double?

    public init(width: Int, height: Int, channels: Int, pixels: [Float]) {
        precondition(pixels.count == width * height * channels, "pixel count does not match \(width)×\(height)×\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }
}

/// A binary mask in 2-D (`depth` 1) or 3-D: 0 background, 1 foreground;
/// x fastest, then y, then z.
public struct Mask: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var depth: Int
    public var voxels: [UInt8]
    /// Millimetres per voxel along x, y, z; nil when the file does not say.
    public var spacing: [Double]?

    public init(width: Int, height: Int, depth: Int = 1, voxels: [UInt8], spacing: [Double]? = nil) {
        precondition(voxels.count == width * height * depth, "voxel count does not match \(width)×\(height)×\(depth)")
        self.width = width
        self.height = height
        self.depth = depth
        self.voxels = voxels
        self.spacing = spacing
    }

    public var foregroundCount: Int { voxels.reduce(0) { $0 + Int($1 != 0 ? 1 : 0) } }
}
