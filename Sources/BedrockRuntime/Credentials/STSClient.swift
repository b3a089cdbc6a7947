import BedrockWire
import Foundation
import NIOCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The two STS calls the credential providers need, over the query protocol
/// (form-encoded POST, XML response): `AssumeRole` (SigV4-signed with the source
/// credentials, signing name `sts`) and `AssumeRoleWithWebIdentity` (unsigned).
public struct STSClient: Sendable {
    /// The region STS is called in.
    public let region: String
    /// STS's base URL.
    public let endpoint: String
    private let timeout: TimeAmount
    private let network: CredentialNetwork

    /// A client for `region`, at `endpoints.sts(region)`.
    public init(region: String, endpoints: CredentialEndpoints = CredentialEndpoints()) {
        self.region = region
        self.endpoint = endpoints.sts(region)
        self.timeout = endpoints.timeout
        self.network = endpoints.network ?? CredentialNetwork()
    }

    /// `AssumeRole` signed with `source`.
    public func assumeRole(
        roleArn: String, sessionName: String, externalId: String? = nil,
        durationSeconds: Int? = nil, source: SigV4Credentials, provider: String
    ) async throws -> SigV4Credentials {
        var parameters = [
            ("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", roleArn),
            ("RoleSessionName", sessionName),
        ]
        if let externalId { parameters.append(("ExternalId", externalId)) }
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        let body = Array(Self.formEncode(parameters).utf8)
        let url = endpoint.hasSuffix("/") ? endpoint : endpoint + "/"
        let headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
        let signed: SigV4SignedRequest
        do {
            signed = try SigV4Signer(region: region, service: "sts").sign(
                SigV4Request(method: "POST", url: url, headers: headers, payload: .body(body)), with: source, at: Date()
            )
        } catch {
            throw CredentialsError.invalidConfiguration(provider: provider, problem: "cannot sign AssumeRole: \(error)")
        }
        let response = try await CredentialsHTTP.send(
            method: .POST, url: url, headers: signed.headers.map { ($0.name, $0.value) },
            body: body, provider: provider, timeout: timeout, network: network)
        return try STSResponseReader.credentials(from: response, result: "AssumeRoleResult", provider: provider)
    }

    /// `AssumeRoleWithWebIdentity` with an OIDC token (unsigned).
    public func assumeRoleWithWebIdentity(
        roleArn: String, sessionName: String, webIdentityToken: String,
        provider: String
    ) async throws -> SigV4Credentials {
        let body = Array(
            Self.formEncode([
                ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleArn),
                ("RoleSessionName", sessionName), ("WebIdentityToken", webIdentityToken),
            ]).utf8)
        let url = endpoint.hasSuffix("/") ? endpoint : endpoint + "/"
        let response = try await CredentialsHTTP.send(
            method: .POST, url: url, headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            body: body, provider: provider, timeout: timeout, network: network)
        return try STSResponseReader.credentials(
            from: response, result: "AssumeRoleWithWebIdentityResult", provider: provider)
    }

    static func formEncode(_ parameters: [(String, String)]) -> String {
        parameters.map {
            SigV4Canonicalization.percentEncode($0.0, keeping: []) + "="
                + SigV4Canonicalization.percentEncode($0.1, keeping: [])
        }.joined(separator: "&")
    }
}

/// A strict reader of just the STS response fields we need: the credentials of a
/// `…Result`, or the `Code`/`Message` of an `ErrorResponse`.
package enum STSResponseReader {
    /// The credentials in an STS answer given as status and XML body (the fuzz target's seam).
    package static func credentials(status: Int, body: [UInt8], result: String, provider: String) throws
        -> SigV4Credentials
    {
        try credentials(from: CredentialsHTTP.Response(status: status, body: body), result: result, provider: provider)
    }

    static func credentials(
        from response: CredentialsHTTP.Response, result: String,
        provider: String
    ) throws -> SigV4Credentials {
        let fields = try parse(response.body, provider: provider)
        guard (200..<300).contains(response.status) else {
            let code = fields["ErrorResponse/Error/Code"] ?? "HTTP \(response.status)"
            let message = fields["ErrorResponse/Error/Message"] ?? "no message"
            throw CredentialsError.serviceError(provider: provider, problem: "STS \(code): \(message)")
        }
        let prefix = result.replacingOccurrences(of: "Result", with: "Response") + "/\(result)/Credentials/"
        func field(_ name: String) throws -> String {
            guard let value = fields[prefix + name], !value.isEmpty else {
                throw CredentialsError.serviceError(
                    provider: provider, problem: "STS response has no \(result)/Credentials/\(name)")
            }
            return value
        }
        let accessKeyId = try field("AccessKeyId")
        let secretAccessKey = try field("SecretAccessKey")
        let sessionToken = try field("SessionToken")
        let expirationText = try field("Expiration")
        guard let expiration = ISO8601Timestamp.parse(expirationText) else {
            throw CredentialsError.serviceError(
                provider: provider,
                problem: "STS Expiration (\(ConfigNumber.shownTimestamp(expirationText))) is not an ISO-8601 time")
        }
        return SigV4Credentials(
            accessKeyId: accessKeyId, secretAccessKey: secretAccessKey,
            sessionToken: sessionToken, expiration: expiration)
    }

    /// Element paths (`A/B/C`, namespaces ignored) → trimmed text.
    static func parse(_ body: [UInt8], provider: String) throws -> [String: String] {
        // Foundation's XMLParser on Linux traps (kills the process) on an element or
        // attribute name that is not valid UTF-8 (found by the sts-xml fuzz target). STS
        // answers in UTF-8: refuse anything else before the parser sees it.
        guard String(validating: body, as: UTF8.self) != nil else {
            throw CredentialsError.serviceError(provider: provider, problem: "STS response is not valid UTF-8")
        }
        // It also dereferences a null pointer on a processing instruction without data
        // (`<?x?>`, found by the sts-xml fuzz target). STS answers hold none: only the
        // XML declaration may start with `<?`, and only at the start.
        guard !holdsProcessingInstruction(body) else {
            throw CredentialsError.serviceError(
                provider: provider, problem: "STS response holds an XML processing instruction")
        }
        let delegate = Collector()
        let parser = XMLParser(data: Data(body))
        parser.delegate = delegate
        guard parser.parse(), delegate.path.isEmpty else {
            throw CredentialsError.serviceError(provider: provider, problem: "STS response is not well-formed XML")
        }
        return delegate.fields
    }

    /// Whether `body` has a `<?` other than an XML declaration (`<?xml` and a space) at
    /// its start, after an optional byte-order mark and white space.
    static func holdsProcessingInstruction(_ body: [UInt8]) -> Bool {
        let space: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]  // XML's white space
        var start = body.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while start < body.count, space.contains(body[start]) { start += 1 }
        let declaration = Array("<?xml".utf8)
        var from = start
        if body[start...].starts(with: declaration), body.count > start + 5,
            space.contains(body[start + 5])
        {
            // Past the declaration's own `?>`.
            guard
                let end = (start + 5..<max(start + 5, body.count - 1)).first(where: {
                    body[$0] == 0x3F && body[$0 + 1] == 0x3E
                })
            else { return false }
            from = end + 2
        }
        guard from < body.count else { return false }
        for i in from..<(body.count - 1) where body[i] == 0x3C && body[i + 1] == 0x3F { return true }
        return false
    }

    private final class Collector: NSObject, XMLParserDelegate {
        var path: [String] = []
        var text = ""
        var fields: [String: String] = [:]

        func parser(
            _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            path.append(name.split(separator: ":").last.map(String.init) ?? name)
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !trimmed.isEmpty { fields[path.joined(separator: "/")] = trimmed }
            text = ""
            path.removeLast()
        }
    }
}
