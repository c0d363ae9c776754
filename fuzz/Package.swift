// swift-tools-version:6.1
// libFuzzer targets for segtune's readers (issue 20). A package of its own, so the main
// package's `swift build` and `swift test` are unchanged; `scripts/fuzz` builds it with
// libFuzzer and AddressSanitizer (UBSan for the C/C++ bridges).
import Foundation
import PackageDescription

// A path dependency is known by its folder's name, which is the checkout's name.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let segtune = root.lastPathComponent.lowercased()

/// target name → the module that holds its `LLVMFuzzerTestOneInput`. Keep in step with
/// `scripts/fuzz --list`.
let targets: [(name: String, module: String)] = [
    ("dicom", "FuzzDICOM"), ("dicom-series", "FuzzDICOMSeries"), ("dicom-seg", "FuzzDICOMSEG"), ("rtstruct", "FuzzRTStruct"),
    ("nifti", "FuzzNIfTI"), ("nifti-gz", "FuzzNIfTIGzip"), ("nrrd", "FuzzNRRD"), ("metaimage", "FuzzMetaImage"),
    ("png", "FuzzPNG"), ("jpeg", "FuzzJPEG"), ("pth", "FuzzTorchCheckpoint"), ("safetensors", "FuzzSafetensors"),
    ("task", "FuzzTask"), ("boxes", "FuzzBoxes"),
]

let package = Package(
    name: "segtune-fuzz",
    platforms: [.macOS(.v14)],
    products: targets.map { .executable(name: "fuzz-\($0.name)", targets: [$0.module]) },
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "SegTune", package: segtune)]),
    ] + targets.map {
        .executableTarget(name: $0.module, dependencies: ["FuzzSupport", .product(name: "SegTune", package: segtune)],
                          path: "Targets/\($0.name)", swiftSettings: [.unsafeFlags(["-parse-as-library"])])
    }
)
