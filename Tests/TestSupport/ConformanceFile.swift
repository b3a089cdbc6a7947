import Foundation

/// Where the conformance suites find their data: the project's own copy under
/// `Tests/Conformance/` (AWS's SDKs generated it; see the README there), or the file or
/// folder named by the suite's environment variable, so the same tests run any file of
/// the same format.
public enum ConformanceFile: String, CaseIterable, Sendable {
    /// SigV4 signing vectors (`direct[]` and `client[]`).
    case sigV4Vectors = "QUARRY_SIGV4_VECTORS"
    /// Event-stream framing vectors (`valid[]` and `invalid[]`).
    case eventStreamVectors = "QUARRY_EVENTSTREAM_VECTORS"
    /// The folder of raw stream bodies and what boto3 yields for each.
    case streamFixtures = "QUARRY_STREAM_FIXTURES"

    /// The environment variable that points the suite at another file of this format.
    public var variable: String { rawValue }

    /// The path inside the project's copy.
    public var defaultPath: String {
        switch self {
        case .sigV4Vectors: "Tests/Conformance/sigv4/vectors.json"
        case .eventStreamVectors: "Tests/Conformance/eventstream/vectors.json"
        case .streamFixtures: "Tests/Conformance/stream-fixtures"
        }
    }

    /// The variable's value when set and not empty, else the project's copy.
    public var url: URL {
        if let override = ProcessInfo.processInfo.environment[variable], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return Self.packageRoot.appendingPathComponent(defaultPath)
    }

    /// The package root (where `Package.swift` is).
    public static var packageRoot: URL { PackageRoot.url }

    /// The file's bytes; throws `Missing` (naming the path and the variable) when it
    /// is missing or empty.
    public func contents() throws -> Data {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else {
            throw Missing(description: "conformance data \(path) is missing or empty (set \(variable) to use another)")
        }
        return data
    }

    /// For a folder: the names of its files ending in `suffix`, sorted; throws
    /// `Missing` when there is none.
    public func names(endingIn suffix: String) throws -> [String] {
        let folder = url.path
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter {
            $0.hasSuffix(suffix)
        }.sorted()
        guard !names.isEmpty else {
            throw Missing(description: "no \(suffix) files in \(folder) (set \(variable) to use another folder)")
        }
        return names
    }

    /// Conformance data that could not be read, with its path.
    public struct Missing: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }
}

/// The package root, found from this file's path (`Tests/TestSupport/`), for tests
/// that read the project's scripts, examples and docs.
public enum PackageRoot {
    public static let url: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()
}

/// The package's built executables (`quarry`, `bedrock-emulator`, `ExampleHost`): the
/// test bundle lives in `.build/<config>/`, and so do they.
public enum BuiltProduct {
    /// The executable `name` in the first folder above the test bundle that holds it
    /// (`.build/debug/name` when none does).
    public static func executable(_ name: String) -> URL {
        var dir = Bundle.main.bundleURL
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: ".build/debug/\(name)")
    }
}
