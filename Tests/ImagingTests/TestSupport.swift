import Foundation
@testable import Imaging

/// The repository root, found from this file's path (Tests/ImagingTests/…).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let pydicomFiles = repositoryRoot.appendingPathComponent("third_party/pydicom")

/// A fresh temporary folder for one test.
func makeTemporaryFolder(_ name: String = #function) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let folder = FileManager.default.temporaryDirectory
        .appendingPathComponent("segtune-imaging-\(safe)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

/// The error a throwing call raised, as `InputError`, or nil if it did not throw one.
func inputError(_ body: () throws -> Void) -> InputError? {
    do { try body(); return nil } catch let error as InputError { return error } catch { return nil }
}

/// Runs a tool; returns its exit status and standard output, standard error appended.
func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
}
