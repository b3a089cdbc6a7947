import Foundation

/// Where requests go: Bedrock Runtime's endpoint rules (the same rule set botocore
/// ships), from a region, FIPS and dual-stack flags, or a custom endpoint.
///
/// - custom endpoint: used as is; combined with FIPS or dual-stack it is an error;
/// - otherwise `https://bedrock-runtime[-fips].{region}.{dnsSuffix | dualStackDnsSuffix}`
///   for the region's partition.
public struct BedrockEndpointResolver: Sendable, Hashable {
    /// The endpoint prefix (`bedrock-runtime`); the signing name is `bedrock`.
    public static let endpointPrefix = "bedrock-runtime"

    /// The inputs of the rules.
    public var region: String?
    /// Use the FIPS endpoint.
    public var useFIPS: Bool
    /// Use the dual-stack endpoint.
    public var useDualStack: Bool
    /// A custom endpoint URL (`endpoint_url`), used instead of the rules.
    public var customEndpoint: String?
    /// The service's endpoint prefix: `bedrock-runtime` (the default) or `bedrock`
    /// (the control plane, whose rules have the same shape).
    public var endpointPrefix: String

    /// A resolver for these settings.
    public init(
        region: String?, useFIPS: Bool = false, useDualStack: Bool = false, customEndpoint: String? = nil,
        endpointPrefix: String = BedrockEndpointResolver.endpointPrefix
    ) {
        self.region = region
        self.useFIPS = useFIPS
        self.useDualStack = useDualStack
        self.customEndpoint = customEndpoint
        self.endpointPrefix = endpointPrefix
    }

    /// The endpoint URL (without a trailing slash), or an error in botocore's words.
    public func resolve() throws(EndpointResolutionError) -> BedrockEndpoint {
        if let customEndpoint {
            if useFIPS {
                throw .invalidConfiguration("Invalid Configuration: FIPS and custom endpoint are not supported")
            }
            if useDualStack {
                throw .invalidConfiguration("Invalid Configuration: Dualstack and custom endpoint are not supported")
            }
            return try BedrockEndpoint(validating: customEndpoint)
        }
        guard let region, !region.isEmpty else { throw .invalidConfiguration("Invalid Configuration: Missing Region") }
        guard AWSRegion.isValid(region) else {
            throw .invalidConfiguration("Invalid Configuration: region '\(region)' is not a valid region name")
        }
        let partition = AWSPartition.of(region: region)
        let host: String
        switch (useFIPS, useDualStack) {
        case (true, true):
            guard partition.supportsFIPS, partition.supportsDualStack else {
                throw .invalidConfiguration(
                    "FIPS and DualStack are enabled, but this partition does not support one or both")
            }
            host = "\(endpointPrefix)-fips.\(region).\(partition.dualStackDnsSuffix)"
        case (true, false):
            guard partition.supportsFIPS else {
                throw .invalidConfiguration("FIPS is enabled but this partition does not support FIPS")
            }
            host = "\(endpointPrefix)-fips.\(region).\(partition.dnsSuffix)"
        case (false, true):
            guard partition.supportsDualStack else {
                throw .invalidConfiguration("DualStack is enabled but this partition does not support DualStack")
            }
            host = "\(endpointPrefix).\(region).\(partition.dualStackDnsSuffix)"
        case (false, false):
            host = "\(endpointPrefix).\(region).\(partition.dnsSuffix)"
        }
        return try BedrockEndpoint(validating: "https://" + host)
    }
}

/// A resolved endpoint: scheme, host and optional port and base path.
public struct BedrockEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// `https` or `http`.
    public let scheme: String
    /// The host name or address (IPv6 in brackets).
    public let host: String
    /// The explicit port, if any.
    public let port: Int?
    /// A base path the operation paths are appended to (empty or starting with `/`,
    /// never ending with `/`).
    public let basePath: String

    /// Parses and checks an endpoint URL: `http(s)://host[:port][/base]`, no query,
    /// fragment or credentials.
    public init(validating text: String) throws(EndpointResolutionError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let schemeEnd = trimmed.range(of: "://") else {
            throw .invalidEndpointURL("'\(trimmed)' is not a URL (expected http:// or https://)")
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "https" || scheme == "http" else {
            throw .invalidEndpointURL("'\(trimmed)' has scheme '\(scheme)'; only http and https are supported")
        }
        let rest = trimmed[schemeEnd.upperBound...]
        guard !rest.contains("?"), !rest.contains("#") else {
            throw .invalidEndpointURL("'\(trimmed)' must not have a query or fragment")
        }
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<slash]
        guard !authority.contains("@") else { throw .invalidEndpointURL("endpoint URL must not contain credentials") }
        var host = Substring(authority)
        var port: Int?
        if let colon = authority.lastIndex(of: ":"), !authority[colon...].contains("]") {
            host = authority[..<colon]
            guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else {
                throw .invalidEndpointURL("'\(trimmed)' has an invalid port")
            }
            port = number
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.[]:_".contains($0)) })
        else {
            throw .invalidEndpointURL("'\(trimmed)' has an invalid host")
        }
        var path = String(rest[slash...])
        while path.hasSuffix("/") { path.removeLast() }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
        self.basePath = path
    }

    /// `scheme://host[:port][basePath]`.
    public var url: String {
        "\(scheme)://\(host)\(port.map { ":\($0)" } ?? "")\(basePath)"
    }

    /// The full URL of an operation whose encoded path (and query) is `pathAndQuery`
    /// (starting with `/`).
    public func url(for pathAndQuery: String) -> String { url + pathAndQuery }

    public var description: String { url }
}

/// Why no endpoint could be resolved.
public enum EndpointResolutionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The settings contradict each other or lack a region (botocore's messages).
    case invalidConfiguration(String)
    /// A custom endpoint URL is malformed.
    case invalidEndpointURL(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message): message
        case .invalidEndpointURL(let message): "Invalid endpoint URL: \(message)"
        }
    }
}
