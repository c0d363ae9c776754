import Foundation
import Testing

private let root = SegtuneBinary.repositoryRoot
private let weights = root.appendingPathComponent("models/lite_medsam.pth")

/// Runs a system command; its status and its output (stdout and stderr).
@discardableResult
private func system(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    (process.standardOutput, process.standardError) = (pipe, pipe)
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Whether this machine lets the tests mount file systems (root with CAP_SYS_ADMIN, as in
/// CI's container): a read-only bind mount and a small tmpfs are the real conditions, where
/// FaultInjectionCLITests can only imitate a full disk with a file-size limit.
private let canMount: Bool = {
    guard let folder = try? SegtuneBinary.temporaryFolder("segtune-can-mount") else { return false }
    defer { try? FileManager.default.removeItem(at: folder) }
    let target = folder.appendingPathComponent("target")
    try? FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
    guard (try? system(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", target.path]))?.status == 0 else { return false }
    _ = try? system(["umount", target.path])
    return true
}()

/// Writes on file systems that refuse them: a read-only output folder, cache and tasks
/// folder, and a full one under a DICOM SEG and an RTSTRUCT. Each failed case is one line
/// naming the file or folder and the system's reason, nothing is left half-written, and
/// the rerun, once there is room, finishes with the clean run's masks.
@Suite(.serialized, .enabled(if: FileManager.default.fileExists(atPath: weights.path)),
       .enabled(if: canMount, "mounting a tmpfs or a read-only bind mount needs root with CAP_SYS_ADMIN"))
struct MountedFaultCLITests {
    @Test func readOnlyFoldersFailWithOneLineEach() throws {
        let folder = try SegtuneBinary.temporaryFolder("segtune-read-only")
        defer { try? FileManager.default.removeItem(at: folder) }
        let scans = try SegtuneBinary.threeCTCrops(in: folder)
        let (source, readOnly) = (folder.appendingPathComponent("source"), folder.appendingPathComponent("ro"))
        for url in [source, readOnly] { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        #expect(try system(["mount", "--bind", "-o", "ro", source.path, readOnly.path]).status == 0)
        defer { try? system(["umount", readOnly.path]) }
        let images = scans.appendingPathComponent("images").path
        let predict = ["predict", "--box", "2,2,20,18", "--format", "png,nifti", "--threads", "1", "--quiet", images]

        // The output folder: each volume's slice folder cannot be made.
        let output = try SegtuneBinary.run(predict + ["-o", readOnly.path], in: folder)
        #expect(output.status == 1)
        #expect(output.stderr.split(separator: "\n").map(String.init) == ["a", "b", "c"].map {
            "segtune: \(readOnly.path)/\($0): cannot create the folder (Read-only file system)"
        }, "\(output.stderr)")
        // The cache: each case names its input, then the cache file.
        let cache = try SegtuneBinary.run(predict + ["--cache-dir", readOnly.path, "-o", "out"], in: folder)
        #expect(cache.status == 1)
        let cacheLines = cache.stderr.split(separator: "\n")
        #expect(cacheLines.count == 3, "\(cache.stderr)")
        for (line, name) in zip(cacheLines, ["a", "b", "c"]) {
            #expect(line.hasPrefix("segtune: \(images)/\(name).nii.gz: \(readOnly.path)/") && line.hasSuffix(".safetensors: cannot write (Read-only file system)"), "\(line)")
        }
        #expect(SegtuneBinary.files(in: folder.appendingPathComponent("out")).isEmpty)
        // fit's task folder: one line, before any training.
        let fit = try SegtuneBinary.run(["fit", "--task", "t", "--label", "2", "--epochs", "1", "--no-stage2", "--no-augment", "--quiet",
                                         "--tasks-dir", readOnly.path, scans.path], in: folder)
        #expect(fit.status == 1)
        #expect(fit.stderr.split(separator: "\n").map(String.init).filter { !$0.contains("warning:") }
                == ["segtune: \(readOnly.path)/t: cannot create the folder (Read-only file system)"], "\(fit.stderr)")
        #expect(SegtuneBinary.files(in: source).isEmpty)
    }

    /// A DICOM SEG (100 KB for three 512×512 slices) on a 64 KB tmpfs fails with ENOSPC,
    /// leaves neither it nor a temporary, and the rerun after the tmpfs grows writes the
    /// SEG and the RTSTRUCT with the same masks as a clean run.
    @Test func aFullFileSystemUnderDICOMSegAndRTStruct() throws {
        let totalSegmentator = root.appendingPathComponent("third_party/totalsegmentator/example_ct_dicom")
        let slices = try FileManager.default.contentsOfDirectory(atPath: totalSegmentator.path).sorted()
        let folder = try SegtuneBinary.temporaryFolder("segtune-full-seg")
        defer { try? FileManager.default.removeItem(at: folder) }
        let series = folder.appendingPathComponent("series")
        try FileManager.default.createDirectory(at: series, withIntermediateDirectories: true)
        for name in slices[8..<11] {
            try FileManager.default.copyItem(at: totalSegmentator.appendingPathComponent(name), to: series.appendingPathComponent(name))
        }
        // The test series carries no SOP Class, Study or Series Instance UID, which a SEG needs (as RealCTCLITests).
        let files = try FileManager.default.contentsOfDirectory(atPath: series.path).map { series.appendingPathComponent($0).path }
        #expect(try system(["dcmodify", "-nb", "-gin", "-i", "(0008,0016)=1.2.840.10008.5.1.4.1.1.2", "-i", "(0020,000d)=1.2.826.0.1.3680043.9.7777.78.1",
                            "-i", "(0020,000e)=1.2.826.0.1.3680043.9.7777.78.2", "-i", "(0010,0020)=TS-EXAMPLE"] + files).status == 0)
        let full = folder.appendingPathComponent("full")
        try FileManager.default.createDirectory(at: full, withIntermediateDirectories: true)
        #expect(try system(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", full.path]).status == 0)
        defer { try? system(["umount", full.path]) }
        let predict = ["predict", "--box", "100,100,300,300", "--format", "dicom-seg,rtstruct", "--threads", "1", "--quiet",
                       "--cache-dir", "cache", series.path]

        let failed = try SegtuneBinary.run(predict + ["-o", full.path], in: folder)
        #expect(failed.status == 1)
        #expect(failed.stderr == "segtune: \(full.path)/series.seg.dcm: cannot write the segmentation (No space left on device)\n", "\(failed.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: full.path).isEmpty)

        #expect(try system(["mount", "-o", "remount,size=8m", full.path]).status == 0)
        let rerun = try SegtuneBinary.run(predict + ["--skip-existing", "-o", full.path], in: folder)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: full.path).sorted() == ["series.rtstruct.dcm", "series.seg.dcm"])
        // New UIDs and times each run, so the masks are compared, read back on the series.
        let clean = try SegtuneBinary.run(predict + ["-o", "clean"], in: folder)
        #expect(clean.status == 0, "\(clean.stderr)")
        for name in ["series.seg.dcm", "series.rtstruct.dcm"] {
            let score = try SegtuneBinary.run(["score", "--series", series.path, "--json", full.appendingPathComponent(name).path,
                                               folder.appendingPathComponent("clean/\(name)").path], in: folder)
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(score.stdout.utf8)) as? [String: Any], "\(score.stderr)")
            #expect(((summary["summary"] as? [String: Any])?["dice"] as? [String: Any])?["mean"] as? Double == 1, "\(name): \(score.stdout)")
        }
    }
}
