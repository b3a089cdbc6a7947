/// Why a request could not be signed. Messages name the problem and never contain a
/// secret.
public enum SigV4SigningError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL could not be split into scheme, host, path and query.
    case invalidURL(String)
    /// The credentials have an empty access key id or secret.
    case incompleteCredentials(String)
    /// The region or service name is not usable in a credential scope.
    case invalidScope(String)

    public var description: String {
        switch self {
        case .invalidURL(let why): "cannot sign request: invalid URL (\(why))"
        case .incompleteCredentials(let why): "cannot sign request: incomplete credentials (\(why))"
        case .invalidScope(let why): "cannot sign request: invalid credential scope (\(why))"
        }
    }
}
