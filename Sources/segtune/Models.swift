import ArgumentParser
import Foundation
import Models

struct ListModels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the known base models, where each checkpoint was found, and its SHA-256.",
        discussion: """
            A checkpoint is looked for, in order: --checkpoint (on the other commands),
            $SEGTUNE_MODELS, ./models, <prefix>/share/segtune/models (beside an installed
            binary, `make install`), /usr/local/share/segtune/models, then the models/ folder
            of the repository the binary was built in. A published digest that does not match
            is marked MISMATCH; the exit status is then 1.
            """)

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Flag(help: "Skip the SHA-256 (hashing a 2.5 GB ViT-H checkpoint takes seconds).")
    var noDigest = false

    func run() throws {
        let locator = ModelLocator()
        var rows: [[String: Any]] = []
        var mismatches = 0
        for preset in ModelPreset.available {
            var row: [String: Any] = ["model": preset.name, "file": preset.checkpointFile]
            if let found = try? locator.locate(preset.checkpointFile) {
                row["path"] = found.url.path
                row["found_in"] = found.origin
                if !noDigest {
                    let digest = try SHA256.hexDigest(ofFile: found.url)
                    row["sha256"] = digest
                    if let published = preset.sha256 {
                        row["matches_published"] = digest == published
                        if digest != published { mismatches += 1 }
                    }
                }
            }
            rows.append(row)
        }
        if json {
            let object: [String: Any] = ["models": rows, "searched": locator.searchFolders.map { ["path": $0.url.path, "origin": $0.origin] }]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for row in rows {
                let name = (row["model"] as! String).padding(toLength: 14, withPad: " ", startingAt: 0)
                guard let path = row["path"] as? String else {
                    print("\(name) \(row["file"]!): not found")
                    continue
                }
                var line = "\(name) \(path)  (\(row["found_in"]!))"
                if let digest = row["sha256"] as? String {
                    line += "  sha256 \(digest)"
                    if let ok = row["matches_published"] as? Bool { line += ok ? "  ok" : "  MISMATCH (published \(ModelPreset.available.first { $0.name == row["model"] as? String }!.sha256!))" }
                }
                print(line)
            }
            print("searched: " + locator.searchFolders.map { $0.url.path }.joined(separator: ", "))
        }
        if mismatches > 0 { throw ExitCode(1) }
    }
}
