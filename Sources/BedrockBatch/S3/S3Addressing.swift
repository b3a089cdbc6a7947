import BedrockRuntime

/// How S3 requests name their bucket: botocore's `s3.addressing_style`.
public enum S3AddressingStyle: String, Sendable, Hashable, CaseIterable {
    /// `https://{endpoint}/{bucket}/{key}`.
    case path
    /// `https://{bucket}.{endpoint}/{key}`, when the bucket can be a host name (a DNS
    /// label; dots only over plain http, where no certificate must match) and the
    /// endpoint is not an IP address; otherwise path-style.
    case virtual
    /// botocore's default: virtual-hosted at AWS's own endpoints for buckets that are one
    /// DNS label, path-style for dotted names and at a custom endpoint URL.
    case auto

    /// The style named by `text` (`path`, `virtual`, `auto`), as the shared config
    /// file's `s3 = addressing_style = …` writes it.
    public init(parsing text: String) throws {
        guard let style = S3AddressingStyle(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) else {
            throw BedrockError.invalidRequest(
                "s3 addressing_style must be path, virtual or auto, got '\(S3URI.shown(text))'")
        }
        self = style
    }
}

/// Where one S3 request goes: path-style on the S3 endpoint, or virtual-hosted on
/// `{bucket}.{endpoint host}` (botocore's rules; see ``S3AddressingStyle``).
struct S3Router: Sendable {
    var style: S3AddressingStyle
    var endpoint: BedrockEndpoint
    /// Whether the endpoint came from a custom endpoint URL rather than AWS's rules.
    var isCustomEndpoint: Bool

    /// Whether requests for `bucket` are sent virtual-hosted.
    func isVirtualHosted(_ bucket: String) -> Bool {
        switch style {
        case .path: return false
        case .auto: return !isCustomEndpoint && Self.isHostable(bucket, dotsAllowed: false)
        case .virtual:
            return !Self.isIPAddress(endpoint.host) && Self.isHostable(bucket, dotsAllowed: endpoint.scheme == "http")
        }
    }

    /// `op` (built path-style, `/{bucket}[/{key}]`) re-addressed for its bucket.
    func route(_ op: OperationRequest, bucket: String) throws -> OperationRequest {
        guard isVirtualHosted(bucket) else { return op }
        let prefix = "/" + bucket
        guard op.path == prefix || op.path.hasPrefix(prefix + "/") else { return op }
        var routed = op
        let rest = String(op.path.dropFirst(prefix.count))
        routed.path = rest.isEmpty ? "/" : rest
        let port = endpoint.port.map { ":\($0)" } ?? ""
        do {
            routed.endpoint = try BedrockEndpoint(
                validating: "\(endpoint.scheme)://\(bucket).\(endpoint.host)\(port)\(endpoint.basePath)")
        } catch {
            throw BedrockError.invalidRequest("bucket '\(bucket)' cannot be addressed virtual-hosted: \(error)")
        }
        return routed
    }

    /// A valid bucket name that is a host name: lower-case DNS labels of 1–63
    /// characters (one label unless `dotsAllowed`), not an IP address.
    static func isHostable(_ bucket: String, dotsAllowed: Bool) -> Bool {
        guard S3URI.isValidBucketName(bucket) else { return false }
        let labels = bucket.split(separator: ".", omittingEmptySubsequences: false)
        guard dotsAllowed || labels.count == 1 else { return false }
        return labels.allSatisfy { label in
            guard let first = label.first, let last = label.last, (1...63).contains(label.count) else { return false }
            return first != "-" && last != "-"
        }
    }

    /// An IPv4 address (four decimal octets) or a bracketed IPv6 address.
    static func isIPAddress(_ host: String) -> Bool {
        if host.hasPrefix("[") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}
