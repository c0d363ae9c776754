// swift-tools-version:6.1
import PackageDescription

// MARK: - Build settings

// Baseline x86-64 turns every SIMD fused multiply-add into a library call
// (PLATFORM-NOTES: 10–40× slower); every supported x86 machine has AVX2/FMA.
#if arch(x86_64)
let cpuFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
let cCPUFlags: [CSetting] = [.unsafeFlags(["-march=haswell"])]
#else
let cpuFlags: [SwiftSetting] = []
let cCPUFlags: [CSetting] = []
#endif

// Kernels are optimised even in debug builds: the parity and end-to-end tests
// run the real model, which unoptimised Swift would make 20× slower.
let kernelFlags: [SwiftSetting] = cpuFlags + [.unsafeFlags(["-O"], .when(configuration: .debug))]

let dcmtkLibraries = ["dcmrt", "dcmseg", "dcmfg", "dcmiod", "dcmimage", "dcmimgle", "dcmjpeg", "ijg8", "ijg12", "ijg16",
                      "dcmjpls", "dcmtkcharls", "dcmdata", "oflog", "ofstd"]

let package = Package(
    name: "segtune",
    platforms: [.macOS(.v14)],
    // MARK: - Public API
    products: [
        .executable(name: "segtune", targets: ["segtune"]),
        .library(name: "SegTune", targets: ["Imaging", "Tensors", "Models", "Tuning", "Metrics"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    ],
    targets: [
        // MARK: - Native libraries (one C target each)
        .target(
            name: "CDICOM",
            cxxSettings: [.define("HAVE_CONFIG_H")],
            linkerSettings: dcmtkLibraries.map { .linkedLibrary($0) } + [.linkedLibrary("openjp2")]
        ),
        .target(
            name: "CImageIO",
            cSettings: cCPUFlags,
            linkerSettings: [.linkedLibrary("png"), .linkedLibrary("jpeg"), .linkedLibrary("z")]
        ),
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),

        // MARK: - Implementation
        .target(name: "Imaging", dependencies: ["CDICOM", "CImageIO"], swiftSettings: kernelFlags),
        .target(
            name: "Tensors",
            dependencies: [.target(name: "CBLAS", condition: .when(platforms: [.linux]))],
            swiftSettings: kernelFlags
        ),
        .target(name: "Models", dependencies: ["Tensors", "ZIPFoundation"], swiftSettings: kernelFlags),
        .target(name: "Metrics", dependencies: ["Imaging", "Tensors"], swiftSettings: kernelFlags),
        .target(name: "Tuning", dependencies: ["Tensors", "Models", "Imaging", "Metrics"], swiftSettings: kernelFlags),
        .executableTarget(
            name: "segtune",
            dependencies: [
                "Imaging", "Tensors", "Models", "Tuning", "Metrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: cpuFlags
        ),

        // MARK: - Tests
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"]),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors"], swiftSettings: cpuFlags),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "Imaging"], swiftSettings: cpuFlags),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "Imaging"]),
        .testTarget(name: "TuningTests", dependencies: ["Tuning"]),
        .testTarget(name: "SegtuneCLITests", dependencies: ["Imaging", "Models", "Metrics", "Tuning"]),
    ],
    cxxLanguageStandard: .cxx17
)
