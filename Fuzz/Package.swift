// swift-tools-version: 6.1
// Quarry's libFuzzer executables, one per parser. A package of their own so that a
// normal `swift build` of Quarry never builds them: `scripts/fuzz` builds this package
// with `-sanitize=fuzzer,address` in its own build path (`.build-fuzz`). Each
// executable is a thin wrapper; the targets' logic is in the root package's
// QuarryFuzzSupport (Tests/FuzzSupport), which FuzzReplayTests also runs in `swift test`.
import PackageDescription

let package = Package(
    name: "QuarryFuzz",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "fuzz-eventstream", targets: ["FuzzEventStream"]),
        .executable(name: "fuzz-json", targets: ["FuzzJSON"]),
        .executable(name: "fuzz-sigv4", targets: ["FuzzSigV4"]),
        .executable(name: "fuzz-emulator-http", targets: ["FuzzEmulatorHTTP"]),
        .executable(name: "fuzz-admin-api", targets: ["FuzzAdminAPI"]),
        .executable(name: "fuzz-shared-config", targets: ["FuzzSharedConfig"]),
        .executable(name: "fuzz-credential-process", targets: ["FuzzCredentialProcess"]),
        .executable(name: "fuzz-sts-xml", targets: ["FuzzSTSXML"]),
        .executable(name: "fuzz-lua-bindings", targets: ["FuzzLuaBindings"]),
    ],
    dependencies: [.package(name: "Quarry", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzEventStream", dependencies: [.product(name: "QuarryFuzzSupport", package: "Quarry")]),
        .executableTarget(name: "FuzzJSON", dependencies: [.product(name: "QuarryFuzzSupport", package: "Quarry")]),
        .executableTarget(name: "FuzzSigV4", dependencies: [.product(name: "QuarryFuzzSupport", package: "Quarry")]),
        .executableTarget(
            name: "FuzzEmulatorHTTP", dependencies: [.product(name: "QuarryFuzzSupport", package: "Quarry")]),
        .executableTarget(name: "FuzzAdminAPI", dependencies: [.product(name: "QuarryFuzzSupport", package: "Quarry")]),
        .executableTarget(
            name: "FuzzSharedConfig", dependencies: [.product(name: "QuarryFuzzSupport", package: "Quarry")]),
        .executableTarget(
            name: "FuzzCredentialProcess", dependencies: [.product(name: "QuarryFuzzSupport", package: "Quarry")]),
        .executableTarget(name: "FuzzSTSXML", dependencies: [.product(name: "QuarryFuzzSupport", package: "Quarry")]),
        .executableTarget(
            name: "FuzzLuaBindings", dependencies: [.product(name: "QuarryFuzzSupport", package: "Quarry")]),
    ]
)
