import BedrockWire
import Foundation
import TestSupport
import Testing

@testable import BedrockRuntime

/// The `client[]` cases of the shared SigV4 vectors: for the same operation input,
/// our client must send botocore's URL, signed headers, signature and body bytes.
@Suite struct ClientConformanceTests {
    static func vectorsURL() -> URL { ConformanceFile.sigV4Vectors.url }

    /// Replaces `{"__bytes_base64__": s}` by the base64 string, as Codable `Data` expects.
    static func unwrapBytes(_ v: JSONValue) -> JSONValue {
        switch v {
        case let .object(members):
            if members.count == 1, members[0].0 == "__bytes_base64__" { return members[0].1 }
            return .object(members.map { ($0.0, unwrapBytes($0.1)) })
        case let .array(items): return .array(items.map(unwrapBytes))
        default: return v
        }
    }

    static func operation(_ name: String, _ params: JSONValue) throws -> OperationRequest {
        let d = JSONValueDecoder()
        switch name {
        case "Converse":
            return try BedrockRuntimeClient.converseOperation(try d.decode(ConverseRequest.self, from: params))
        case "ConverseStream":
            return try BedrockRuntimeClient.converseOperation(
                try d.decode(ConverseRequest.self, from: params), stream: true)
        case "InvokeModel":
            var p = params
            if case var .object(m) = p, !m.contains(where: { $0.0 == "contentType" }) {
                m.append(("contentType", .null)); p = .object(m)
            }
            var r = try d.decode(InvokeModelRequest.self, from: p)
            if params["contentType"] == nil { r.contentType = nil }
            if params["accept"] == nil { r.accept = nil }
            return try BedrockRuntimeClient.invokeModelOperation(r)
        case "InvokeModelWithResponseStream":
            var r = try d.decode(InvokeModelRequest.self, from: params)
            if params["contentType"] == nil { r.contentType = nil }
            if params["accept"] == nil { r.accept = nil }
            return try BedrockRuntimeClient.invokeModelOperation(r, stream: true)
        case "CountTokens":
            return try BedrockRuntimeClient.countTokensOperation(try d.decode(CountTokensRequest.self, from: params))
        case "ApplyGuardrail":
            return try BedrockRuntimeClient.applyGuardrailOperation(
                try d.decode(ApplyGuardrailRequest.self, from: params))
        case "InvokeGuardrailChecks":
            return try BedrockRuntimeClient.invokeGuardrailChecksOperation(
                try d.decode(InvokeGuardrailChecksRequest.self, from: params))
        case "StartAsyncInvoke":
            return try BedrockRuntimeClient.startAsyncInvokeOperation(
                try d.decode(StartAsyncInvokeRequest.self, from: params))
        case "GetAsyncInvoke":
            return try BedrockRuntimeClient.getAsyncInvokeOperation(
                invocationArn: params["invocationArn"]?.stringValue ?? "")
        case "ListAsyncInvokes":
            return try BedrockRuntimeClient.listAsyncInvokesOperation(
                try d.decode(ListAsyncInvokesRequest.self, from: params))
        default: throw BedrockError(kind: .invalidRequest, message: "conformance case uses unknown operation \(name)")
        }
    }

    /// The endpoint by the auth branch's endpoint rules (region, FIPS, dual-stack, URL).
    static func endpoint(_ input: JSONValue) throws -> BedrockEndpoint {
        try BedrockEndpointResolver(
            region: input["region"]?.stringValue,
            useFIPS: input["client_config"]?["use_fips_endpoint"] == .bool(true),
            useDualStack: input["client_config"]?["use_dualstack_endpoint"] == .bool(true),
            customEndpoint: input["endpoint_url"]?.stringValue
        ).resolve()
    }

    @Test("every client[] case produces botocore's URL, signed headers, signature and body")
    func clientCases() async throws {
        let url = Self.vectorsURL()
        let file = try JSONParser.parse(try ConformanceFile.sigV4Vectors.contents())
        let cases = try #require(file["client"]?.arrayValue, "no client[] array in \(url.path)")
        #expect(!cases.isEmpty, "client[] is empty in \(url.path)")
        var checked = 0
        for c in cases {
            let id = c["id"]?.stringValue ?? "?"
            let input = try #require(c["input"]), expected = try #require(c["expected"])
            let operationName = try #require(input["operation"]?.stringValue)
            let params = try #require(input["params"])
            let op = try Self.operation(operationName, Self.unwrapBytes(params))
            let creds = try #require(input["credentials"])
            let credentials = SigV4Credentials(
                accessKeyId: creds["access_key"]?.stringValue ?? "",
                secretAccessKey: creds["secret_key"]?.stringValue ?? "",
                sessionToken: creds["session_token"]?.stringValue)
            let region = try #require(input["region"]?.stringValue)
            let stamp = try #require(input["timestamp"]?.stringValue)
            let date = try #require(SigV4Timestamp(amzDate: stamp)).date
            let sentUA = expected["headers_sent"]?.arrayValue?.first {
                $0.arrayValue?.first?.stringValue == "User-Agent"
            }?.arrayValue?.last?.stringValue
            let configuration = try BedrockRuntimeClient.Configuration(
                region: region, endpoint: try Self.endpoint(input),
                authorizer: SigV4Authorizer(region: region, credentials: credentials),
                userAgent: sentUA ?? BedrockRuntimeClient.defaultUserAgent)
            let client = try BedrockRuntimeClient(
                configuration: configuration, now: { date }, invocationId: { "unused" })
            let request = try await client.pipeline.prepare(
                op, attempt: 1, maxAttempts: 3,
                invocationId: "00000000-0000-4000-8000-000000000001")
            try await client.shutdown()

            #expect(request.url == expected["url"]?.stringValue, "\(id): url")
            #expect(request.method.rawValue == expected["method"]?.stringValue, "\(id): method")
            let authorization = request.headers.first(name: "Authorization")
            #expect(authorization == expected["authorization"]?.stringValue, "\(id): Authorization")
            #expect(
                authorization?.contains("Signature=\(expected["signature"]?.stringValue ?? "-")") == true,
                "\(id): signature")
            #expect(
                authorization?.contains("SignedHeaders=\(expected["signed_headers"]?.stringValue ?? "-"),") == true,
                "\(id): signed headers")
            let body = expected["body"]?["utf8"]?.stringValue ?? ""
            #expect(String(decoding: request.body, as: UTF8.self) == body, "\(id): body bytes")
            if !body.isEmpty, case let .object(sentJSON)? = try? JSONParser.parse(request.body),
                let want = try? JSONParser.parse(body)
            {
                #expect(JSONValue.object(sentJSON) == want, "\(id): body content")
            }
            // Every header botocore sends, with its value, except those added by the
            // transport or differing by design (`amz-sdk-request` carries `max=`).
            for pair in expected["headers_sent"]?.arrayValue ?? [] {
                guard let name = pair.arrayValue?.first?.stringValue, let value = pair.arrayValue?.last?.stringValue
                else { continue }
                switch name.lowercased() {
                case "content-length": #expect(request.body.count == Int(value), "\(id): Content-Length")
                default: #expect(request.headers.first(name: name) == value, "\(id): header \(name)")
                }
            }
            checked += 1
        }
        print("client[] conformance: checked \(checked) cases from \(url.path)")
        #expect(checked == cases.count)
    }
}
