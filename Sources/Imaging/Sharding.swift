import Foundation

/// One part of a run split over N processes (a Slurm job array, a Kubernetes Indexed
/// Job): shard K of N takes the cases whose name hashes to K. The hash is of the case
/// name alone, so every shard agrees on the split whatever order the inputs are listed
/// in and however many files a case has, with no coordination between the processes.
/// `index` is 1-based, as in `--shard 2/8`.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws(ShardError) {
        guard count >= 1 else { throw ShardError("the shard count must be at least 1 (got \(count))") }
        guard (1...count).contains(index) else { throw ShardError("shard \(index) is not in 1…\(count)") }
        (self.index, self.count) = (index, count)
    }

    /// "K/N", K from 1 to N.
    public init(parsing text: String) throws(ShardError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]) else {
            throw ShardError("--shard takes K/N, e.g. 1/4 (shard K of N, K from 1 to N); got '\(text)'")
        }
        try self.init(index: k, count: n)
    }

    /// The shard a cluster's scheduler gave this process:
    /// - Slurm job arrays: `SLURM_ARRAY_TASK_ID` counted from `SLURM_ARRAY_TASK_MIN` in
    ///   steps of `SLURM_ARRAY_TASK_STEP` (`--array=0-7` and `--array=1-8` alike), out of
    ///   `SLURM_ARRAY_TASK_COUNT`;
    /// - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX` (0-based) out of `count` (the
    ///   Job's `completions`), else `SEGTUNE_SHARD_COUNT`.
    /// `count` also overrides Slurm's count when given.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment,
                                       count: Int? = nil) throws(ShardError) -> Shard {
        func number(_ name: String) throws(ShardError) -> Int? {
            guard let text = environment[name] else { return nil }
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else { throw ShardError("\(name)='\(text)' is not a number") }
            return value
        }
        if let id = try number("SLURM_ARRAY_TASK_ID") {
            let low = try number("SLURM_ARRAY_TASK_MIN") ?? 0, step = max(1, try number("SLURM_ARRAY_TASK_STEP") ?? 1)
            let given = try number("SLURM_ARRAY_TASK_COUNT")
            guard let total = count ?? given else {
                throw ShardError("SLURM_ARRAY_TASK_COUNT is not set (Slurm before 17.11?): give --shard-count N")
            }
            guard (id - low) % step == 0 else { throw ShardError("SLURM_ARRAY_TASK_ID \(id) is not on the array's step \(step) from \(low)") }
            return try Shard(index: (id - low) / step + 1, count: total)
        }
        if let index = try number("JOB_COMPLETION_INDEX") {
            let given = try number("SEGTUNE_SHARD_COUNT")
            guard let total = count ?? given else {
                throw ShardError("JOB_COMPLETION_INDEX is set but not the shard count: give --shard-count N (the Job's completions)")
            }
            return try Shard(index: index + 1, count: total)
        }
        throw ShardError("--shard-from-env: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set")
    }

    /// Whether this shard takes the case named `name`.
    public func owns(_ name: String) -> Bool {
        Int(stableHash(name) % UInt64(count)) == index - 1
    }

    public var description: String { "\(index)/\(count)" }

    /// "shard 2/8: 3 of 20 cases (a, b, c)": what this process took, for the job's log.
    public func summary(taking names: [String], of total: Int) -> String {
        let shown = names.prefix(12).joined(separator: ", ") + (names.count > 12 ? ", …" : "")
        return "shard \(self): \(names.count) of \(total) case\(total == 1 ? "" : "s")" + (names.isEmpty ? "" : " (\(shown))")
    }
}

public struct ShardError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A hash of a case name that is the same on every machine and in every process
/// (Swift's `hashValue` is seeded per process): 64-bit FNV-1a of the UTF-8 bytes,
/// then SplitMix64's finaliser so that the low bits, which the modulus keeps, are mixed.
public func stableHash(_ name: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in name.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
    h = (h ^ (h >> 30)) &* 0xbf58_476d_1ce4_e5b9
    h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
    return h ^ (h >> 31)
}
