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
        let models = try locator.survey(hashing: !noDigest)
        if json {
            let rows: [[String: Any]] = models.map { m in
                var row: [String: Any] = ["model": m.preset.name, "file": m.preset.checkpointFile]
                (row["path"], row["found_in"], row["sha256"], row["matches_published"]) = (m.found?.url.path, m.found?.origin, m.sha256, m.matchesPublished)
                return row
            }
            let object: [String: Any] = ["models": rows, "searched": locator.searchFolders.map { ["path": $0.url.path, "origin": $0.origin] }]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
        } else {
            for m in models {
                let name = m.preset.name.padding(toLength: 14, withPad: " ", startingAt: 0)
                guard let found = m.found else {
                    print("\(name) \(m.preset.checkpointFile): not found")
                    continue
                }
                let digest = m.sha256.map { "  sha256 \($0)" + (m.matchesPublished.map { $0 ? "  ok" : "  MISMATCH (published \(m.preset.sha256!))" } ?? "") }
                print("\(name) \(found.url.path)  (\(found.origin))" + (digest ?? ""))
            }
            print("searched: " + locator.searchFolders.map { $0.url.path }.joined(separator: ", "))
        }
        if models.contains(where: { $0.matchesPublished == false }) { throw ExitCode(1) }
    }
}
