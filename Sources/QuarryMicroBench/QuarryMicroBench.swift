// Quarry's micro benchmarks (issue 11): a plain harness with warm-up, a fixed measuring
// window, and per-operation percentiles from batches. Run in release mode:
//
//   swift run -c release QuarryMicroBench [--only NAME[,NAME]] [--seconds S]
//                                         [--events N] [--chunk BYTES] [--endpoint URL]
//
// NAME is one of sigv4, eventstream, lua, client. `--endpoint` adds client calls over
// HTTP to a server that answers Converse (BenchStaticServer).
import Foundation

@main
struct QuarryMicroBench {
    static func main() async throws {
        var only: Set<String> = ["sigv4", "eventstream", "lua", "client"]
        var harness = Harness()
        var deltas = 200_000
        var chunkSize = 16 * 1024
        var endpoint: String?
        var arguments = CommandLine.arguments.dropFirst()
        func fail(_ message: String) -> Never {
            FileHandle.standardError.write(
                Data(
                    (message
                        + "\nusage: QuarryMicroBench [--only sigv4,eventstream,lua,client] [--seconds S] [--events N] [--chunk BYTES] [--endpoint URL]\n")
                        .utf8))
            exit(2)
        }
        while let flag = arguments.popFirst() {
            guard let value = arguments.popFirst() else { fail("\(flag) needs a value") }
            switch flag {
            case "--only": only = Set(value.split(separator: ",").map(String.init))
            case "--seconds":
                guard let s = Double(value), s > 0 else { fail("--seconds needs a positive number") }
                harness.window = .milliseconds(Int(s * 1000))
            case "--events":
                guard let n = Int(value), n > 0 else { fail("--events needs a positive integer") }
                deltas = n
            case "--chunk":
                guard let n = Int(value), n > 0 else { fail("--chunk needs a positive integer") }
                chunkSize = n
            case "--endpoint": endpoint = value
            default: fail("unknown option \(flag)")
            }
        }
        print(
            "Quarry micro benchmarks: \(ProcessInfo.processInfo.activeProcessorCount) cores; warm-up \(harness.warmUp), window \(harness.window)"
        )
        func report(_ results: [BenchResult]) {
            for r in results { print(r.line) }
        }
        if only.contains("sigv4") { report(try SigningBench.run(harness)) }
        if only.contains("eventstream") {
            report(try EventStreamDecodeBench.run(harness, deltas: deltas, chunkSize: chunkSize))
        }
        if only.contains("lua") { report(try LuaConversionBench.run(harness)) }
        if only.contains("client") { report(try await ClientCallBench.run(harness, endpoint: endpoint)) }
    }
}
