import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The one HTTP call the network credential providers make, over AsyncHTTPClient,
/// with a deadline for the whole exchange and a cap on the response size.
enum CredentialsHTTP {
    struct Response {
        let status: Int
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    static func send(method: HTTPMethod, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                     provider: String, timeout: TimeAmount) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            let buffer = try await response.body.collect(upTo: 1 << 20)
            return Response(status: Int(response.status.code), body: Array(buffer.readableBytesView))
        } catch {
            throw CredentialsError.unreachable(provider: provider, problem: "\(method) \(redactQuery(url)): \(error)")
        }
    }

    /// The URL without its query (which may carry account or role names).
    static func redactQuery(_ url: String) -> String {
        url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
    }
}

/// Decodes the JSON credential documents of the container endpoint, IMDS and
/// `credential_process` (`AccessKeyId`, `SecretAccessKey`, `Token`/`SessionToken`,
/// `Expiration`), naming the missing field on failure.
enum CredentialDocument {
    static func decode(_ body: [UInt8], provider: String, tokenKey: String) throws -> SigV4Credentials {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw CredentialsError.serviceError(provider: provider, problem: "response is not a JSON object")
        }
        func field(_ name: String) throws -> String {
            guard let value = object[name] as? String, !value.isEmpty else {
                throw CredentialsError.serviceError(provider: provider, problem: "response has no '\(name)' string")
            }
            return value
        }
        var expiration: Date?
        if let text = object["Expiration"] as? String {
            guard let date = ISO8601Timestamp.parse(text) else {
                throw CredentialsError.serviceError(provider: provider, problem: "'Expiration' '\(text)' is not an ISO-8601 time")
            }
            expiration = date
        }
        return SigV4Credentials(accessKeyId: try field("AccessKeyId"), secretAccessKey: try field("SecretAccessKey"),
                                sessionToken: object[tokenKey] as? String, expiration: expiration)
    }
}
