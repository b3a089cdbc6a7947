import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The emulator's admin API: where it is and the token it wants (never a Bedrock credential).
public struct EmulatorAdmin: Sendable, Hashable {
    /// The emulator's base URL (`http://127.0.0.1:PORT`).
    public var url: String
    /// The value for the `x-quarry-admin-token` header.
    public var token: String
    /// Where the emulator's CA certificate is, when it serves TLS.
    public var caCertificatePath: String?

    /// An admin API at `url` with `token`.
    public init(url: String, token: String, caCertificatePath: String? = nil) {
        self.url = url
        self.token = token
        self.caCertificatePath = caCertificatePath
    }
}

/// Talks to an emulator's admin API (`/_quarry/…`) with its admin token.
///
/// Each call uses its own HTTP client, configured as the target's Bedrock clients are
/// (TLS 1.2 or later; the emulator's CA certificate as the trust root when it serves
/// TLS), and closes it afterwards. Failures are thrown, never swallowed: an admin API
/// that does not answer is `EmulatorUnreachable`; one that refuses, its own error type.
public struct EmulatorAdminClient: Sendable {
    /// The API this client talks to.
    public let admin: EmulatorAdmin

    /// A client for `admin`.
    public init(_ admin: EmulatorAdmin) { self.admin = admin }

    /// `GET /_quarry/<path>` as JSON.
    public func get(_ path: String) async throws -> JSONValue { try await send(.GET, path, body: nil) }
    /// `POST /_quarry/<path>` with a JSON body.
    public func post(_ path: String, json: JSONValue) async throws -> JSONValue {
        try await send(.POST, path, body: JSONWriter.compact.bytes(json))
    }
    /// `DELETE /_quarry/<path>`.
    public func delete(_ path: String) async throws -> JSONValue { try await send(.DELETE, path, body: nil) }

    /// The emulator's models (`GET /_quarry/models`).
    public func models() async throws -> [ModelSummary] {
        let json = try await get("models")
        return (json["models"]?.arrayValue ?? []).map { m in
            ModelSummary(
                id: m["modelId"]?.stringValue ?? "", name: m["modelName"]?.stringValue ?? "",
                provider: m["providerName"]?.stringValue ?? "",
                maxOutputTokens: m["maxOutputTokens"]?.intValue ?? 0,
                supportsToolUse: m["toolUse"] == .bool(true), supportsReasoning: m["reasoning"] == .bool(true))
        }
    }

    /// Where the admin token comes from, said when the emulator refuses it.
    static let tokenHint =
        "(`quarry emulator` prints its admin token when it starts: give it to the quarry CLI in "
        + "QUARRY_EMULATOR_ADMIN_TOKEN, or to QuarryTarget.emulator(url:adminToken:))"

    /// The largest admin answer read (request logs of long runs are the big ones).
    static let maxAnswerBytes = 64 << 20

    private func send(_ method: HTTPMethod, _ path: String, body: [UInt8]?) async throws -> JSONValue {
        var request = HTTPClientRequest(url: admin.url + "/_quarry/" + path)
        request.method = method
        request.headers.add(name: "x-quarry-admin-token", value: admin.token)
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let configuration: HTTPClient.Configuration
        do {
            configuration = try AsyncHTTPClientTransport.clientConfiguration(
                tls: TLSSettings(caBundlePath: admin.caCertificatePath), proxy: nil, connectTimeout: .seconds(10))
        } catch {
            throw ScriptError(
                code: .configurationError,
                message: "the emulator's admin API: \(ScriptError.from(error).message)")
        }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let status: Int
        let bytes: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            status = Int(response.status.code)
            bytes = try await response.body.collect(upTo: Self.maxAnswerBytes)
        } catch {
            await Self.close(client)
            throw ScriptError(code: .emulatorUnreachable, message: "the emulator's admin API did not answer: \(error)")
        }
        await Self.close(client)
        let json = try JSONParser.parse(bytes.readableBytesView)
        guard (200..<300).contains(status) else {
            var message = json["message"]?.stringValue ?? "emulator admin API answered \(status)"
            if status == 403 {
                // The usual cause: a running `quarry emulator` reached without its token.
                message += " \(Self.tokenHint)"
            }
            throw ScriptError(
                code: json["__type"]?.stringValue.map(ScriptError.Code.init(rawValue:)) ?? .emulatorError,
                message: message, status: status)
        }
        return json
    }

    /// Shuts `client` down; a client that fails to close has no connection left to leak.
    private static func close(_ client: HTTPClient) async {
        do { try await client.shutdown() } catch {}
    }
}
