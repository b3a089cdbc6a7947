// The model catalogue lives in BedrockWire (the host lists it for AWS targets too);
// re-exported so every file here and every user of the emulator sees it as before.
@_exported import BedrockWire
import Foundation
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// Where a running emulator listens and how to reach it.
public struct EmulatorEndpoint: Sendable, Equatable, CustomStringConvertible {
    /// The base URL, e.g. `http://127.0.0.1:7555`.
    public let url: String
    /// The bound host.
    public let host: String
    /// The bound port.
    public let port: Int
    /// Whether it serves HTTPS.
    public let tls: Bool
    /// The CA certificate file to trust, when `tls` is on.
    public let caCertificatePath: String?
    /// The regions served (the first is the default).
    public let regions: [String]

    public var description: String { url }
}

/// A local Bedrock Runtime: a real HTTP server on loopback that verifies SigV4,
/// serves deterministic models for every bedrock-runtime operation, enforces quotas
/// and injects faults — so SDKs and Quarry scripts can run offline.
///
/// ```swift
/// let emulator = BedrockEmulator()
/// let endpoint = try await emulator.start()   // http://127.0.0.1:PORT, keys test/test
/// try emulator.addFault(FaultRule(operation: "Converse", times: 1, error: "ThrottlingException"))
/// await emulator.stop()
/// ```
public final class BedrockEmulator: Sendable {
    /// The configuration it was created with.
    public let configuration: EmulatorConfiguration
    /// The token the admin API (`/_quarry/…`) requires in `x-quarry-admin-token`.
    public let adminToken: String
    let service: EmulatorService
    private let logger: Logger
    private struct Running: Sendable {
        var server: HTTPServer
        var task: Task<Void, Never>
        var channel: any Channel
        var endpoint: EmulatorEndpoint
    }
    private let state = Mutex<Running?>(nil)

    /// An emulator with the given configuration (not yet listening).
    public init(
        configuration: EmulatorConfiguration = EmulatorConfiguration(),
        logger: Logger = Logger(label: "quarry.emulator")
    ) {
        self.configuration = configuration
        // An empty token would let anyone in: it is treated as absent, and an absent one is random.
        self.adminToken = configuration.adminToken.flatMap { $0.isEmpty ? nil : $0 } ?? Self.randomToken()
        self.service = EmulatorService(configuration: configuration, adminToken: adminToken)
        self.logger = logger
    }

    /// 32 random bytes from the system generator, as hex.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Starts listening and returns the bound endpoint.
    @discardableResult
    public func start() async throws -> EmulatorEndpoint {
        if let endpoint = state.withLock({ $0?.endpoint }) { return endpoint }
        guard !configuration.regions.isEmpty else { throw EmulatorStartError("at least one region is required") }
        guard !configuration.credentials.isEmpty || !configuration.bearerTokens.isEmpty else {
            throw EmulatorStartError("at least one key pair or bearer token is required")
        }
        var tlsContext: NIOSSLContext?
        var caPath: String?
        if configuration.tls {
            var hosts = ["localhost", "127.0.0.1", "::1"]
            if !hosts.contains(HostCheck.normalise(configuration.host)) { hosts.append(configuration.host) }
            let certificate = try SelfSignedCertificate.generate(hosts: hosts)
            // Written privately (0600) and never through a planted link: a new file with
            // O_EXCL in the temporary directory, or mkstemp + rename at a chosen path.
            // Removed again by `stop()`.
            let path: String
            do throws(PrivateFile.WriteError) {
                if let chosen = configuration.caCertificatePath {
                    path = chosen
                    try PrivateFile.replace(chosen, contents: Array(certificate.caPEM.utf8), mode: 0o600)
                } else {
                    path =
                        FileManager.default.temporaryDirectory
                        .appendingPathComponent("quarry-emulator-ca-\(UUID().uuidString.lowercased()).pem").path
                    try PrivateFile.createNew(path, contents: Array(certificate.caPEM.utf8), mode: 0o600)
                }
            } catch {
                throw EmulatorStartError("cannot write the CA certificate: \(error)")
            }
            caPath = path
            tlsContext = try certificate.context(applicationProtocols: ["h2", "http/1.1"])
        }
        let server = HTTPServer(service: service, tls: tlsContext, threads: configuration.threads, logger: logger)
        let bound: (port: Int, task: Task<Void, Never>, channel: any Channel)
        do {
            bound = try await server.start(host: configuration.host, port: configuration.port)
        } catch {
            await server.shutdown()
            if let caPath { unlink(caPath) }
            throw EmulatorStartError("cannot listen on \(configuration.host):\(configuration.port): \(error)")
        }
        let scheme = configuration.tls ? "https" : "http"
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        let endpoint = EmulatorEndpoint(
            url: "\(scheme)://\(host):\(bound.port)", host: configuration.host, port: bound.port,
            tls: configuration.tls, caCertificatePath: caPath, regions: configuration.regions)
        state.withLock { $0 = Running(server: server, task: bound.task, channel: bound.channel, endpoint: endpoint) }
        logger.info("Bedrock emulator listening on \(endpoint.url)")
        return endpoint
    }

    /// Stops listening, closes every connection and frees the threads.
    public func stop() async {
        guard
            let running = state.withLock({ current -> Running? in
                defer { current = nil }
                return current
            })
        else { return }
        // Closing the listener finishes its stream of accepted connections; the serving
        // task drains what was already accepted (each connection must be run or closed —
        // NIO traps on an async channel dropped unrun) and then cancels the open ones.
        // Cancelling the task here instead would drop those buffered connections.
        try? await running.channel.close()
        await running.task.value
        await running.server.shutdown()
        service.batchJobs.shutdown()
        if let ca = running.endpoint.caCertificatePath { unlink(ca) }
    }

    /// The endpoint while running.
    public var endpoint: EmulatorEndpoint? { state.withLock { $0?.endpoint } }

    /// The models it serves.
    public var models: [ModelDescriptor] { configuration.catalog.models }

    // MARK: Faults (the same rules as the admin API)

    /// Adds a fault rule; returns its id.
    @discardableResult
    public func addFault(_ rule: FaultRule) throws(FaultRuleError) -> String { try service.faults.add(rule) }

    /// Removes one rule; `false` when no rule has that id.
    @discardableResult
    public func removeFault(id: String) -> Bool { service.faults.remove(id: id) }

    /// Removes every rule.
    public func clearFaults() { service.faults.clear() }

    /// The rules still active, with their hit counts.
    public var faults: [ActiveFault] { service.faults.active }

    // MARK: Scripted replies (the same as the admin API's `responses`)

    /// Adds a scripted reply; returns its id.
    @discardableResult
    public func addResponse(_ reply: ScriptedReply) throws(FaultRuleError) -> String { try service.replies.add(reply) }

    /// Removes every scripted reply.
    public func clearResponses() { service.replies.clear() }

    /// The scripted replies in force, with their hit counts.
    public var responses: [ActiveReply] { service.replies.active }

    // MARK: What it saw

    /// The most recent requests, oldest first.
    public var requests: [RecordedRequest] { service.log.all }

    /// Forgets the recorded requests.
    public func clearRequests() { service.log.clear() }
}

/// Why the emulator could not start.
public struct EmulatorStartError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public let message: String
    init(_ message: String) { self.message = message }
    public var description: String { "emulator failed to start: \(message)" }
}
