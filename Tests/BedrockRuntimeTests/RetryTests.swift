import BedrockWire
import Foundation
import HTTPTestSupport
import NIOCore
import Testing

@testable import BedrockRuntime

/// Retries against throttling storms, 5xx bursts and resets.
@Suite struct RetryTests {
    @Test("a throttling storm shorter than the attempts succeeds; the log shows each wait")
    func throttlingStormRecovers() async throws {
        let server = try await ScriptedHTTPServer.start { _, n in
            n < 2 ? .serviceError("ThrottlingException", status: 429, message: "slow down") : .json(200, converseAnswer)
        }
        defer { Task { await server.shutdown() } }
        let observed = LockedBox<[AttemptRecord]>([])
        let result = try await withClient(server) { client in
            try await client.converse(
                helloRequest, options: CallOptions(attemptObserver: { r in observed.withLockedValue { $0.append(r) } }))
        }
        #expect(result.attempts.map(\.outcome) == [.serviceError, .serviceError, .success])
        #expect(result.attempts.map(\.errorCode) == ["ThrottlingException", "ThrottlingException", nil])
        // Full jitter with random = 1: 20 ms then 40 ms (throttling base 20 ms in these tests).
        #expect(result.attempts.map(\.waitBeforeNext) == [.milliseconds(20), .milliseconds(40), nil])
        #expect(observed.withLockedValue { $0 } == result.attempts)
        let requests = server.requests
        #expect(requests.map { $0.header("amz-sdk-request") } == ["attempt=1", "attempt=2; max=3", "attempt=3; max=3"])
        #expect(Set(requests.compactMap { $0.header("amz-sdk-invocation-id") }).count == 1)
    }

    @Test("a storm longer than the attempts fails with every attempt logged")
    func throttlingStormExhausts() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in
            .serviceError("ThrottlingException", status: 429, message: "slow down")
        }
        defer { Task { await server.shutdown() } }
        let error = try await withClient(server) { client in
            await bedrockError { _ = try await client.converse(helloRequest) }
        }
        let e = try #require(error)
        #expect(e.serviceCode == .throttling)
        #expect(e.attempts.count == 3)
        #expect(e.attempts.last?.decision == "not retried: all 3 attempts used")
        #expect(e.retryReason.hasPrefix("all 3 attempts used"))
        #expect(server.requests.count == 3)
    }

    @Test("a 5xx burst (500, 502, 503) is retried with the short base")
    func fiveHundredBurst() async throws {
        let statuses = [500, 502, 503]
        let server = try await ScriptedHTTPServer.start { _, n in
            n < statuses.count ? .respond(status: statuses[n], headers: [], body: []) : .json(200, converseAnswer)
        }
        defer { Task { await server.shutdown() } }
        var retry = fastRetry
        retry.maxAttempts = 4
        let result = try await withClient(server, retry: retry) { try await $0.converse(helloRequest) }
        #expect(result.attempts.map(\.httpStatus) == [500, 502, 503, 200])
        #expect(
            result.attempts.map(\.errorCode) == [
                "InternalServerException", "HTTP502", "ServiceUnavailableException", nil,
            ])
        #expect(result.attempts.map(\.waitBeforeNext) == [.milliseconds(5), .milliseconds(10), .milliseconds(20), nil])
    }

    @Test("a per-call retry override replaces the client's for that call only")
    func perCallRetryOverride() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in
            .serviceError("ThrottlingException", status: 429, message: "slow")
        }
        defer { Task { await server.shutdown() } }
        let (once, thrice) = try await withClient(server) { client in
            (
                await bedrockError {
                    _ = try await client.converse(helloRequest, options: CallOptions(retry: .noRetries))
                },
                await bedrockError { _ = try await client.converse(helloRequest) }
            )
        }
        #expect(once?.attempts.count == 1)
        #expect(thrice?.attempts.count == 3)
        #expect(server.requests.count == 4)
    }

    @Test("non-retryable errors are not retried")
    func validationNotRetried() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in
            .serviceError("ValidationException", status: 400, message: "maxTokens too big")
        }
        defer { Task { await server.shutdown() } }
        let error = try await withClient(server) { client in
            await bedrockError { _ = try await client.converse(helloRequest) }
        }
        #expect(error?.attempts.count == 1)
        #expect(error?.attempts.first?.decision?.hasPrefix("not retried: ValidationException is not retryable") == true)
        #expect(server.requests.count == 1)
    }

    @Test("x-amz-retry-after sets the wait")
    func retryAfterHonoured() async throws {
        let server = try await ScriptedHTTPServer.start { _, n in
            n == 0
                ? .serviceError(
                    "ThrottlingException", status: 429, message: "wait", headers: [("x-amz-retry-after", "75")])
                : .json(200, converseAnswer)
        }
        defer { Task { await server.shutdown() } }
        let result = try await withClient(server) { try await $0.converse(helloRequest) }
        #expect(result.attempts.first?.waitBeforeNext == .milliseconds(75))
    }

    @Test("a connection reset is retried as a transport failure")
    func resetRetried() async throws {
        let server = try await ScriptedHTTPServer.start { _, n in n == 0 ? .reset : .json(200, converseAnswer) }
        defer { Task { await server.shutdown() } }
        let result = try await withClient(server) { try await $0.converse(helloRequest) }
        #expect(result.attempts.count == 2)
        #expect(result.attempts.first?.outcome == .transportError)
        #expect(result.attempts.first?.errorCode == "ConnectionReset")
        #expect(result.text == "Hello there")
    }

    @Test("a refused connection is a ConnectFailure, retried, then reported with all attempts")
    func connectionRefused() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in .stall }
        let port = server.port
        await server.shutdown()
        let configuration = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", endpoint: try BedrockEndpoint.parse("http://127.0.0.1:\(port)"),
            authorizer: UnsignedAuthorizer(), retry: fastRetry,
            timeouts: Timeouts(connect: .milliseconds(500)))
        let client = try BedrockRuntimeClient(configuration: configuration)
        let error = await bedrockError { _ = try await client.converse(helloRequest) }
        try await client.shutdown()
        #expect(error?.kind == .transport(.connectFailure))
        #expect(error?.isRetryable == true)
        #expect(error?.attempts.count == 3)
    }

    @Test("the retry quota runs out under a long outage, then calls fail at once")
    func retryQuotaExhaustion() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in .respond(status: 500, headers: [], body: []) }
        defer { Task { await server.shutdown() } }
        let retry = RetryConfiguration(maxAttempts: 2, throttlingBaseDelay: .zero, baseDelay: .zero)
        let (errors, left) = try await withClient(server, retry: retry) { client in
            var errors: [BedrockError] = []
            for _ in 0..<37 {
                if let e = await bedrockError({ _ = try await client.converse(helloRequest) }) { errors.append(e) }
            }
            return (errors, client.retryQuotaAvailable)
        }
        // 500 tokens / 14 per retry = 35 retries; the 36th call cannot pay for one.
        #expect(errors.count == 37)
        #expect(errors[34].attempts.count == 2)
        #expect(errors[35].attempts.count == 1)
        #expect(errors[35].retryReason == "retry quota exhausted")
        #expect(errors[35].isRetryable == false)
        #expect(left == 500 - 35 * 14)
    }

    @Test("the quota refunds a successful retry")
    func quotaRefund() async throws {
        let server = try await ScriptedHTTPServer.start { _, n in
            n == 0 ? .respond(status: 500, headers: [], body: []) : .json(200, converseAnswer)
        }
        defer { Task { await server.shutdown() } }
        let left = try await withClient(server) { client in
            _ = try await client.converse(helloRequest)
            return client.retryQuotaAvailable
        }
        #expect(left == 500)
    }

    @Test("a middleware can inject a fault without the request reaching the server")
    func middlewareInjectsThrottling() async throws {
        struct FirstAttemptThrottled: TransportMiddleware {
            func send(_ request: OutgoingRequest, next: any HTTPTransport) async throws -> IncomingResponse {
                if request.headers.first(name: "amz-sdk-request") == "attempt=1" {
                    return IncomingResponse(
                        status: 429, headers: ["x-amzn-ErrorType": "ThrottlingException"],
                        body: ResponseBody(bytes: ByteBuffer(string: #"{"message":"injected"}"#)))
                }
                return try await next.send(request)
            }
        }
        let server = try await ScriptedHTTPServer.start { _, _ in .json(200, converseAnswer) }
        defer { Task { await server.shutdown() } }
        let result = try await withClient(server, middlewares: [FirstAttemptThrottled()]) {
            try await $0.converse(helloRequest)
        }
        #expect(result.attempts.map(\.errorCode) == ["ThrottlingException", nil])
        #expect(server.requests.count == 1)
        #expect(server.requests.first?.header("amz-sdk-request") == "attempt=2; max=3")
    }

    @Test("AWS_MAX_ATTEMPTS and AWS_RETRY_MODE are applied, and bad values named")
    func retryEnvironment() throws {
        var c = try BedrockRuntimeClient.Configuration(region: "us-east-1", authorizer: UnsignedAuthorizer())
        try c.applyRetryEnvironment(["AWS_MAX_ATTEMPTS": "7", "AWS_RETRY_MODE": "adaptive"])
        #expect(c.retry.maxAttempts == 7)
        #expect(c.retry.mode == .adaptive)
        #expect(throws: BedrockError.self) { try c.applyRetryEnvironment(["AWS_MAX_ATTEMPTS": "zero"]) }
        do {
            try c.applyRetryEnvironment(["AWS_RETRY_MODE": "yolo"])
            Issue.record("bad retry mode accepted")
        } catch let e as BedrockError {
            #expect(e.message.contains("AWS_RETRY_MODE"))
        }
    }
}
