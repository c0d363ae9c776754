import ArgumentParser
import Foundation
import Models

func parseNumbers(_ text: String, _ what: String, counts: Set<Int>) throws -> [Float] {
    guard let numbers = parsePromptNumbers(text, counts: counts) else { throw ValidationError("bad \(what) '\(text)'") }
    return numbers
}

func parseBox(_ text: String) throws -> BoxPrompt {
    let v = try parseNumbers(text, "--box (expected x0,y0,x1,y1)", counts: [4])
    guard v[0] < v[2], v[1] < v[3] else { throw ValidationError("bad --box '\(text)': needs x0 < x1 and y0 < y1") }
    return BoxPrompt(x0: v[0], y0: v[1], x1: v[2], y1: v[3])
}

func parsePoint(_ text: String) throws -> PointPrompt {
    let v = try parseNumbers(text, "--point (expected x,y[,label])", counts: [2, 3])
    let label = v.count == 3 ? Int(v[2]) : 1
    guard label == 0 || label == 1, v.count == 2 || Float(label) == v[2] else {
        throw ValidationError("bad --point '\(text)': the label is 1 (foreground) or 0 (background)")
    }
    return PointPrompt(x: v[0], y: v[1], label: label)
}

/// `--boxes FILE` (the parser is `Models.readBoxTable(at:)`).
func readBoxTable(_ path: String) throws -> [String: BoxPrompt] {
    do { return try readBoxTable(at: URL(fileURLWithPath: path)) } catch { throw ValidationError(error.description) }
}
