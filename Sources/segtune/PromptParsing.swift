import ArgumentParser
import Foundation
import Models

func parseNumbers(_ text: String, _ what: String, counts: Set<Int>) throws -> [Float] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
    guard counts.contains(parts.count), parts.allSatisfy({ $0 != nil && $0!.isFinite }) else {
        throw ValidationError("bad \(what) '\(text)'")
    }
    return parts.map { $0! }
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

/// `--boxes FILE`: rows `image,x0,y0,x1,y1` (a header row is allowed).
func readBoxTable(_ path: String) throws -> [String: BoxPrompt] {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
        throw ValidationError("\(path): cannot read (\(error.localizedDescription))")
    }
    var table: [String: BoxPrompt] = [:]
    for (number, line) in text.split(whereSeparator: \.isNewline).enumerated() {
        let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if number == 0, fields.first?.lowercased() == "image" { continue }
        guard fields.count == 5, !fields[0].isEmpty, let box = try? parseBox(fields[1...].joined(separator: ",")) else {
            throw ValidationError("\(path):\(number + 1): expected image,x0,y0,x1,y1")
        }
        table[fields[0]] = box
    }
    return table
}
