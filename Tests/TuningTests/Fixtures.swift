import Foundation

/// The repository root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func loadJSONFixture<T: Decodable>(_ relativePath: String, as type: T.Type) throws -> T {
    let data = try Data(contentsOf: repositoryRoot.appendingPathComponent(relativePath))
    return try JSONDecoder().decode(T.self, from: data)
}
