import AsyncHTTPClient
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
/// endpoint is given, over HTTP to it (CPU of this process per request, and latency),
/// one at a time and 32 in flight, next to the same POST made with AsyncHTTPClient alone
/// (`BareTransport`): the floor any client built on it pays, so what the client adds
/// over the library shows.
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

    /// Calls kept in flight by the concurrent rows (as `converse_conc.lua` does).
    static let inFlight = 32

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
        results.append(
            try await measure(harness, name: "client.converse (in-memory transport)") {
                blackHole(try await memory.converse(request))
            })
        try await memory.shutdown()
        guard let endpoint else { return results }
        let http = try client(endpoint: endpoint)
        let converse: @Sendable () async throws -> Void = { blackHole(try await http.converse(request)) }
        results.append(try await measure(harness, name: "client.converse (HTTP, static server)", converse))
        results.append(
            try await measure(harness, name: "client.converse (HTTP, 32 in flight)", inFlight: inFlight, converse))
        try await http.shutdown()
        let bare = try BareTransport(endpoint: endpoint, body: try converseBody())
        let post: @Sendable () async throws -> Void = { blackHole(try await bare.post()) }
        results.append(try await measure(harness, name: "bare AsyncHTTPClient POST", post))
        results.append(
            try await measure(harness, name: "bare AsyncHTTPClient POST, event loop", onEventLoop: true, post))
        results.append(
            try await measure(harness, name: "bare AsyncHTTPClient POST, 32 in flight", inFlight: inFlight, post))
        try await bare.shutdown()
        return results
    }

    /// The body `client.converse(request)` sends.
    static func converseBody() throws -> [UInt8] {
        try OperationRequest.json(
            name: "Converse", path: BareTransport.path, tree: EncodedConverseRequest(request).json,
            excluding: ["modelId"]
        ).body
    }

    /// Runs `call` repeatedly (`inFlight` at a time) and notes this process's CPU per
    /// call; `onEventLoop` runs it from an event loop of the transport's group (the
    /// library's floor with no thread hop; otherwise from Swift's pool, as `quarry run`
    /// makes its calls).
    static func measure(
        _ harness: Harness, name: String, inFlight: Int = 1, onEventLoop: Bool = false,
        _ call: @escaping @Sendable () async throws -> Void
    ) async throws -> BenchResult {
        let perTask = inFlight == 1 ? 50 : 4
        let batch = inFlight * perTask
        let cpuBefore = processCPUNanoseconds()
        var result = try await withTaskExecutorPreference(onEventLoop ? EventLoopTaskExecutor.next() : nil) {
            try await harness.measureAsync(name, batch: batch) {
                if inFlight == 1 {
                    for _ in 0..<batch { try await call() }
                    return
                }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<inFlight { group.addTask { for _ in 0..<perTask { try await call() } } }
                    try await group.waitForAll()
                }
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

/// The same Converse POST with AsyncHTTPClient alone, configured as the client's
/// transport configures it (`AsyncHTTPClientTransport.clientConfiguration`), on the same
/// event loop group: a fixed body and headers, no signing, no JSON, no retries or
/// watchdogs; the answer's body is read whole.
final class BareTransport: Sendable {
    static let path = "/model/" + TypicalConverse.modelId.replacingOccurrences(of: ":", with: "%3A") + "/converse"

    private let client: HTTPClient
    private let url: String
    private let body: ByteBuffer

    init(endpoint: String, body: [UInt8]) throws {
        let configuration = try AsyncHTTPClientTransport.clientConfiguration(
            tls: TLSSettings(), proxy: nil, connectTimeout: .seconds(10))
        client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        url = (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + Self.path
        self.body = ByteBuffer(bytes: body)
    }

    /// One POST; returns the answer's body (its size checked against 1 MiB).
    func post() async throws -> ByteBuffer {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        let response = try await client.execute(request, timeout: .hours(24))
        guard response.status == .ok else { throw BedrockError.invalidResponse("status \(response.status.code)") }
        return try await response.body.collect(upTo: 1 << 20)
    }

    func shutdown() async throws { try await client.shutdown() }
}
