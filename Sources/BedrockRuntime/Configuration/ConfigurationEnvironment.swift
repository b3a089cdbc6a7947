import Foundation

/// The environment variables configuration is read from: the process environment
/// in production, a dictionary in tests (so tests never touch the real `~/.aws`).
public struct ConfigurationEnvironment: Sendable {
    /// The variables.
    public var variables: [String: String]

    /// An environment made of `variables`.
    public init(_ variables: [String: String]) { self.variables = variables }

    /// The current process's environment.
    public static var process: ConfigurationEnvironment { .init(ProcessInfo.processInfo.environment) }

    /// The value of `name`, nil when unset or empty.
    public subscript(_ name: String) -> String? {
        guard let value = variables[name], !value.isEmpty else { return nil }
        return value
    }

    /// `~` expanded with `HOME`.
    public func expandingTilde(_ path: String) -> String {
        guard path.hasPrefix("~"), let home = self["HOME"] else { return path }
        return home + path.dropFirst()
    }

    /// The shared config file (`AWS_CONFIG_FILE`, default `~/.aws/config`).
    public var configFilePath: String { expandingTilde(self["AWS_CONFIG_FILE"] ?? "~/.aws/config") }

    /// The shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`).
    public var credentialsFilePath: String {
        expandingTilde(self["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials")
    }
}

extension ConfigurationEnvironment: CustomStringConvertible, CustomReflectable {
    /// Names only: values (which may be keys or tokens) are never shown.
    public var description: String {
        "ConfigurationEnvironment(\(variables.keys.sorted().joined(separator: ", ")))"
    }

    /// What `dump()` shows: the variable names, each value replaced by `***`.
    public var customMirror: Mirror {
        Mirror(
            self, children: variables.keys.sorted().map { (label: $0, value: SecretMasking.redacted as Any) },
            displayStyle: .dictionary)
    }
}
