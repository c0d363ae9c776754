import ArgumentParser

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Not built yet.")
    func run() throws { throw ValidationError("'Predict' is not built yet") }
}
