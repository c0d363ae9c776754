import Foundation
import Testing

/// Writes that fail part-way, as on a full disk: segtune runs with a file-size limit
/// (`ulimit -f`, SIGXFSZ ignored, so a write past it fails with EFBIG as a full disk's
/// fails with ENOSPC). Each failed case must be one error line naming the file and the
/// reason, the batch must go on and exit 1, and nothing half-written may be left, so a
/// rerun with --skip-existing finishes the job.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: SegtuneBinary.repositoryRoot.appendingPathComponent("models/lite_medsam.pth").path)))
struct FaultInjectionCLITests {
    /// segtune under a limit of `kilobytes` per file written; its stderr comes back through
    /// a pipe (a file would be under the limit too), its stdout is dropped.
    private static func runLimited(_ kilobytes: Int, _ arguments: [String], in folder: URL) throws -> (status: Int32, errors: [String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "set -o pipefail; (ulimit -f \(kilobytes); trap '' XFSZ; exec \"$0\" \"$@\") 2>&1 >/dev/null | cat",
                             SegtuneBinary.url.path] + arguments
        process.currentDirectoryURL = folder
        process.environment = ProcessInfo.processInfo.environment.merging(["SEGTUNE_MODELS": SegtuneBinary.repositoryRoot.appendingPathComponent("models").path]) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text.split(separator: "\n").map(String.init).filter { !$0.contains("warning:") })
    }

    @Test func aFullDiskFailsEachCaseWithOneLineAndTheRerunFinishes() throws {
        let folder = try SegtuneBinary.temporaryFolder("segtune-full-disk")
        defer { try? FileManager.default.removeItem(at: folder) }
        let scans = try SegtuneBinary.threeCTCrops(in: folder)
        let predict = ["predict", "--box", "2,2,20,18", "--format", "png,nifti", "--threads", "1", scans.appendingPathComponent("images").path, "-o", "out"]
        let full = try Self.runLimited(0, predict, in: folder)
        #expect(full.status == 1)
        // One line a case, naming the output file a user would look for and the system's reason.
        #expect(full.errors.count == 3, "\(full.errors)")
        for (line, name) in zip(full.errors, ["a", "b", "c"]) {
            #expect(line == "segtune: \(folder.path)/out/\(name)/0001.png: File too large", "\(line)")
        }
        #expect(SegtuneBinary.files(in: folder.appendingPathComponent("out")).isEmpty)

        let rerun = try SegtuneBinary.run(predict + ["--skip-existing"], in: folder)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(SegtuneBinary.files(in: folder.appendingPathComponent("out")) == ["a.nii.gz", "a/0001.png", "a/0002.png", "a/0003.png", "a/0004.png",
            "a/0005.png", "a/0006.png", "b.nii.gz", "b/0001.png", "b/0002.png", "b/0003.png", "b/0004.png", "b/0005.png", "b/0006.png",
            "c.nii.gz", "c/0001.png", "c/0002.png", "c/0003.png", "c/0004.png", "c/0005.png", "c/0006.png"])
    }

    @Test func aCacheOnAFullDiskNamesTheCaseAndTheCacheFile() throws {
        let folder = try SegtuneBinary.temporaryFolder("segtune-full-cache")
        defer { try? FileManager.default.removeItem(at: folder) }
        let scans = try SegtuneBinary.threeCTCrops(in: folder)
        // An embedding is 4 MB: the masks (under 1 KB) fit, the cache's files do not.
        let full = try Self.runLimited(64, ["predict", "--box", "2,2,20,18", "--format", "nifti", "--threads", "1", "--cache-dir", "cache",
                                            scans.appendingPathComponent("images").path, "-o", "out"], in: folder)
        #expect(full.status == 1 && full.errors.count == 3, "\(full.errors)")
        for (line, name) in zip(full.errors, ["a", "b", "c"]) {
            #expect(line.hasPrefix("segtune: \(scans.path)/images/\(name).nii.gz: \(folder.path)/cache/") && line.hasSuffix(".safetensors: cannot write (File too large)"), "\(line)")
        }
        #expect(SegtuneBinary.files(in: folder.appendingPathComponent("cache")).isEmpty)
        #expect(SegtuneBinary.files(in: folder.appendingPathComponent("out")).isEmpty)
    }

    /// The output folder removed while predict writes into it (a user cleaning up, another
    /// job's rm -rf): the case being written when it went may fail with one line, later
    /// cases make the folder again, nothing traps, and a rerun with --skip-existing leaves
    /// the clean run's files, byte for byte.
    @Test func anOutputFolderRemovedMidRun() throws {
        let folder = try SegtuneBinary.temporaryFolder("segtune-removed")
        defer { try? FileManager.default.removeItem(at: folder) }
        let images = try SegtuneBinary.threeCTCrops(in: folder).appendingPathComponent("images")
        try FileManager.default.copyItem(at: images.appendingPathComponent("a.nii.gz"), to: images.appendingPathComponent("d.nii.gz"))
        // One cache for the three runs: each slice is encoded once (the cache is not removed).
        let predict = ["predict", "--box", "2,2,20,18", "--format", "png,nifti", "--threads", "1", "--quiet", "--cache-dir", "cache", images.path]
        let out = folder.appendingPathComponent("out")
        let process = Process()
        process.executableURL = SegtuneBinary.url
        process.arguments = predict + ["-o", out.path]
        process.currentDirectoryURL = folder
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // Removed as soon as the first case is there, while the others are still to come.
        while process.isRunning && !FileManager.default.fileExists(atPath: out.appendingPathComponent("a.nii.gz").path) { usleep(2_000) }
        #expect(process.isRunning, "predict finished before its output folder could be removed")
        try? FileManager.default.removeItem(at: out)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && [0, 1].contains(process.terminationStatus), "\(stderr)")
        let lines = stderr.split(separator: "\n")
        #expect(lines.count <= 1 && lines.allSatisfy { $0.hasPrefix("segtune: \(out.path)/") }, "\(stderr)")
        #expect((process.terminationStatus == 0) == lines.isEmpty)

        let rerun = try SegtuneBinary.run(predict + ["--skip-existing", "-o", out.path], in: folder)
        let clean = try SegtuneBinary.run(predict + ["-o", "clean"], in: folder)
        #expect(rerun.status == 0 && clean.status == 0, "\(rerun.stderr)\n\(clean.stderr)")
        let files = SegtuneBinary.files(in: folder.appendingPathComponent("clean"))
        #expect(files.count == 4 * 7 && SegtuneBinary.files(in: out) == files)
        for file in files {
            #expect(try Data(contentsOf: out.appendingPathComponent(file)) == Data(contentsOf: folder.appendingPathComponent("clean/\(file)")), "\(file)")
        }
    }

    @Test func aTaskThatCannotBeSavedIsOneLineAndLeavesNoTemporaries() throws {
        let folder = try SegtuneBinary.temporaryFolder("segtune-full-task")
        defer { try? FileManager.default.removeItem(at: folder) }
        let scans = try SegtuneBinary.threeCTCrops(in: folder)
        let embed = try SegtuneBinary.run(["embed", "--no-augment", "--label", "2", "--cache-dir", "cache", "--quiet", scans.path], in: folder)
        #expect(embed.status == 0, "\(embed.stderr)")
        // The embeddings are cached; the task's prompts with its atlas (about 200 KB) are past the limit.
        let fit = try Self.runLimited(100, ["fit", "--task", "t", "--label", "2", "--epochs", "1", "--no-stage2", "--no-augment", "--quiet",
                                            "--cache-dir", "cache", "--tasks-dir", "tasks", scans.path], in: folder)
        #expect(fit.status == 1)
        #expect(fit.errors == ["segtune: \(folder.path)/tasks/t/prompts.safetensors: cannot write (File too large)"], "\(fit.errors)")
        // What the epoch saved before stays whole; no temporary is left beside it.
        let task = folder.appendingPathComponent("tasks/t")
        #expect(SegtuneBinary.files(in: task).allSatisfy { !$0.hasPrefix(".") }, "\(SegtuneBinary.files(in: task))")
        #expect(SegtuneBinary.files(in: folder.appendingPathComponent("cache")).allSatisfy { !$0.hasPrefix(".") })
    }
}
