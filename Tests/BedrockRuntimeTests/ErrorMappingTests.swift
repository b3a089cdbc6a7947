import BedrockWire
import Foundation
import HTTPTestSupport
import Testing

@testable import BedrockRuntime

/// Service errors read from real answers.
@Suite struct ErrorMappingTests {
    @Test(
        "each of the 12 service codes maps to its code, status, message, request id and retry rule",
        arguments: BedrockErrorCode.allCases)
    func everyCode(_ code: BedrockErrorCode) async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in
            .serviceError(code.rawValue, status: code.httpStatus, message: "the \(code.rawValue) message")
        }
        defer { Task { await server.shutdown() } }
        let error = try await withClient(server, retry: .noRetries) { client in
            await bedrockError { _ = try await client.converse(helloRequest) }
        }
        let e = try #require(error)
        #expect(e.kind == .service(.known(code)))
        #expect(e.code == code.rawValue)
        #expect(e.httpStatus == code.httpStatus)
        #expect(e.message == "the \(code.rawValue) message")
        #expect(e.requestId == "err-req")
        #expect(e.isRetryable == code.isTransient)
        #expect(e.attempts.count == 1)
        #expect(e.description.contains(code.rawValue))
    }

    @Test("the code comes from the header, else the body's __type, else the status; unknown codes are kept")
    func codeSources() async throws {
        let server = try await ScriptedHTTPServer.start { _, n in
            switch n {
            case 0:
                .respond(
                    status: 400, headers: [],
                    body: Array(#"{"__type":"com.amazon.bedrock#ValidationException","message":"bad"}"#.utf8))
            case 1: .respond(status: 503, headers: [], body: [])
            case 2: .serviceError("BrandNewException", status: 400, message: "new")
            case 3:
                .respond(
                    status: 424, headers: [("x-amzn-ErrorType", "ModelErrorException")],
                    body: Array(#"{"message":"model failed","originalStatusCode":500,"resourceName":"arn:model"}"#.utf8)
                )
            default: .respond(status: 502, headers: [], body: Array("<html>bad gateway</html>".utf8))
            }
        }
        defer { Task { await server.shutdown() } }
        let errors = try await withClient(server, retry: .noRetries) { client in
            var out: [BedrockError?] = []
            for _ in 0..<5 { out.append(await bedrockError { _ = try await client.converse(helloRequest) }) }
            return out
        }
        #expect(errors[0]?.serviceCode == .validation)
        #expect(errors[0]?.message == "bad")
        #expect(errors[1]?.serviceCode == .serviceUnavailable)
        #expect(errors[1]?.isRetryable == true)
        #expect(errors[1]?.message == "HTTP 503 with no error message")
        #expect(errors[2]?.kind == .service(.unknown("BrandNewException")))
        #expect(errors[2]?.isRetryable == false)
        #expect(errors[3]?.serviceCode == .modelError)
        #expect(errors[3]?.originalStatusCode == 500)
        #expect(errors[3]?.resourceName == "arn:model")
        #expect(errors[4]?.code == "HTTP502")
        #expect(errors[4]?.isRetryable == true)
        #expect(errors[4]?.message.contains("bad gateway") == true)
    }
}
