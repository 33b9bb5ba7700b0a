// swift-tools-version:6.0
import PackageDescription

/// AirFL-LoRA emulator. See README.md for the layout and what each module owns.
let package = Package(
    name: "AirFLLoRA",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "LinearAlgebra", targets: ["LinearAlgebra"]),
        .library(name: "Randomness", targets: ["Randomness"]),
        .library(name: "Radio", targets: ["Radio"]),
        .library(name: "Wire", targets: ["Wire"]),
        .library(name: "HardwareProfiles", targets: ["HardwareProfiles"]),
        .library(name: "LanguageModel", targets: ["LanguageModel"]),
        .executable(name: "edgenode", targets: ["EdgeNode"]),
        .executable(name: "basestation", targets: ["BaseStation"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // Debian's OpenBLAS (cblas) and LAPACKE, found through pkg-config.
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]),
        // Debian's libzmq, found through pkg-config.
        .systemLibrary(
            name: "CZeroMQ", path: "Sources/CZeroMQ", pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]),
        .target(
            name: "LinearAlgebra",
            dependencies: ["COpenBLAS", .product(name: "Numerics", package: "swift-numerics")],
            exclude: ["README.md"]),
        .target(name: "Randomness", exclude: ["README.md"]),
        .target(
            name: "CommandLineSupport",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser"), .product(name: "Logging", package: "swift-log")],
            exclude: ["README.md"]),
        .target(
            name: "Radio",
            dependencies: ["LinearAlgebra", "Randomness", .product(name: "Numerics", package: "swift-numerics")],
            exclude: ["README.md"]),
        .target(name: "Wire", dependencies: ["CZeroMQ"], exclude: ["README.md"]),
        .target(
            name: "LanguageModel",
            dependencies: ["LinearAlgebra", "COpenBLAS", "Randomness", .product(name: "Numerics", package: "swift-numerics")],
            exclude: ["README.md"]),
        .target(
            name: "HardwareProfiles", dependencies: [.product(name: "TOMLKit", package: "TOMLKit")], exclude: ["README.md"]),
        .executableTarget(
            name: "EdgeNode",
            dependencies: [
                "Radio", "LinearAlgebra", "Wire", "LanguageModel", "HardwareProfiles", "CommandLineSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]),
        .executableTarget(
            name: "BaseStation",
            dependencies: [
                "Radio", "LinearAlgebra", "Wire", "HardwareProfiles", "LanguageModel", "CommandLineSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Numerics", package: "swift-numerics"),
            ],
            exclude: ["README.md"]),
        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra"]),
        .testTarget(name: "RadioTests", dependencies: ["Radio", "LinearAlgebra"], exclude: ["Fixtures"]),
        .testTarget(name: "WireTests", dependencies: ["Wire"]),
        .testTarget(name: "HardwareProfilesTests", dependencies: ["HardwareProfiles"]),
        .testTarget(name: "LanguageModelTests", dependencies: ["LanguageModel", "Radio"], exclude: ["Fixtures"]),
        .testTarget(
            name: "BaseStationTests",
            dependencies: ["BaseStation", "EdgeNode", "Radio", "Wire", "LanguageModel", "HardwareProfiles", .product(name: "Logging", package: "swift-log")]),
        .testTarget(
            name: "EdgeNodeTests",
            dependencies: ["EdgeNode", "Wire", "LanguageModel", "HardwareProfiles", .product(name: "Logging", package: "swift-log")]),
    ],
    // Swift 5 mode: the hot loops hand raw buffer pointers to worker threads, which Swift 6's
    // strict sendability checking cannot see are disjoint.
    swiftLanguageModes: [.v5]
)
