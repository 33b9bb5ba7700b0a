// swift-tools-version:6.0
import PackageDescription

/// AirFL-LoRA emulator. See README.md for the layout and what each module owns.
let package = Package(
    name: "AirFLLoRA",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "LinearAlgebra", targets: ["LinearAlgebra"]),
        .library(name: "Randomness", targets: ["Randomness"]),
        .library(name: "Configuration", targets: ["Configuration"]),
        .library(name: "NumpyIO", targets: ["NumpyIO"]),
        .library(name: "Radio", targets: ["Radio"]),
        .library(name: "Wire", targets: ["Wire"]),
        .library(name: "HardwareProfiles", targets: ["HardwareProfiles"]),
        .library(name: "LanguageModel", targets: ["LanguageModel"]),
        .executable(name: "edgenode", targets: ["EdgeNodeCLI"]),
        .executable(name: "lab", targets: ["LabCLI"]),
        .executable(name: "basestation", targets: ["BaseStationCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    // Each target declares exactly the modules its files import (and nothing else), so the
    // graph below is the module map of docs/architecture.md.
    targets: [
        // Debian's OpenBLAS (cblas) and LAPACKE, found through pkg-config.
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
        // Debian's libzmq, found through pkg-config.
        .systemLibrary(
            name: "CZeroMQ", path: "Sources/CZeroMQ", pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]),
        // Debian's zlib, for its CRC-32 (the frames' checksum), found through pkg-config.
        .systemLibrary(name: "CMalloc", path: "Sources/CMalloc"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Debian's Intel ISA-L, for the same CRC-32 with carry-less multiplies (5× zlib's: every frame in
        // passes through it).
        .systemLibrary(name: "CISAL", path: "Sources/CISAL", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        // Our own C kernels on quantized blocks (AVX-512 VNNI, AVX2, plain C; chosen at run time).
        // Optimised in debug builds too: the tests run the real model through them.
        .target(name: "CQuantizedKernels", exclude: ["README.md"], cSettings: [.unsafeFlags(["-O2"])]),
        .target(
            name: "LinearAlgebra",
            dependencies: ["COpenBLAS", .product(name: "Numerics", package: "swift-numerics")],
            exclude: ["README.md"]),
        .target(name: "Randomness", exclude: ["README.md"]),
        .target(name: "Configuration", exclude: ["README.md"]),
        .target(
            name: "NumpyIO", dependencies: [.product(name: "Numerics", package: "swift-numerics")],
            exclude: ["README.md"]),
        .target(
            name: "CommandLineSupport",
            dependencies: [
                "CMalloc", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]),
        .target(
            name: "Radio",
            dependencies: [
                "Configuration", "LinearAlgebra", "NumpyIO", "Randomness",
                .product(name: "Numerics", package: "swift-numerics"),
            ],
            exclude: ["README.md"]),
        .target(name: "Wire", dependencies: ["CZeroMQ", "CZlib", "CISAL"], exclude: ["README.md"]),
        .target(
            name: "LanguageModel",
            dependencies: [
                "COpenBLAS", "CQuantizedKernels", "Randomness", .product(name: "Numerics", package: "swift-numerics"),
            ],
            exclude: ["README.md"]),
        .target(
            name: "HardwareProfiles", dependencies: ["Configuration", .product(name: "TOMLKit", package: "TOMLKit")],
            exclude: ["README.md"]),
        .target(
            name: "EdgeNode",
            dependencies: [
                "COpenBLAS", "CommandLineSupport", "HardwareProfiles", "LanguageModel", "LinearAlgebra", "Radio",
                "Randomness", "Wire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["README.md"]),
        .target(
            name: "BaseStation",
            dependencies: [
                "CommandLineSupport", "Configuration", "HardwareProfiles", "LanguageModel", "LinearAlgebra", "NumpyIO",
                "Radio", "Randomness", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Numerics", package: "swift-numerics"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "FlyingFox", package: "FlyingFox"),
            ],
            exclude: ["README.md"]),
        // The lab's tools, beside the base station rather than in it: the experiment suite's reports,
        // the emulated network link between hosts, and the fuzz targets.
        .target(
            name: "ExperimentReports",
            dependencies: [
                "BaseStation", "CommandLineSupport", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["README.md"]),
        .target(
            name: "LinkEmulator",
            dependencies: [
                "CommandLineSupport", "Randomness", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["README.md"]),
        .target(
            name: "FuzzTargets",
            dependencies: [
                "BaseStation", "CommandLineSupport", "Configuration", "HardwareProfiles", "LanguageModel",
                "LinearAlgebra", "NumpyIO", "Wire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Numerics", package: "swift-numerics"),
            ],
            exclude: ["README.md"]),
        // The executables only parse the command line and call the libraries above.
        .executableTarget(name: "EdgeNodeCLI", dependencies: ["EdgeNode"], exclude: ["README.md"]),
        .executableTarget(name: "BaseStationCLI", dependencies: ["BaseStation"], exclude: ["README.md"]),
        .executableTarget(
            name: "LabCLI",
            dependencies: [
                "ExperimentReports", "FuzzTargets", "LinkEmulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["README.md"]),
        .testTarget(
            name: "LinearAlgebraTests",
            dependencies: ["LinearAlgebra", .product(name: "Numerics", package: "swift-numerics")]),
        .testTarget(name: "RandomnessTests", dependencies: ["Randomness"], exclude: ["Reference"]),
        .testTarget(name: "CommandLineSupportTests", dependencies: ["CommandLineSupport"]),
        .testTarget(
            name: "ConfigurationTests", dependencies: ["Configuration", .product(name: "TOMLKit", package: "TOMLKit")]),
        .testTarget(
            name: "NumpyIOTests", dependencies: ["NumpyIO", .product(name: "Numerics", package: "swift-numerics")],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "RadioTests",
            dependencies: [
                "Radio", "Configuration", "LinearAlgebra", "NumpyIO", "Randomness",
                .product(name: "Numerics", package: "swift-numerics"),
            ]),
        .testTarget(name: "WireTests", dependencies: ["Wire", "CZlib"]),
        .testTarget(name: "HardwareProfilesTests", dependencies: ["HardwareProfiles"]),
        .testTarget(
            name: "LanguageModelTests",
            dependencies: ["COpenBLAS", "CQuantizedKernels", "LanguageModel", "NumpyIO", "Randomness"],
            exclude: ["Fixtures"]),
        // BaseStation and EdgeNode: the tests run the built `basestation` and `edgenode` (ProcessRunner.swift) and,
        // in memory, the base station's rounds against the real firmware (InMemoryFleet.swift).
        .testTarget(
            name: "BaseStationTests",
            dependencies: [
                "BaseStation", "EdgeNode", "ExperimentReports", "HardwareProfiles", "LanguageModel", "LinearAlgebra",
                "NumpyIO", "Radio",
                "Wire",
                .product(name: "Logging", package: "swift-log"), .product(name: "Numerics", package: "swift-numerics"),
            ], exclude: ["Fixtures"]),
        .testTarget(
            name: "EdgeNodeTests",
            dependencies: [
                "EdgeNode", "HardwareProfiles", "LanguageModel", "Wire",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "LinkEmulatorTests", dependencies: ["LinkEmulator"]),
        // The repository itself: docs/architecture.md's module table against Package.swift and the imports.
        .testTarget(name: "RepositoryTests"),
    ],
    // Swift 5 mode: the hot loops hand raw buffer pointers to worker threads, which Swift 6's
    // strict sendability checking cannot see are disjoint.
    swiftLanguageModes: [.v5]
)
