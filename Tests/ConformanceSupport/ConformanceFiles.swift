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

    /// The package root: two folders above this file (`Tests/ConformanceSupport/`).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // ConformanceSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()
}
