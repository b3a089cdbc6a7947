// swift-tools-version: 6.1
// Quarry: a Swift host that embeds Lua 5.4 and gives scripts a sandboxed,
// credential-free client for Amazon Bedrock Runtime.
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Quarry",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Quarry", targets: ["Quarry"]),
        .library(name: "QuarryEmulatorSupport", targets: ["QuarryEmulatorSupport"]),
        .library(name: "BedrockRuntime", targets: ["BedrockRuntime"]),
        .library(name: "BedrockBatch", targets: ["BedrockBatch"]),
        .library(name: "BedrockEmulator", targets: ["BedrockEmulator"]),
        .library(name: "LuaSandbox", targets: ["LuaSandbox"]),
        .executable(name: "quarry", targets: ["QuarryCLI"]),
        .executable(name: "bedrock-emulator", targets: ["EmulatorServer"]),
        // Fuzz-only: the per-parser `fuzzOne` functions, for the libFuzzer executables of
        // the separate `Fuzz/` package. No other product depends on it.
        .library(name: "QuarryFuzzSupport", targets: ["QuarryFuzzSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // MARK: C libraries
        .systemLibrary(
            name: "CLua", pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]),
        .target(name: "CLuaShim", dependencies: ["CLua"]),
        .systemLibrary(
            name: "CReadline", pkgConfig: "readline",
            providers: [.apt(["libreadline-dev"])]),

        // MARK: Wire formats shared by the client and the emulator
        .target(
            name: "BedrockWire",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),

        // MARK: The client
        .target(
            name: "BedrockRuntime",
            dependencies: [
                "BedrockWire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict),

        // MARK: Batch inference: Bedrock's control plane and S3, on the client's pipeline
        .target(
            name: "BedrockBatch",
            dependencies: [
                "BedrockRuntime", "BedrockWire",
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),

        // MARK: The local Bedrock emulator
        .target(
            name: "BedrockEmulator",
            dependencies: [
                "BedrockWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict),

        .executableTarget(
            name: "EmulatorServer", dependencies: ["BedrockEmulator", "BedrockWire"],
            swiftSettings: strict),

        // MARK: The Lua sandbox (knows nothing of Bedrock)
        // Lua sources are `.lua` files embedded at build time (never read from disk at run time).
        .target(
            name: "LuaSandbox", dependencies: ["CLua", "CLuaShim"],
            exclude: ["SANDBOX.md"],
            resources: [.embedInCode("State/error_metatable.lua")],
            swiftSettings: strict),

        // MARK: The embeddable host (never depends on readline, nor on the emulator)
        .target(
            name: "Quarry",
            dependencies: [
                "LuaSandbox", "BedrockRuntime", "BedrockBatch",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            resources: [
                .embedInCode("Lua/prelude.lua"),
                .embedInCode("Host/assign.lua"),
                .embedInCode("Host/environment.lua"),
                .embedInCode("LuaTestRunner/test_prelude.lua"),
                .embedInCode("Resilience/resilience.lua"),
            ],
            swiftSettings: strict),

        // MARK: The emulator started in-process when no AWS credentials are configured
        // (a library of its own: an app embedding Quarry links a server only if it asks to)
        .target(
            name: "QuarryEmulatorSupport",
            dependencies: [
                "Quarry", "BedrockEmulator",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),

        // MARK: The `quarry` command
        .executableTarget(
            name: "QuarryCLI",
            dependencies: [
                "Quarry", "QuarryEmulatorSupport", "BedrockRuntime", "BedrockWire", "BedrockEmulator", "CReadline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [
                .embedInCode("REPL/pretty_printer.lua"),
                .embedInCode("REPL/evaluation.lua"),
            ],
            swiftSettings: strict),

        // MARK: An app embedding the host (the embedding guide's example)
        .executableTarget(
            name: "ExampleHost", dependencies: ["Quarry", "QuarryEmulatorSupport"],
            resources: [.embedInCode("built_in_script.lua")], swiftSettings: strict),

        // MARK: Benchmarks and the benchmark's replay server
        .executableTarget(
            name: "QuarryMicroBench",
            dependencies: [
                "BedrockWire", "BedrockRuntime", "LuaSandbox",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [.embedInCode("conversion_bench.lua")],
            swiftSettings: strict),
        .executableTarget(
            name: "BenchStaticServer",
            dependencies: [
                "BedrockWire", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),

        // MARK: Test support, one target per dependency set
        // Text and log capture, conformance data and the package root (Foundation, Logging).
        .target(
            name: "TestSupport", dependencies: [.product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport", swiftSettings: strict),
        // Scripted HTTP servers and a recording proxy on loopback, event-stream bodies (NIO).
        .target(
            name: "HTTPTestSupport",
            dependencies: [
                "BedrockWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/HTTPTestSupport", swiftSettings: strict),
        // Starting and stopping an in-process emulator (BedrockEmulator).
        .target(
            name: "EmulatorTestSupport",
            dependencies: ["BedrockEmulator", .product(name: "Logging", package: "swift-log")],
            path: "Tests/EmulatorTestSupport", swiftSettings: strict),

        // MARK: Tests, one target per module
        // One `fuzzOne(_:)` per parser: the libFuzzer executables (`Fuzz/Package.swift`,
        // built by `scripts/fuzz`) are thin wrappers, and FuzzReplayTests replays the
        // regression corpora (`Tests/FuzzCorpora/<target>/`) through the same functions.
        .target(
            name: "QuarryFuzzSupport",
            dependencies: [
                "BedrockWire", "BedrockRuntime", "BedrockEmulator", "Quarry", "LuaSandbox",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/FuzzSupport", swiftSettings: strict),
        .testTarget(
            name: "FuzzReplayTests", dependencies: ["QuarryFuzzSupport", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "LuaSandboxTests", dependencies: ["LuaSandbox", "CLua", "CLuaShim"],
            resources: [.copy("Attacks"), .copy("Differential")], swiftSettings: strict),
        .testTarget(
            name: "BedrockWireTests",
            dependencies: [
                "BedrockWire", "TestSupport", "QuarryFuzzSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "BedrockRuntimeTests",
            dependencies: [
                "BedrockRuntime", "BedrockWire", "TestSupport", "HTTPTestSupport",
                // ClientFaultInjectorTests drive the client against the real emulator.
                "BedrockEmulator", "EmulatorTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "BedrockBatchTests",
            dependencies: [
                "BedrockBatch", "BedrockRuntime", "BedrockWire", "BedrockEmulator", "EmulatorTestSupport",
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "BedrockEmulatorTests",
            dependencies: [
                "BedrockEmulator", "BedrockRuntime", "BedrockWire", "TestSupport", "EmulatorTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "QuarryTests",
            dependencies: [
                "Quarry", "LuaSandbox", "BedrockRuntime", "BedrockEmulator", "BedrockWire",
                "TestSupport", "HTTPTestSupport", "EmulatorTestSupport",
                // The DocC snippets (DocSnippetTests) start the in-process emulator.
                "QuarryEmulatorSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),
        // ExampleHost is a dependency so its binary is built for the tests that run it.
        .testTarget(
            name: "QuarryCLITests",
            dependencies: ["QuarryCLI", "ExampleHost", "Quarry", "BedrockRuntime", "TestSupport", "HTTPTestSupport"],
            swiftSettings: strict),
    ]
)
