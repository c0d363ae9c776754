import CDICOM
import Foundation

/// Attributes and (optionally) pixels of one DICOM file, as the C bridge returns them.
struct DICOMFile {
    var info: DICOMInfo
    var rows: Int
    var columns: Int
    var samplesPerPixel: Int
    var pixelSpacing: (x: Double, y: Double)?
    var window: (width: Double, level: Double)?
    var invertsForDisplay: Bool
    /// frames × rows × columns × samples modality values; empty when read without pixels.
    var values: [Float]
}

func readDICOMFile(at url: URL, withPixels: Bool) throws -> DICOMFile {
    var raw = cdicom_image()
    let status = url.path.withCString { cdicom_read($0, withPixels ? 1 : 0, &raw) }
    defer { cdicom_free(&raw) }
    guard status == 0 else { throw InputError(file: url.path, reason: cString(raw.error)) }
    let count = Int(raw.frames) * Int(raw.rows) * Int(raw.columns) * Int(raw.samples_per_pixel)
    let values = raw.values.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    let info = DICOMInfo(
        modality: nonEmpty(cString(raw.modality)),
        transferSyntaxUID: cString(raw.transfer_syntax_uid),
        transferSyntaxName: cString(raw.transfer_syntax_name),
        photometricInterpretation: cString(raw.photometric),
        bitsAllocated: Int(raw.bits_allocated), bitsStored: Int(raw.bits_stored),
        isSigned: raw.pixel_representation == 1,
        rescaleSlope: raw.rescale_slope, rescaleIntercept: raw.rescale_intercept,
        instanceNumber: raw.has_instance_number != 0 ? Int(raw.instance_number) : nil,
        imagePosition: raw.has_image_position != 0 ? tuple3(raw.image_position) : nil,
        imageOrientation: raw.has_image_orientation != 0 ? tuple6(raw.image_orientation) : nil,
        sliceThickness: raw.has_slice_thickness != 0 ? raw.slice_thickness : nil,
        sopInstanceUID: nonEmpty(cString(raw.sop_instance_uid)),
        seriesInstanceUID: nonEmpty(cString(raw.series_instance_uid)),
        seriesDescription: nonEmpty(cString(raw.series_description)),
        numberOfFrames: Int(raw.frames), frameIndex: 0)
    return DICOMFile(
        info: info, rows: Int(raw.rows), columns: Int(raw.columns), samplesPerPixel: Int(raw.samples_per_pixel),
        // DICOM gives the row spacing (between rows: y) first.
        pixelSpacing: raw.has_pixel_spacing != 0 ? (x: raw.pixel_spacing.1, y: raw.pixel_spacing.0) : nil,
        window: raw.has_window != 0 ? (width: raw.window_width, level: raw.window_center) : nil,
        invertsForDisplay: cString(raw.photometric) == "MONOCHROME1",
        values: values)
}

/// Reads a DICOM file: one `Image` per frame, modality values (stored × slope + intercept).
public func readDICOM(at url: URL) throws -> [Image] {
    let file = try readDICOMFile(at: url, withPixels: true)
    let perFrame = file.rows * file.columns * file.samplesPerPixel
    return (0..<file.info.numberOfFrames).map { frame in
        var image = Image(width: file.columns, height: file.rows, channels: file.samplesPerPixel,
                          pixels: Array(file.values[(frame * perFrame)..<((frame + 1) * perFrame)]))
        image.pixelSpacing = file.pixelSpacing
        image.fileWindow = file.window
        image.invertsForDisplay = file.invertsForDisplay
        image.maxSampleValue = file.samplesPerPixel == 3 || file.info.rescaleSlope == 1 && file.info.rescaleIntercept == 0
            ? (file.info.isSigned ? Double((1 << (file.info.bitsStored - 1)) - 1) : Double((1 << file.info.bitsStored) - 1))
            : nil
        image.source = url.path
        image.dicom = file.info
        image.dicom?.frameIndex = frame
        return image
    }
}

/// DCMTK's version, for reports.
public var dcmtkVersion: String { String(cString: cdicom_dcmtk_version()) }

func cString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}

private func nonEmpty(_ text: String) -> String? { text.isEmpty ? nil : text }
private func tuple3(_ t: (Double, Double, Double)) -> [Double] { [t.0, t.1, t.2] }
private func tuple6(_ t: (Double, Double, Double, Double, Double, Double)) -> [Double] { [t.0, t.1, t.2, t.3, t.4, t.5] }
