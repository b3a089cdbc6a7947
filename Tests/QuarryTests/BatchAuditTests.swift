import BedrockBatch
import BedrockEmulator
import EmulatorTestSupport
import Foundation
import HTTPTestSupport
import Testing

@testable import Quarry

/// Issue 21's attacker audit: a hostile service (a scripted loopback server) or a
/// script cannot get past the batch bindings' policy, paths and bounds.
@Suite struct BatchAuditTests {
    static let role = HostileBatchService.role

    /// Runs `source` in a host whose AWS target is `service`, and returns its value and
    /// the requests the service saw.
    static func run(_ service: HostileBatchService, policy: HostPolicy, _ source: String) async throws -> (
        LuaValue, [ReceivedRequest]
    ) {
        let server = try await service.start()
        let target = try QuarryTarget.aws(region: "us-east-1", environment: HostileBatchService.environment(server))
        let options = QuarryHost.Options(policy: policy, output: { _ in }, errorOutput: { _ in })
        let host = try await QuarryHost(target: target, options: options)
        let result: Result<LuaValue, any Error>
        do {
            result = .success(try await host.evaluate(source, name: "=audit").first ?? .nil)
        } catch {
            result = .failure(error)
        }
        await host.shutdown()
        await target.shutdown()
        let requests = server.requests
        await server.shutdown()
        return (try result.get(), requests)
    }

    static let allowed = HostPolicy(allowedBuckets: ["data/out"], allowedRoles: [role])

    /// Finding 4: on AWS with no allow flags, another job could be read and stopped.
    @Test("on AWS, bedrock.batch_job acts only on jobs whose role and output the policy allows")
    func otherJobsAreDeniedByDefault() async throws {
        let script = """
            local ok, e = pcall(bedrock.batch_job, {id = 'abc123'})
            if not ok then return e.code .. ': ' .. e.message end
            e:stop()
            return 'stopped ' .. e.name
            """
        let (denied, seen) = try await Self.run(HostileBatchService(), policy: HostPolicy(), script)
        #expect(
            denied.stringValue?.hasPrefix("PolicyViolation: bedrock.batch_job: job abc123 runs as role") == true,
            "\(denied)")
        #expect(seen.allSatisfy { $0.method == "GET" }, "\(seen.map(\.uri))")
        let (noBucket, seen2) = try await Self.run(
            HostileBatchService(), policy: HostPolicy(allowedRoles: [Self.role]), script)
        #expect(
            noBucket.stringValue?.contains("PolicyViolation: bedrock.batch_job: job abc123: bucket 'data'") == true,
            "\(noBucket)")
        #expect(seen2.allSatisfy { $0.method == "GET" })
        var elsewhere = HostileBatchService()
        elsewhere.output = "s3://data/secret/"
        let (otherFolder, _) = try await Self.run(elsewhere, policy: Self.allowed, script)
        #expect(otherFolder.stringValue?.hasPrefix("PolicyViolation") == true, "\(otherFolder)")
        // Allowed: fetched, checked, then stopped; the handle has the job's real name (finding 8).
        let (ok, seen3) = try await Self.run(HostileBatchService(), policy: Self.allowed, script)
        #expect(ok.stringValue == "stopped real-name", "\(ok)")
        #expect(seen3.map(\.method) == ["GET", "POST"], "\(seen3.map(\.uri))")
    }

    /// Finding 5: an unknown status looped until the deadline, and status text reached
    /// the terminal raw; finding 6: a whole access key id reached the script.
    @Test("an unknown status is an error naming it; server text is printable and key ids masked")
    func statusTextIsChecked() async throws {
        var odd = HostileBatchService()
        odd.status = "Pending\u{1b}]0;pwned\u{07}"
        let (r, _) = try await Self.run(
            odd, policy: Self.allowed,
            """
            local job = bedrock.batch_job{id = 'abc123'}
            local ok, e = pcall(job.status, job)
            if ok then return 'status ' .. e.status end
            return e.code .. ': ' .. e.message
            """)
        let text = r.stringValue ?? ""
        #expect(
            text.hasPrefix("InvalidResponse: job:status: the service gave job abc123 a status that is not"), "\(text)")
        #expect(text.contains("Pending\\u{1b}]0;pwned\\u{7}"), "\(text)")
        #expect(!text.contains("\u{1b}"))
        var chatty = HostileBatchService()
        chatty.message = "failed \u{1b}[2J for AKIACANARYKEY1234567 \u{9b}31m"
        let (m, _) = try await Self.run(
            chatty, policy: Self.allowed, "return bedrock.batch_job{id = 'abc123'}:status().message")
        let message = m.stringValue ?? ""
        #expect(message == "failed \\x1b[2J for AKIA…4567 \\u{9b}31m", "\(message)")
    }

    /// Finding 3: a key the listing names was fetched unchecked.
    @Test("listed keys outside the job's folder or with dot segments are refused before any GetObject")
    func listedKeysAreChecked() async throws {
        for key in [
            "out/abc123/../../secret/a.jsonl.out", "out/abc123/./a.jsonl.out", "out/abc123//a.jsonl.out",
            "secret/a.jsonl.out", "out/abc123/../\u{301}a.jsonl.out",
        ] {
            var service = HostileBatchService()
            service.keys = ["out/abc123/ok.jsonl.out", key]
            let (r, seen) = try await Self.run(
                service, policy: Self.allowed,
                """
                local job = bedrock.batch_job{id = 'abc123', output = 's3://data/out/'}
                local ok, e = pcall(function() for _ in job:results() do end end)
                return ok and 'read' or (e.code .. ': ' .. e.message)
                """)
            #expect(
                r.stringValue?.hasPrefix("InvalidResponse: job:results: the listing of s3://data/out/abc123/") == true,
                "\(key): \(r)")
            #expect(
                !seen.contains { $0.uri.hasPrefix("/data/") && !$0.uri.contains("list-type") },
                "\(key): \(seen.map(\.uri))")
        }
    }

    /// Finding 1, the listing: keys the service names were all held, across up to 1,000 pages.
    @Test("a listing of more objects than a job writes is refused, nothing read")
    func longListingsAreRefused() async throws {
        var service = HostileBatchService()
        service.keys = (0...BatchOutputReader.maxListedObjects).map { "out/abc123/k\($0).jsonl.out" }
        let (r, seen) = try await Self.run(
            service, policy: Self.allowed,
            """
            local job = bedrock.batch_job{id = 'abc123', output = 's3://data/out/'}
            local ok, e = pcall(function() for _ in job:results() do end end)
            return ok and 'read' or (e.code .. ': ' .. e.message)
            """)
        #expect(
            r.stringValue?.hasPrefix("LimitExceeded: job:results: s3://data/out/abc123/ lists more than") == true,
            "\(r)")
        #expect(!seen.contains { $0.uri.hasPrefix("/data/") && !$0.uri.contains("list-type") })
    }

    /// Findings 2 and 3: keys and rules compared as Swift Strings (canonical equivalence)
    /// and split on Characters.
    @Test("bucket rules and key segments are compared as UTF-8 bytes, as S3 compares them")
    func keysAreBytes() throws {
        #expect(!BatchKey.isPlain("out/../\u{301}x"))
        #expect(!BatchKey.isPlain("out/../\u{200D}x"))
        #expect(!BatchKey.isPlain("out/./\u{301}"))
        #expect(BatchKey.isPlain("out/\u{301}x/"))
        let kelvin = try BucketRule("data/Kout")
        #expect(kelvin.allows(try S3URI(bucket: "data", key: "Kout/x")))
        #expect(!kelvin.allows(try S3URI(bucket: "data", key: "\u{212A}out/x")))
        #expect(!kelvin.allows(try S3URI(bucket: "data", key: "\u{212A}out")))
        let nfc = try BucketRule("data/caf\u{E9}")
        #expect(nfc.allows(try S3URI(bucket: "data", key: "caf\u{E9}/x")))
        #expect(!nfc.allows(try S3URI(bucket: "data", key: "cafe\u{301}/x")))
        let policy = HostPolicy(allowedBuckets: ["data/Kout"], allowedRoles: [Self.role])
        #expect(throws: ScriptError.self) {
            try policy.checkBucket(try S3URI(uri: "s3://data/\u{212A}out/"), what: "output", emulator: false)
        }
    }

    /// Finding 8: a second job of the same name overwrote the first one's input.
    @Test("each submission's input has its own key: a job of the same name never overwrites another's")
    func inputKeysAreUnique() async throws {
        try await HostHarness.with(configuration: BatchTests.fast()) { h in
            let r = try await h.value(
                """
                \(BatchTests.records(100))
                local a = bedrock.batch{model = '\(haiku)', records = records, output = 's3://batch-out/dup/',
                                        role_arn = '\(BatchTests.role)', name = 'same'}
                local others = {}
                for i = 1, 100 do others[i] = {messages = 'other ' .. i, inference = {max_tokens = 16}} end
                local ok, e = pcall(bedrock.batch, {model = '\(haiku)', records = others, output = 's3://batch-out/dup/',
                                                    role_arn = '\(BatchTests.role)', name = 'same'})
                local final = a:wait{poll = 0.02}
                local n = 0
                for entry in a:results() do if entry.text then n = n + 1 end end
                return {conflict = not ok and e.code or 'none', status = final.status, n = n,
                        name = bedrock.batch_job{id = a.id}.name}
                """)
            #expect(r.field("conflict") == "ConflictException")
            #expect(r.field("status") == "Completed")
            #expect(r.field("n") == 100)
            #expect(r.field("name") == "same")
            let client = try h.target.makeBatchClient()
            let inputs = try await client.listAllObjects(bucket: "batch-out", prefix: "dup/quarry-input/")
            try await client.shutdown()
            #expect(inputs.count == 2, "\(inputs.map(\.key))")
            #expect(inputs.allSatisfy { $0.key.hasPrefix("dup/quarry-input/same-") && $0.key.hasSuffix(".jsonl") })
        }
    }

    /// Finding 1, in the host: entries are located without parsing; pages stop at the budget.
    @Test("the output index finds record ids without parsing, skipping nested values")
    func recordIdsAreFoundUnparsed() {
        func id(_ text: String) -> Int? { BatchOutputReader.recordIndex(Array(text.utf8)[...]) }
        #expect(id(#"{"recordId":"R00000007","modelOutput":{}}"#) == 6)
        #expect(id(#"{"modelOutput":{"recordId":"R00000001"},"recordId" : "R00000002"}"#) == 1)
        #expect(id(#"{"modelOutput":["recordId","R00000001"],"x":"\"recordId\":\"R00000003\""}"#) == nil)
        #expect(id(#"{"recordId":"R0000000x"}"#) == nil)
        #expect(id(#"{"recordId":"R\u0030000001"}"#) == nil)
        #expect(id(String(repeating: "[", count: 100_000)) == nil)
        let small = BatchOutputReader.estimatedLuaBytes(Array(#"{"a":"x,y,z"}"#.utf8)[...])
        let wide = BatchOutputReader.estimatedLuaBytes(
            Array(("[" + String(repeating: "0,", count: 1000) + "0]").utf8)[...])
        #expect(small < 300)
        #expect(wide >= 16 * 1000)
    }
}
