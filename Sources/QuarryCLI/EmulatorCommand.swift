import ArgumentParser
import BedrockEmulator
import Dispatch
import Foundation
import Synchronization

/// `quarry emulator [--port N] [--tls] [--config FILE]`: runs the local Bedrock
/// emulator in this process until SIGINT or SIGTERM, after printing how to reach it
/// (endpoint, regions, accepted key pairs, admin API, boto3 / AWS CLI settings).
struct EmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulator",
        abstract: "Run the local Bedrock emulator (Runtime, batch jobs, S3) until interrupted.",
        discussion: "Other quarry commands reach it with QUARRY_EMULATOR_URL=<endpoint> (printed at start).")

    /// The port used when neither --port nor the config file names one (not LocalStack's
    /// 4566, so both can run side by side).
    static let defaultPort = 7555
    /// How long a stop waits for open connections to finish before the process exits.
    static let stopGrace: Duration = .seconds(3)

    @Option(
        help:
            "Port to listen on (0 picks a free port). Default: 7555; with --config, the file's port (a free port when it names none)."
    )
    var port: Int?
    @Flag(help: "Serve HTTPS (HTTP/2 and HTTP/1.1 via ALPN) with a generated certificate; prints the CA file to trust.")
    var tls = false
    @Option(help: "A JSON emulator configuration file (regions, key pairs, quotas, latency…).")
    var config: String?

    func run() async throws {
        var configuration: EmulatorConfiguration
        if let config {
            do {
                configuration = try EmulatorConfiguration(contentsOfFile: config)
            } catch {
                Terminal.standardError("quarry: \(error)\n")
                throw ExitCode(2)
            }
        } else {
            configuration = EmulatorConfiguration()
            configuration.port = EmulatorCommand.defaultPort
        }
        if let port {
            guard (0...65535).contains(port) else {
                Terminal.standardError("quarry: --port must be 0…65535, got \(port)\n")
                throw ExitCode(2)
            }
            configuration.port = port
        }
        if tls { configuration.tls = true }

        // Take the signals before listening, so an early SIGTERM still stops cleanly.
        let stop = StopSignal()
        let emulator = BedrockEmulator(configuration: configuration)
        let endpoint: EmulatorEndpoint
        do {
            endpoint = try await emulator.start()
        } catch {
            Terminal.standardError("quarry: \(Self.describeStartFailure(error, configuration: configuration))\n")
            throw ExitCode(1)
        }
        Terminal.standardOutput(
            EmulatorBanner(
                endpoint: endpoint, configuration: configuration,
                adminToken: emulator.adminToken
            ).text)
        let signal = await stop.wait()
        Terminal.standardError("quarry: \(signal), stopping the emulator\n")
        // The CA file goes first: a client that keeps a connection open holds up the
        // stop, and the file must not outlive the process however it ends.
        if let ca = endpoint.caCertificatePath { unlink(ca) }
        let stopped = StopFlag()
        Task.detached {
            await emulator.stop(); stopped.set()
        }
        let deadline = ContinuousClock.now + Self.stopGrace
        while !stopped.isSet, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if !stopped.isSet {
            Terminal.standardError("quarry: connections still open after \(Self.stopGrace); exiting\n")
        }
        Terminal.standardOutput("Emulator stopped.\n")
    }
}

extension EmulatorCommand {
    /// Why the emulator could not start, in the user's terms: a port in use or not
    /// permitted says which and what to do, not the socket call's errno text.
    static func describeStartFailure(_ error: any Error, configuration: EmulatorConfiguration) -> String {
        let text = String(describing: error)
        let place = "\(configuration.host):\(configuration.port)"
        if text.contains("Address already in use") || text.contains("errno: 98") {
            return "cannot listen on \(place): the port is already in use by another program; "
                + "choose another with --port (0 picks a free one)"
        }
        if text.contains("Permission denied") || text.contains("errno: 13") {
            return
                "cannot listen on \(place): permission denied (ports below 1024 need privileges); choose another with --port"
        }
        if text.contains("Cannot assign requested address") || text.contains("errno: 99") {
            return "cannot listen on \(place): this machine has no such address; use 127.0.0.1 or ::1"
        }
        return "cannot start the emulator on \(place): \(text)"
    }
}

/// What `quarry emulator` prints once it listens: everything needed to point a
/// client at it. Secrets of configured key pairs are shown only for `test`/`test`
/// (a public convention); other pairs show their masked key id.
struct EmulatorBanner {
    let endpoint: EmulatorEndpoint
    let configuration: EmulatorConfiguration
    let adminToken: String

    var text: String {
        let region = endpoint.regions.first ?? "us-east-1"
        var keys: [String] = []
        for credential in configuration.credentials {
            if credential == .test {
                keys.append("test / test")
            } else {
                keys.append("\(credential.description) / (secret from the config file)")
            }
        }
        if !configuration.bearerTokens.isEmpty {
            keys.append("\(configuration.bearerTokens.count) bearer token(s) from the config file")
        }
        var lines = [
            "Bedrock emulator listening (Bedrock Runtime, batch inference jobs, S3)",
            "  endpoint:     \(endpoint.url)",
            "  regions:      \(endpoint.regions.joined(separator: ", ")) (the signed region selects one)",
            "  access keys:  \(keys.joined(separator: "; "))",
            "  admin API:    \(endpoint.url)/_quarry/ (header x-quarry-admin-token: \(adminToken))",
        ]
        if let ca = endpoint.caCertificatePath { lines.append("  CA file:      \(ca)") }
        lines += [
            "",
            "Point quarry at it (run, -e, the REPL, test and batch, in another terminal):",
            "  export \(HostOptions.emulatorURLVariable)=\(endpoint.url) \(HostOptions.emulatorTokenVariable)=\(adminToken)",
            "  (or pass --target emulator --endpoint \(endpoint.url) to each command)",
        ]
        if let ca = endpoint.caCertificatePath { lines.append("  export AWS_CA_BUNDLE=\(ca)") }
        lines += [
            "",
            "Point boto3 or the AWS CLI at it (Bedrock Runtime, Bedrock and S3 all answer here):",
            "  export AWS_ENDPOINT_URL=\(endpoint.url)",
            // Both: boto3 and the AWS CLI v1 read only AWS_DEFAULT_REGION, the CLI v2 and the
            // other SDKs AWS_REGION first.
            "  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=\(region) AWS_DEFAULT_REGION=\(region)",
        ]
        if let ca = endpoint.caCertificatePath { lines.append("  export AWS_CA_BUNDLE=\(ca)") }
        lines += [
            "  aws bedrock-runtime converse --endpoint-url \(endpoint.url) --region \(region) \\",
            "      --model-id anthropic.claude-3-haiku-20240307-v1:0 --messages '[{\"role\":\"user\",\"content\":[{\"text\":\"Hello\"}]}]'"
                + (endpoint.caCertificatePath.map { " --ca-bundle \($0)" } ?? ""),
            "  boto3.client(\"bedrock-runtime\", endpoint_url=\"\(endpoint.url)\", region_name=\"\(region)\","
                + " aws_access_key_id=\"test\", aws_secret_access_key=\"test\""
                + (endpoint.caCertificatePath.map { ", verify=\"\($0)\"" } ?? "") + ")",
            "",
            "Press Ctrl-C (or send SIGTERM) to stop.",
            "",
        ]
        return lines.joined(separator: "\n")
    }
}

/// Set once the emulator has stopped.
final class StopFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// Waits for SIGINT or SIGTERM (their default actions are turned off, so the process
/// can stop the emulator cleanly first).
final class StopSignal {
    private let sources: [any DispatchSourceSignal]
    private let stream: AsyncStream<String>

    init() {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        self.stream = stream
        var sources: [any DispatchSourceSignal] = []
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(name) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    /// The name of the first signal received.
    func wait() async -> String {
        for await name in stream { return name }
        return "end of signals"
    }

    deinit { sources.forEach { $0.cancel() } }
}
