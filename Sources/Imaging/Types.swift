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
    /// MONOCHROME1: low values are bright. `pixels` stay modality values; windowing inverts.
    public var invertsForDisplay: Bool = false
    /// DICOM attributes (nil for PNG, JPEG, NIfTI).
    public var dicom: DICOMInfo?
    /// The file this image came from, for error messages and reports.
    public var source: String?

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

    /// A 2-D mask with no foreground.
    public static func empty(width: Int, height: Int) -> Mask {
        Mask(width: width, height: height, voxels: [UInt8](repeating: 0, count: width * height))
    }

    /// Equally sized 2-D masks as one 3-D mask, in order.
    public init(stacking slices: [Mask]) {
        precondition(!slices.isEmpty, "no slices to stack")
        self.init(width: slices[0].width, height: slices[0].height, depth: slices.count, voxels: slices.flatMap(\.voxels))
    }

    /// Slice `z` of a 3-D mask as a 2-D one.
    public func slice(_ z: Int) -> Mask {
        let n = width * height
        return Mask(width: width, height: height, voxels: Array(voxels[(z * n)..<((z + 1) * n)]))
    }
}

/// DICOM attributes that segtune reports or uses to build volumes.
public struct DICOMInfo: Sendable, Equatable {
    public var modality: String?
    public var transferSyntaxUID: String
    public var transferSyntaxName: String
    public var photometricInterpretation: String
    public var bitsAllocated: Int
    public var bitsStored: Int
    public var isSigned: Bool
    public var rescaleSlope: Double
    public var rescaleIntercept: Double
    public var instanceNumber: Int?
    /// Image Position (Patient), mm.
    public var imagePosition: [Double]?
    /// Image Orientation (Patient): row direction cosines, then column direction cosines.
    public var imageOrientation: [Double]?
    public var sliceThickness: Double?
    public var sopInstanceUID: String?
    public var seriesInstanceUID: String?
    public var seriesDescription: String?
    /// Number of frames in the file; `frameIndex` is this image's frame (0-based).
    public var numberOfFrames: Int
    public var frameIndex: Int

    public init(modality: String?, transferSyntaxUID: String, transferSyntaxName: String,
                photometricInterpretation: String, bitsAllocated: Int, bitsStored: Int, isSigned: Bool,
                rescaleSlope: Double, rescaleIntercept: Double, instanceNumber: Int?,
                imagePosition: [Double]?, imageOrientation: [Double]?, sliceThickness: Double?,
                sopInstanceUID: String?, seriesInstanceUID: String?, seriesDescription: String?,
                numberOfFrames: Int, frameIndex: Int) {
        self.modality = modality
        self.transferSyntaxUID = transferSyntaxUID
        self.transferSyntaxName = transferSyntaxName
        self.photometricInterpretation = photometricInterpretation
        self.bitsAllocated = bitsAllocated
        self.bitsStored = bitsStored
        self.isSigned = isSigned
        self.rescaleSlope = rescaleSlope
        self.rescaleIntercept = rescaleIntercept
        self.instanceNumber = instanceNumber
        self.imagePosition = imagePosition
        self.imageOrientation = imageOrientation
        self.sliceThickness = sliceThickness
        self.sopInstanceUID = sopInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.seriesDescription = seriesDescription
        self.numberOfFrames = numberOfFrames
        self.frameIndex = frameIndex
    }
}
