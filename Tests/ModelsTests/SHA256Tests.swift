import Foundation
import Testing
@testable import Models

@Test(arguments: [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
])
func sha256KnownVectors(input: String, digest: String) {
    var hasher = SHA256()
    hasher.update(input)
    #expect(hasher.hexDigest() == digest)
}

@Test func sha256OfTheDefaultWeightsMatchesThePublishedDigest() throws {
    let weights = ParityFixtures.repositoryRoot.appendingPathComponent("models/lite_medsam.pth")
    try #require(FileManager.default.fileExists(atPath: weights.path), "run scripts/setup first")
    #expect(try SHA256.hexDigest(ofFile: weights) == "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76")
}
