import BedrockRuntime
import Foundation

/// A throw-away home directory with `.aws/config` and `.aws/credentials`, so tests
/// never read the real ones.
struct TemporaryAWSDirectory {
    let home: URL

    init(config: String? = nil, credentials: String? = nil) throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-auth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: home.appendingPathComponent(".aws"), withIntermediateDirectories: true)
        if let config { try write(".aws/config", config) }
        if let credentials { try write(".aws/credentials", credentials) }
    }

    @discardableResult
    func write(_ relativePath: String, _ text: String) throws -> String {
        let url = home.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// An environment whose `HOME` is this directory, plus `extra`.
    func environment(_ extra: [String: String] = [:]) -> ConfigurationEnvironment {
        ConfigurationEnvironment(["HOME": home.path].merging(extra) { _, new in new })
    }

    func remove() { try? FileManager.default.removeItem(at: home) }
}
