// `bedrock-emulator`: runs the Bedrock emulator standalone (for the interop suite and
// load tests) and prints one JSON line with its endpoint once it is listening.
//
//   bedrock-emulator [--config FILE] [--host H] [--port N] [--tls] [--ca-file PATH]
//                    [--latency-per-token-ms N] [--threads N] [--admin-token T]
//                    [--bearer-token T] [--quota-rpm N] [--quota-tpm N]
//                    [--idle-timeout-ms N] [--max-connections N] [--max-async-jobs N]
//                    [--allow-host NAME]
//
// SIGINT and SIGTERM stop it cleanly (its `--tls` CA file is removed).
import BedrockEmulator
import BedrockWire
import Dispatch
import Foundation

struct UsageError: Error, CustomStringConvertible {
    let description: String
}

func configuration(from arguments: [String]) throws -> EmulatorConfiguration {
    var configuration = EmulatorConfiguration()
    var iterator = arguments.makeIterator()
    func value(_ flag: String) throws -> String {
        guard let next = iterator.next() else { throw UsageError(description: "\(flag) needs a value") }
        return next
    }
    func number(_ flag: String, in range: ClosedRange<Int> = 0...Int(Int32.max)) throws -> Int {
        let text = try value(flag)
        guard let number = Int(text), range.contains(number) else {
            throw UsageError(
                description:
                    "\(flag) needs an integer between \(range.lowerBound) and \(range.upperBound), got '\(text)'")
        }
        return number
    }
    while let argument = iterator.next() {
        switch argument {
        case "--config": configuration = try EmulatorConfiguration(contentsOfFile: try value(argument))
        case "--host": configuration.host = try value(argument)
        case "--port": configuration.port = try number(argument)
        case "--tls": configuration.tls = true
        case "--ca-file": configuration.caCertificatePath = try value(argument)
        case "--latency-per-token-ms": configuration.latencyPerToken = .milliseconds(try number(argument))
        case "--threads": configuration.threads = try number(argument)
        case "--admin-token": configuration.adminToken = try value(argument)
        case "--bearer-token": configuration.bearerTokens.append(try value(argument))
        case "--quota-rpm": configuration.quotas.append(EmulatorQuota(requestsPerMinute: try number(argument)))
        case "--quota-tpm": configuration.quotas.append(EmulatorQuota(tokensPerMinute: try number(argument)))
        case "--idle-timeout-ms": configuration.idleTimeout = .milliseconds(try number(argument, in: 10...86_400_000))
        case "--max-connections": configuration.maxConnections = try number(argument, in: 1...65_536)
        case "--max-async-jobs": configuration.maxAsyncInvokeJobs = try number(argument, in: 1...1_000_000)
        case "--allow-host": configuration.allowedHosts.append(try value(argument))
        case "--help", "-h":
            print(
                "usage: bedrock-emulator [--config FILE] [--host H] [--port N] [--tls] [--ca-file PATH] [--latency-per-token-ms N] [--threads N] [--admin-token T] [--bearer-token T] [--quota-rpm N] [--quota-tpm N] [--idle-timeout-ms N] [--max-connections N] [--max-async-jobs N] [--allow-host NAME]"
            )
            exit(0)
        default: throw UsageError(description: "unknown argument '\(argument)' (try --help)")
        }
    }
    return configuration
}

do {
    let emulator = BedrockEmulator(configuration: try configuration(from: Array(CommandLine.arguments.dropFirst())))
    // Signals are taken before the endpoint line is printed, so a SIGTERM right after
    // it still stops cleanly (and removes the CA file).
    let (stops, stop) = AsyncStream.makeStream(of: Int32.self)
    var sources: [any DispatchSourceSignal] = []
    for number in [SIGINT, SIGTERM] {
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { @Sendable in stop.yield(number) }
        source.resume()
        sources.append(source)
    }

    let endpoint = try await emulator.start()
    var line: JSONValue = [
        "endpoint": .string(endpoint.url), "regions": .array(endpoint.regions.map(JSONValue.string)),
        "access_key_id": "test",
        "admin_token": .string(emulator.adminToken), "admin_header": "x-quarry-admin-token",
    ]
    if let ca = endpoint.caCertificatePath { line["ca_file"] = .string(ca) }
    FileHandle.standardOutput.write(Data(JSONWriter.canonical.bytes(line) + Array("\n".utf8)))
    for await _ in stops { break }
    await emulator.stop()
    sources.forEach { $0.cancel() }
    exit(0)
} catch {
    FileHandle.standardError.write(Data("bedrock-emulator: \(error)\n".utf8))
    exit(1)
}
