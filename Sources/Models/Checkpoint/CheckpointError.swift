import Foundation

/// A checkpoint that cannot be used: which file, and why. Printed as
/// `file: reason`, like the readers' `InputError` (Models cannot import Imaging).
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let reason: String

    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }

    public var description: String { "\(file): \(reason)" }
}
