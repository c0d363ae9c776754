import Foundation

/// A `--boxes` table that cannot be used: `file:line: reason`, like the readers' errors.
public struct BoxTableError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// The comma-separated numbers of a prompt (`x0,y0,x1,y1`, `x,y[,label]`), or nil unless
/// there are `counts` of them, all finite.
public func parsePromptNumbers(_ text: some StringProtocol, counts: Set<Int>) -> [Float]? {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
    guard counts.contains(parts.count), parts.allSatisfy({ $0 != nil && $0!.isFinite }) else { return nil }
    return parts.map { $0! }
}

/// `predict --boxes FILE`: rows `image,x0,y0,x1,y1` (a header row is allowed), each box
/// with x0 < x1 and y0 < y1. Here rather than in the CLI so the fuzz target reads it
/// through the same function.
public func readBoxTable(at url: URL) throws(BoxTableError) -> [String: BoxPrompt] {
    let path = url.relativePath
    let text: String
    do { text = try String(contentsOf: url, encoding: .utf8) } catch {
        throw BoxTableError(description: "\(path): cannot read (\(error.localizedDescription))")
    }
    var table: [String: BoxPrompt] = [:]
    for (number, line) in text.split(whereSeparator: \.isNewline).enumerated() {
        let fields = line.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
        let name = fields[0].trimmingCharacters(in: .whitespaces)
        if number == 0, name.lowercased() == "image" { continue }
        guard fields.count == 2, !name.isEmpty, let v = parsePromptNumbers(fields[1], counts: [4]), v[0] < v[2], v[1] < v[3] else {
            throw BoxTableError(description: "\(path):\(number + 1): expected image,x0,y0,x1,y1")
        }
        table[name] = BoxPrompt(x0: v[0], y0: v[1], x1: v[2], y1: v[3])
    }
    return table
}
