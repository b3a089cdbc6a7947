import BedrockRuntime
import BedrockWire
import Foundation
import NIOCore
import NIOHTTP1

/// A transport that answers every request with the same Converse JSON, in memory: what
/// remains is the client's own work per call (build the JSON body, sign, pipeline,
/// decode the answer).
struct FixedConverseTransport: HTTPTransport {
    let body = ByteBuffer(string: TypicalConverse.responseJSON)
    func send(_ request: OutgoingRequest) async throws -> IncomingResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "x-amzn-RequestId", value: "00000000-0000-4000-8000-000000000000")
        return IncomingResponse(status: 200, headers: headers, body: ResponseBody(bytes: body))
    }
}

/// `BedrockRuntimeClient.converse` per call: in memory (client CPU alone) and, when an
/// endpoint is given, over HTTP to it (CPU of this process per request, and latency).
enum ClientCallBench {
    static let request = ConverseRequest(
        modelId: TypicalConverse.modelId,
        messages: [
            .user(
                "Summarise the following paragraph in one sentence: the quick brown fox jumps over the lazy dog while the cat watches from the fence."
            )
        ],
        system: [.text("You are a concise assistant.")],
        inferenceConfig: InferenceConfiguration(maxTokens: 512, temperature: 0.5))

    static func client(endpoint: String?) throws -> BedrockRuntimeClient {
        let authorizer = SigV4Authorizer(region: "us-east-1", credentials: TypicalConverse.credentials)
        let configuration = try BedrockRuntimeClient.Configuration(
            region: "us-east-1",
            endpoint: try BedrockEndpoint.parse(endpoint ?? "http://127.0.0.1:9"),
            authorizer: authorizer,
            transport: endpoint == nil ? FixedConverseTransport() : nil)
        return try BedrockRuntimeClient(configuration: configuration)
    }

    static func run(_ harness: Harness, endpoint: String?) async throws -> [BenchResult] {
        var results: [BenchResult] = []
        let memory = try client(endpoint: nil)
        results.append(try await measure(harness, memory, name: "client.converse (in-memory transport)"))
        try await memory.shutdown()
        if let endpoint {
            let http = try client(endpoint: endpoint)
            results.append(try await measure(harness, http, name: "client.converse (HTTP, static server)"))
            try await http.shutdown()
        }
        return results
    }

    static func measure(_ harness: Harness, _ client: BedrockRuntimeClient, name: String) async throws -> BenchResult {
        let batch = 50
        let cpuBefore = processCPUNanoseconds()
        var result = try await harness.measureAsync(name, batch: batch) {
            for _ in 0..<batch {
                let answer = try await client.converse(request)
                blackHole(answer)
            }
        }
        let cpu = processCPUNanoseconds() - cpuBefore
        // CPU includes the warm-up calls; count them in by rate.
        let warmCalls =
            Double(result.operations) * Harness.nanoseconds(harness.warmUp) / Harness.nanoseconds(harness.window)
        result.notes.append(String(format: "CPU %.3f ms/request", cpu / 1e6 / (Double(result.operations) + warmCalls)))
        return result
    }
}
