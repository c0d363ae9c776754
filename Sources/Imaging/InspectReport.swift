import Foundation

/// What `segtune inspect` reports for one file or series; also its `--json` object.
public struct InspectReport: Encodable, Sendable {
    public var path: String
    public var caseName: String?
    public var mask: String?
    /// Foreground pixels over all slices of the case's mask.
    public var maskForeground: Int?
    public var format: String
    public var rows: Int
    public var columns: Int
    public var channels: Int
    public var frames: Int
    public var modality: String?
    public var transferSyntax: String?
    public var transferSyntaxName: String?
    public var photometricInterpretation: String?
    public var seriesInstanceUID: String?
    /// Which way the stored axes point (nibabel's codes, e.g. "RAS"), and the order segtune reads it in.
    public var orientation: String?
    public var storedSize: [Int]?
    public var spacing: [Double]?
    public var rescaleSlope: Double?
    public var rescaleIntercept: Double?
    public var min: Double
    public var max: Double
    public var mean: Double
    /// The window `--window` resolves to for this file, and where it comes from.
    public var windowWidth: Double
    public var windowLevel: Double
    public var windowSource: String

    enum CodingKeys: String, CodingKey {
        case path, caseName = "case", mask, maskForeground, format, rows, columns, channels, frames, modality, transferSyntax,
             transferSyntaxName, photometricInterpretation, seriesInstanceUID, orientation, storedSize, spacing, rescaleSlope,
             rescaleIntercept, min, max, mean, windowWidth, windowLevel, windowSource
    }

    public init(volume: Volume, path: String, window requested: Window) {
        let first = volume.slices[0]
        let dicom = first.dicom
        self.path = path
        format = dicom != nil ? "DICOM" : formatName(path)
        rows = first.height
        columns = first.width
        channels = first.channels
        frames = volume.slices.count
        modality = dicom?.modality
        transferSyntax = dicom?.transferSyntaxUID
        transferSyntaxName = dicom?.transferSyntaxName
        photometricInterpretation = dicom?.photometricInterpretation
        seriesInstanceUID = volume.seriesInstanceUID
        if let geometry = volume.geometry {
            orientation = geometry.isOriented ? "\(geometry.storedCode) → LPS" : "unknown (no sform/qform): stored order kept"
            storedSize = geometry.storedSize
        }
        spacing = volume.spacing ?? first.pixelSpacing.map { [$0.x, $0.y] }
        rescaleSlope = dicom?.rescaleSlope
        rescaleIntercept = dicom?.rescaleIntercept
        var low = Float.infinity, high = -Float.infinity, sum = 0.0, count = 0
        for slice in volume.slices {
            for v in slice.pixels {
                low = Swift.min(low, v)
                high = Swift.max(high, v)
                sum += Double(v)
            }
            count += slice.pixels.count
        }
        min = Double(low)
        max = Double(high)
        mean = count > 0 ? sum / Double(count) : 0
        let window = resolveWindow(requested, for: volume.slices)
        windowWidth = window.width
        windowLevel = window.level
        windowSource = window.source.rawValue
    }

    /// The lines `segtune inspect` prints.
    public var text: String {
        var lines = ["\(path): \(format) \(columns)×\(rows)\(channels == 3 ? " RGB" : ""), \(frames) \(frames == 1 ? "frame" : "frames/slices")"]
        if let modality { lines.append("  modality: \(modality)") }
        if let transferSyntax { lines.append("  transfer syntax: \(transferSyntax) (\(transferSyntaxName ?? ""))") }
        if let photometricInterpretation { lines.append("  photometric: \(photometricInterpretation)") }
        if let seriesInstanceUID { lines.append("  series: \(seriesInstanceUID)") }
        if let orientation { lines.append("  orientation: \(orientation)" + (storedSize.map { " (stored \($0.map(String.init).joined(separator: "×")))" } ?? "")) }
        if let spacing { lines.append("  spacing: \(spacing.map { format3($0) }.joined(separator: " × ")) mm") }
        if let rescaleSlope, let rescaleIntercept, rescaleSlope != 1 || rescaleIntercept != 0 {
            lines.append("  rescale: slope \(format3(rescaleSlope)), intercept \(format3(rescaleIntercept))")
        }
        lines.append("  values: min \(format3(min)), max \(format3(max)), mean \(format3(mean))")
        lines.append("  window: W \(format3(windowWidth)) / L \(format3(windowLevel)) (\(windowSource))")
        if let maskForeground { lines.append("  mask: \(maskForeground) foreground pixels") }
        return lines.joined(separator: "\n")
    }
}

private func formatName(_ path: String) -> String {
    let lower = path.lowercased()
    if lower.hasSuffix(".png") { return "PNG" }
    if lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") { return "JPEG" }
    if lower.hasSuffix(".nii") || lower.hasSuffix(".nii.gz") { return "NIfTI" }
    if lower.hasSuffix(".nrrd") || lower.hasSuffix(".nhdr") { return "NRRD" }
    if lower.hasSuffix(".mha") || lower.hasSuffix(".mhd") { return "MetaImage" }
    return "image"
}

private func format3(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e9 ? String(Int(value)) : String(format: "%.4g", value)
}
