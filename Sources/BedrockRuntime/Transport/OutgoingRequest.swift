import Foundation
import NIOHTTP1

extension BedrockEndpoint {
    /// `host` or `host:port` when the port is not the scheme's default: the `Host` header.
    public var hostHeader: String {
        guard let port, !(scheme == "https" && port == 443), !(scheme == "http" && port == 80) else { return host }
        return "\(host):\(port)"
    }

    /// Parses an endpoint URL, as a `BedrockError` naming the problem when it is bad.
    public static func parse(_ url: String) throws(BedrockError) -> BedrockEndpoint {
        do {
            return try BedrockEndpoint(validating: url)
        } catch {
            throw BedrockError.invalidRequest("endpoint URL: \(error)")
        }
    }

    /// The regional endpoint for `region` (AWS endpoint rules, no FIPS or dual-stack).
    public static func regional(_ region: String) throws(BedrockError) -> BedrockEndpoint {
        do {
            return try BedrockEndpointResolver(region: region).resolve()
        } catch {
            throw BedrockError.invalidRequest("no endpoint for region '\(region)': \(error)")
        }
    }
}

/// One HTTP request as the client sends it: what the signer signs and the transport
/// carries. `path` and `query` are already percent-encoded the way botocore encodes them.
public struct OutgoingRequest: Sendable {
    public var method: HTTPMethod
    public var endpoint: BedrockEndpoint
    /// The encoded path, starting with `/` (the endpoint's base path included).
    public var path: String
    /// Encoded query pairs in order.
    public var query: [(name: String, value: String)]
    /// Bare query keys sent before the pairs, without `=` (S3's `?uploads`, which its
    /// URI templates carry): `/k?uploads&prefix=p`.
    public var queryFlags: [String] = []
    /// Headers in order (names as sent).
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The operation's name (`Converse`), for logs and middleware.
    public var operation: String
    /// A body sent while the call runs (bidirectional streams); when set, it replaces
    /// `body`, which stays empty.
    public var bodyStream: StreamingRequestBody?

    public init(
        method: HTTPMethod, endpoint: BedrockEndpoint, path: String, query: [(name: String, value: String)] = [],
        headers: HTTPHeaders = [:], body: [UInt8] = [], operation: String
    ) {
        self.method = method; self.endpoint = endpoint; self.path = path; self.query = query
        self.headers = headers; self.body = body; self.operation = operation
    }

    /// The encoded query string (`a=1&b=2`), "" when there is none.
    public var queryString: String {
        (queryFlags + query.map { "\($0.name)=\($0.value)" }).joined(separator: "&")
    }

    /// The full URL.
    public var url: String {
        let q = queryString
        return "\(endpoint.scheme)://\(endpoint.hostHeader)\(path)" + (q.isEmpty ? "" : "?\(q)")
    }
}

/// Percent-encoding as botocore does it for path labels and query values: everything
/// but `A-Z a-z 0-9 - _ . ~` is encoded, so `:` becomes `%3A` and `/` becomes `%2F`.
public enum URIEncoding {
    /// Encodes `value` with only unreserved characters left as they are.
    public static func encode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
                UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }
}

/// Signs or otherwise authorizes each attempt just before it is sent: the seam where
/// SigV4 (access keys) and bearer tokens plug in. Called once per attempt, so every
/// retry is signed afresh.
public protocol RequestAuthorizer: Sendable {
    /// Adds the authorization headers to `request` for the time `date`.
    func authorize(_ request: inout OutgoingRequest, at date: Date) async throws
}

/// Sends requests unsigned: for endpoints that need no authorization (a local
/// emulator started without verification). Never the default.
public struct UnsignedAuthorizer: RequestAuthorizer {
    public init() {}
    public func authorize(_ request: inout OutgoingRequest, at date: Date) async throws {}
}
