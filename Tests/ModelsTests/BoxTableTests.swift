import Foundation
import Testing
import Models

/// `predict --boxes` tables, read by `readBoxTable(at:)` (moved from the CLI so the fuzz
/// target calls the same parser).
@Suite struct BoxTableTests {
    static func table(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("boxes-\(UUID().uuidString).csv")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test func readsRowsAfterAHeader() throws {
        let url = try Self.table("image,x0,y0,x1,y1\nct/12, 10,20,70,80\r\nb.png,1e1,2,30,4.5\n")
        defer { try? FileManager.default.removeItem(at: url) }
        let boxes = try readBoxTable(at: url)
        #expect(boxes == ["ct/12": BoxPrompt(x0: 10, y0: 20, x1: 70, y1: 80), "b.png": BoxPrompt(x0: 10, y0: 2, x1: 30, y1: 4.5)])
    }

    @Test func refusesABadRowNamingFileAndLine() throws {
        for bad in ["a.png,1,2,3", "a.png,5,0,1,9", "a.png,0,0,nan,9", ",0,0,1,1", "a.png,0,0,1,1,2"] {
            let url = try Self.table("image,x0,y0,x1,y1\nok.png,0,0,1,1\n\(bad)\n")
            defer { try? FileManager.default.removeItem(at: url) }
            #expect(throws: BoxTableError.self) { _ = try readBoxTable(at: url) }
            do { _ = try readBoxTable(at: url) } catch {
                #expect(error.description == "\(url.path):3: expected image,x0,y0,x1,y1", "\(bad)")
            }
        }
    }
}
