import Foundation

/// Finds the test files `quarry test` runs: every `*_test.lua` under the given
/// directories (recursively, in path order), and any file named explicitly.
public enum TestDiscovery {
    /// The suffix that marks a test file.
    public static let suffix = "_test.lua"

    /// The files to run for `paths` (the current directory when empty); throws
    /// `TestDiscoveryError` naming a path that does not exist or holds no test files.
    public static func files(in paths: [String], fileManager: FileManager = .default) throws -> [String] {
        let roots = paths.isEmpty ? ["."] : paths
        var found: [String] = []
        for root in roots {
            var isDirectory: ObjCBool = false
            guard fileManager.fileExists(atPath: root, isDirectory: &isDirectory) else {
                throw TestDiscoveryError(message: "no such file or directory: \(root)")
            }
            if !isDirectory.boolValue {
                found.append(root)
                continue
            }
            guard let enumerator = fileManager.enumerator(atPath: root) else {
                throw TestDiscoveryError(message: "cannot read directory: \(root)")
            }
            var inRoot: [String] = []
            while let relative = enumerator.nextObject() as? String {
                let name = (relative as NSString).lastPathComponent
                if name.hasPrefix(".") { enumerator.skipDescendants(); continue }
                if name.hasSuffix(suffix) { inRoot.append((root as NSString).appendingPathComponent(relative)) }
            }
            guard !inRoot.isEmpty else {
                throw TestDiscoveryError(message: "no *\(suffix) files under \(root)", foundNoTests: true)
            }
            found.append(contentsOf: inRoot.sorted())
        }
        var seen = Set<String>()
        return found.filter { seen.insert(($0 as NSString).standardizingPath).inserted }
    }
}

/// A test path that could not be used.
public struct TestDiscoveryError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    /// Whether the paths exist but hold no test file (nothing to run, rather than a bad path).
    public var foundNoTests = false
    public var description: String { message }
}
