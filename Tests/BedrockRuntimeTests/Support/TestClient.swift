import Foundation
import HTTPTestSupport

@testable import BedrockRuntime

/// Fast retry settings for tests: the same rules as the default, with millisecond bases.
let fastRetry = RetryConfiguration(
    maxAttempts: 3, throttlingBaseDelay: .milliseconds(20), baseDelay: .milliseconds(5),
    maxBackoff: .milliseconds(200))

/// Runs `body` with a client pointed at `server`, and shuts the client down after.
/// Jitter is fixed at its maximum (random = 1) so waits are exact.
func withClient<T>(
    _ server: ScriptedHTTPServer, retry: RetryConfiguration = fastRetry,
    timeouts: Timeouts = Timeouts(
        connect: .seconds(10), firstByte: .seconds(30), idle: .seconds(30), total: .seconds(90)),
    limits: ResponseLimits = .default,
    middlewares: [any TransportMiddleware] = [], streamRetry: StreamRetryPolicy = .failWithPartialResult,
    _ body: (BedrockRuntimeClient) async throws -> T
) async throws -> T {
    let configuration = try BedrockRuntimeClient.Configuration(
        region: "us-east-1", endpoint: try BedrockEndpoint.parse(server.endpoint), authorizer: UnsignedAuthorizer(),
        retry: retry, timeouts: timeouts, limits: limits, middlewares: middlewares, streamRetry: streamRetry)
    let client = try BedrockRuntimeClient(
        configuration: configuration, now: { Date() },
        invocationId: { UUID().uuidString.lowercased() }, random: { 1.0 })
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}

/// Runs `body` and returns the `BedrockError` it throws (nil when it throws nothing
/// or something else).
func bedrockError(_ body: () async throws -> Void) async -> BedrockError? {
    do {
        try await body()
        return nil
    } catch let e as BedrockError {
        return e
    } catch {
        return nil
    }
}

let converseAnswer = """
    {"output":{"message":{"role":"assistant","content":[{"text":"Hello"},{"text":" there"},{"toolUse":{"toolUseId":"t1","name":"get_weather","input":{"city":"Paris","days":2}}},{"someNewBlock":{"x":1}}]}},"stopReason":"tool_use","usage":{"inputTokens":12,"outputTokens":5,"totalTokens":17},"metrics":{"latencyMs":321},"additionalModelResponseFields":{"stop_sequence":null}}
    """

let helloRequest = ConverseRequest(
    modelId: "anthropic.claude-3-haiku-20240307-v1:0", messages: [.user("Hello, Claude")])
