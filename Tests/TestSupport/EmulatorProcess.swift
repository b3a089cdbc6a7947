import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A `bedrock-emulator` process (the built executable) started for one test on a free
/// loopback port with one thread and a known admin token; stopped with SIGTERM by
/// `stop()` or when released.
public final class EmulatorProcess {
    public let process = Process()
    /// The endpoint it printed (`http://127.0.0.1:PORT` or `https://…`).
    public let endpoint: String
    public let port: Int
    public let adminToken = "hostile-test-admin"
    /// The generated CA certificate's file with `--tls`.
    public let caFile: String?

    /// An emulator did not start, with what it printed.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts `bedrock-emulator --port 0 --threads 1 --admin-token … arguments` and
    /// waits for the JSON line it prints once it listens.
    public init(_ arguments: [String] = []) throws {
        process.executableURL = BuiltProduct.executable("bedrock-emulator")
        process.arguments = ["--port", "0", "--threads", "1", "--admin-token", adminToken] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw Failure(description: "bedrock-emulator exited before listening") }
            line += chunk
        }
        guard let object = try JSONSerialization.jsonObject(with: line) as? [String: Any],
            let endpoint = object["endpoint"] as? String, let port = URL(string: endpoint)?.port
        else {
            throw Failure(description: "bedrock-emulator printed no endpoint: \(String(decoding: line, as: UTF8.self))")
        }
        self.endpoint = endpoint
        self.port = port
        self.caFile = object["ca_file"] as? String
    }

    public var pid: Int32 { process.processIdentifier }

    /// Stops it with SIGTERM and waits.
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    deinit { stop() }
}
