import Foundation

/// How modality values become [0, 1]: a fixed window (width, level) or `auto`.
public enum Window: Sendable, Equatable {
    case fixed(width: Double, level: Double)
    /// CT (DICOM Modality CT, or values that look like Hounsfield units) gets the
    /// abdomen window, as MedSAM's own CT preprocessing; otherwise the file's own
    /// window (DICOM Window Center/Width) if it has one; for 8-bit PNG/JPEG the full
    /// 0…255 range (already display values); else the 0.5–99.5 percentiles.
    case auto

    /// What `auto` gives CT: the abdomen window, W 400 / L 40 HU.
    public static let ctDefault = Window.fixed(width: 400, level: 40)

    /// CT windows by name: width / level in HU.
    public static let presets: [(name: String, window: Window)] = [
        ("abdomen", .fixed(width: 400, level: 40)),
        ("liver", .fixed(width: 150, level: 30)),
        ("lung", .fixed(width: 1500, level: -600)),
        ("bone", .fixed(width: 1800, level: 400)),
        ("brain", .fixed(width: 80, level: 40)),
    ]

    /// Parses `--window`: a preset name, `auto`, or `W/L` such as `400/40` or `1500/-600`.
    public init(parsing text: String) throws(WindowParseError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed == "auto" { self = .auto; return }
        if let preset = Window.presets.first(where: { $0.name == trimmed }) { self = preset.window; return }
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw WindowParseError(message: "unknown window '\(text)': use \(Window.presets.map(\.name).joined(separator: ", ")), auto, or W/L such as 400/40")
        }
        guard let width = Double(parts[0]), let level = Double(parts[1]), width.isFinite, level.isFinite else {
            throw WindowParseError(message: "window '\(text)': width and level must be numbers, as in 400/40 or 1500/-600")
        }
        guard width > 0 else { throw WindowParseError(message: "window '\(text)': the width must be positive") }
        self = .fixed(width: width, level: level)
    }
}

public struct WindowParseError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// A window ready to apply, and where it came from.
public struct ResolvedWindow: Sendable, Equatable {
    public enum Source: String, Sendable, Codable {
        case option, ctDefault = "CT default (abdomen)", file, sampleRange = "8-bit range", percentiles = "0.5–99.5 percentiles"
    }
    public var width: Double
    public var level: Double
    public var source: Source

    /// "W 400 / L 40 (CT default (abdomen))".
    public var summary: String { "W \(Self.number(width)) / L \(Self.number(level)) (\(source.rawValue))" }

    private static func number(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format: "%.1f", v)
    }
}

/// Settles `window` for a set of images (all slices of one volume share one window).
public func resolveWindow(_ window: Window, for images: [Image]) -> ResolvedWindow {
    if case let .fixed(width, level) = window { return ResolvedWindow(width: width, level: level, source: .option) }
    // The percentiles serve both the CT test (NIfTI) and the last resort: sorted once.
    var range: (Double, Double)?
    func valueRange() -> (Double, Double) {
        if range == nil { range = percentiles(images, 0.005, 0.995) }
        return range!
    }
    if looksLikeCT(images, valueRange: valueRange), case let .fixed(width, level) = Window.ctDefault {
        return ResolvedWindow(width: width, level: level, source: .ctDefault)
    }
    if let own = images.first?.fileWindow { return ResolvedWindow(width: own.width, level: own.level, source: .file) }
    if let first = images.first, first.maxSampleValue == 255, first.dicom == nil {
        return ResolvedWindow(width: 255, level: 127.5, source: .sampleRange)
    }
    let (low, high) = valueRange()
    let width = high > low ? high - low : 1
    return ResolvedWindow(width: width, level: high > low ? (low + high) / 2 : low + 0.5, source: .percentiles)
}

/// DICOM Modality CT; or, for NIfTI (no DICOM attributes, no sample range), gray values whose low
/// percentile sits in air (−3100…−500 HU, padding included) and whose high one below
/// dense bone and metal (≤ 4000): what Hounsfield units look like, and MR never does.
/// `valueRange` gives the 0.5 and 99.5 percentiles of the images' values.
func looksLikeCT(_ images: [Image], valueRange: () -> (Double, Double)) -> Bool {
    guard let first = images.first, first.channels == 1 else { return false }
    if let modality = first.dicom?.modality { return modality.uppercased() == "CT" }
    // PNG and JPEG samples (their range is known) are display values, never HU.
    guard first.maxSampleValue == nil else { return false }
    let (low, high) = valueRange()
    return (-3100 ... -500).contains(low) && high <= 4000
}

/// Maps values to [0, 1] through the window (clamped); MONOCHROME1 images are inverted
/// so that bright is always high. Channels are kept.
public func applyWindow(_ window: ResolvedWindow, to image: Image) -> Image {
    var result = image
    let low = Float(window.level - window.width / 2), scale = Float(1 / window.width)
    let invert = image.invertsForDisplay
    result.pixels = image.pixels.map { v in
        let t = Swift.min(Swift.max((v - low) * scale, 0), 1)
        return invert ? 1 - t : t
    }
    result.fileWindow = nil
    result.maxSampleValue = 1
    result.invertsForDisplay = false
    return result
}

/// Resolves the window over all `images` and applies it to each.
public func windowed(_ images: [Image], _ window: Window) -> [Image] {
    let resolved = resolveWindow(window, for: images)
    return images.map { applyWindow(resolved, to: $0) }
}

/// Percentiles with linear interpolation between order statistics (numpy's default),
/// over at most about 4 M evenly strided values (enough for two decimals of a percent).
func percentiles(_ images: [Image], _ lowFraction: Double, _ highFraction: Double) -> (Double, Double) {
    let total = images.reduce(0) { $0 + $1.pixels.count }
    guard total > 0 else { return (0, 1) }
    let stride = Swift.max(1, total / 4_000_000)
    var values: [Float] = []
    values.reserveCapacity(total / stride + 1)
    var index = 0
    for image in images {
        for v in image.pixels {
            if index % stride == 0 { values.append(v) }
            index += 1
        }
    }
    values.sort()
    func at(_ fraction: Double) -> Double {
        let position = fraction * Double(values.count - 1)
        let below = Int(position.rounded(.down)), above = Swift.min(below + 1, values.count - 1)
        let t = position - Double(below)
        return Double(values[below]) * (1 - t) + Double(values[above]) * t
    }
    return (at(lowFraction), at(highFraction))
}
