/// A configuration problem, naming the file, profile, variable or field at fault.
/// Never contains a secret value.
public enum ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A region name that is not shaped like one.
    case invalidRegion(String)
    /// A shared config or credentials file that cannot be parsed.
    case malformedFile(path: String, line: Int, problem: String)
    /// A file named by the configuration that cannot be read.
    case unreadableFile(path: String, purpose: String)
    /// The selected profile does not exist in either shared file.
    case profileNotFound(String)
    /// A setting with a value of the wrong form.
    case invalidValue(setting: String, source: String, problem: String)
    /// The endpoint settings contradict each other.
    case endpoint(EndpointResolutionError)

    public var description: String {
        switch self {
        case .invalidRegion(let name):
            "invalid region: \(Self.regionProblem(name))"
        case .malformedFile(let path, let line, let problem):
            "\(path):\(line): \(problem)"
        case .unreadableFile(let path, let purpose):
            "cannot read \(purpose) '\(path)'"
        case .profileNotFound(let name):
            "The config profile (\(name)) could not be found"
        case .invalidValue(let setting, let source, let problem):
            "invalid \(setting) from \(source): \(problem)"
        case .endpoint(let error):
            error.description
        }
    }

    /// What is wrong with a region name that is not shaped like one.
    static func regionProblem(_ name: String) -> String {
        "'\(ConfigNumber.shown(name))' is not a region name like 'us-east-1' (lower-case letters, digits and hyphens)"
    }
}
