import ArgumentParser

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Not built yet.")
    func run() throws { throw ValidationError("'Score' is not built yet") }
}
