import BedrockWire
import EmulatorTestSupport
import Foundation

@testable import BedrockEmulator

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A tiny test client: real HTTP over loopback with URLSession, signed with
/// BedrockWire's SigV4 signer exactly as the client library signs.
struct EmulatorHTTPClient {
    let endpoint: EmulatorEndpoint
    var region = "us-east-1"
    var accessKeyID = "test"
    var secret = "test"

    struct Reply {
        let status: Int
        let headers: [String: String]
        let body: Data
        var json: JSONValue? { try? JSONParser.parse(body) }
        var errorType: String? { headers["x-amzn-errortype"]?.split(separator: ":").first.map(String.init) }
    }

    func send(
        _ path: String, method: String = "POST", json body: JSONValue? = nil, sign: Bool = true,
        headers extra: [String: String] = [:], at date: Date = Date()
    ) async throws -> Reply {
        let bytes = body.map { Data($0.serialized) } ?? Data()
        let url = endpoint.url + path
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        for (name, value) in extra { headers.append((name, value)) }
        if sign {
            let signer = SigV4Signer(region: region)
            let request = SigV4Request(method: method, url: url, headers: headers, payload: .body(bytes))
            let signed = try signer.sign(
                request, with: SigV4Credentials(accessKeyId: accessKeyID, secretAccessKey: secret), at: date)
            headers = signed.headers
        }
        guard let target = URL(string: url) else { throw URLError(.badURL) }
        var request = URLRequest(url: target)
        request.httpMethod = method
        for (name, value) in headers where name.lowercased() != "host" {
            request.addValue(value, forHTTPHeaderField: name)
        }
        if method != "GET" { request.httpBody = bytes }
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        var replyHeaders: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { replyHeaders[name.lowercased()] = value }
        }
        return Reply(status: http.statusCode, headers: replyHeaders, body: data)
    }
}

/// Runs `body` with a started one-thread emulator and a client for it; always stops it.
func withEmulator(
    _ configure: (inout EmulatorConfiguration) -> Void = { _ in },
    _ body: (BedrockEmulator, EmulatorHTTPClient) async throws -> Void
) async throws {
    try await BedrockEmulator.withStarted(.oneThread(configure)) { emulator, endpoint in
        try await body(emulator, EmulatorHTTPClient(endpoint: endpoint))
    }
}

let claude = "anthropic.claude-3-haiku-20240307-v1:0"

func converseBody(_ text: String, extra: [String: JSONValue] = [:]) -> JSONValue {
    var members: [String: JSONValue] = ["messages": [["role": "user", "content": [["text": .string(text)]]]]]
    for (key, value) in extra { members[key] = value }
    return JSONValue(members)
}
