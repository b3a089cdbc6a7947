import Foundation
import Testing

/// The embedding guide's example app, built and run as a user would run it.
@Suite struct ExampleHostTests {
    @Test func theAppsToolAndTheBedrockAPIWorkTogether() throws {
        let r = try QuarryProcess.run([], environment: HostCLITests.noAWS, executable: "ExampleHost")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("QX-100: Quarry hammer, 24.50 EUR, in stock"))
        #expect(r.stdout.contains("QX-200: Stone chisel set, 39.00 EUR, sold out"))
        #expect(r.stdout.contains("QX-999: UnknownProduct"))
        #expect(r.stdout.contains("script returned: {\"blurb\":"))
        #expect(r.stdout.contains("\"calls_used\":1"))
        // Typed results, isolation between runs and the event sequence.
        #expect(r.stdout.contains("typed result: "))
        #expect(r.stdout.contains("isolation: the next script starts clean: true"))
        #expect(r.stdout.contains("events: output callStarted text status callEnded finished"), "\(r.stdout)")
        #expect(!r.stdout.contains("streamed: 0 characters"))
    }

    @Test func theAppsPolicyBindsUserScripts() throws {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("user-\(UUID().uuidString).lua")
        try """
        local ok, e = pcall(bedrock.converse, {model='meta.llama3-8b-instruct-v1:0', messages='x'})
        print(e.code)
        local item = shop.lookup(arg[1])
        return {name = item.name, code = e.code}
        """.write(to: script, atomically: true, encoding: .utf8)
        let r = try QuarryProcess.run(
            [script.path, "QX-300"], environment: HostCLITests.noAWS, executable: "ExampleHost")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("PolicyViolation"))
        #expect(r.stdout.contains("\"name\":\"Safety goggles\""))
        #expect(r.stdout.contains("\"calls_used\":0"))
    }
}
