import BedrockEmulator
import BedrockRuntime
import EmulatorTestSupport
import Foundation
import Synchronization
import Testing

@testable import Quarry

/// `bedrock.batch{…}` against the real emulator: a job's whole life from a script, the
/// checks made before anything is sent, and the bucket and role policy.
@Suite struct BatchTests {
    static let role = "arn:aws:iam::123456789012:role/BatchRole"

    /// An emulator whose jobs move on every `step`.
    static func fast(_ step: Duration = .milliseconds(10)) -> EmulatorConfiguration {
        var configuration = EmulatorConfiguration()
        configuration.batchStepDuration = step
        return configuration
    }

    static func records(_ n: Int) -> String {
        "local records = {} for i = 1, \(n) do records[i] = {messages = 'record ' .. i, inference = {max_tokens = 16}} end"
    }

    @Test("a script submits 1,000 records, waits with progress on stderr, and reads every result in input order")
    func thousandRecords() async throws {
        // Steps of 200 ms: each state lasts long enough for a 20 ms poll to see it, however
        // busy the machine (10 ms steps let a late poll jump from Submitted to Completed).
        try await HostHarness.with(configuration: Self.fast(.milliseconds(200))) { h in
            let r = try await h.value(
                """
                \(Self.records(1000))
                local job = bedrock.batch{model = '\(haiku)', records = records, output = 's3://batch-out/results/',
                                          role_arn = '\(Self.role)', name = 'thousand'}
                local final = job:wait{poll = 0.02}
                local n, ordered, texts = 0, true, 0
                for entry in job:results() do
                  n = n + 1
                  if entry.index ~= n or entry.record_id ~= string.format('R%08d', n) then ordered = false end
                  if entry.error then ordered = false end
                  if type(entry.text) == 'string' and #entry.text > 0 then texts = texts + 1 end
                end
                return {status = final.status, total = final.total, processed = final.processed, n = n,
                        ordered = ordered, texts = texts, id = job.id, name = job.name}
                """)
            #expect(r.field("status") == "Completed")
            #expect(r.field("total") == 1000)
            #expect(r.field("processed") == 1000)
            #expect(r.field("n") == 1000)
            #expect(r.field("ordered") == true)
            #expect(r.field("texts") == 1000)
            #expect(r.field("name") == "thousand")
            let id = try #require(r.field("id").stringValue)
            let progress = h.errors.text
            #expect(progress.contains("batch \(id): Completed 1000/1000 records"), "\(progress)")
            // Progress before the end: at least one earlier state was reported on its own line.
            let earlier = ["Submitted", "Validating", "Scheduled", "InProgress"].filter {
                progress.contains("batch \(id): \($0)")
            }
            #expect(!earlier.isEmpty, "\(progress)")
        }
    }

    @Test("records that fail keep their place: PartiallyCompleted, an error entry where each failed")
    func failedRecordsKeepTheirPlace() async throws {
        var configuration = Self.fast()
        configuration.responses = [
            ScriptedReply(contains: "poison", error: "ValidationException", message: "bad record")
        ]
        try await HostHarness.with(configuration: configuration) { h in
            let r = try await h.value(
                """
                local records = {}
                for i = 1, 100 do records[i] = {messages = (i % 10 == 0) and ('poison ' .. i) or ('fine ' .. i)} end
                local job = bedrock.batch{model = '\(haiku)', records = records, output = 's3://batch-out/mixed/',
                                          role_arn = '\(Self.role)'}
                local final = job:wait{poll = 0.02}
                local failed, ok, misplaced = 0, 0, 0
                for entry in job:results() do
                  if entry.error then
                    failed = failed + 1
                    if entry.index % 10 ~= 0 or not entry.error.message:find('bad record') then misplaced = misplaced + 1 end
                  else
                    ok = ok + 1
                  end
                end
                return {status = final.status, failed = failed, ok = ok, misplaced = misplaced, reported = final.failed}
                """)
            #expect(r.field("status") == "PartiallyCompleted")
            #expect(r.field("failed") == 10)
            #expect(r.field("ok") == 90)
            #expect(r.field("misplaced") == 0)
            #expect(r.field("reported") == 10)
            #expect(h.errors.text.contains("(10 failed)"), "\(h.errors.text)")
        }
    }

    @Test("native bodies, on_progress, job:stop, and an existing S3 input")
    func invokeFormatStopAndInput() async throws {
        try await HostHarness.with(configuration: Self.fast(.milliseconds(500))) { h in
            let r = try await h.value(
                """
                local records = {}
                for i = 1, 120 do
                  records[i] = {anthropic_version = 'bedrock-2023-05-31', max_tokens = 16,
                                messages = {{role = 'user', content = {{type = 'text', text = 'native ' .. i}}}}}
                end
                local seen = {}
                local job = bedrock.batch{model = '\(haiku)', records = records, format = 'invoke',
                                          output = 's3://batch-out/native/', input = 's3://batch-in/native/',
                                          role_arn = '\(Self.role)', on_progress = function(s) seen[#seen + 1] = s.status end}
                job:stop()
                local final = job:wait{poll = 0.05}
                return {status = final.status, seen = #seen}
                """)
            #expect(r.field("status") == "Stopped")
            #expect((r.field("seen").int ?? 0) >= 1)
            #expect(h.errors.text.isEmpty)
            // The same records again, now read from where the first job wrote them.
            let again = try await h.value(
                """
                local job = bedrock.batch{model = '\(haiku)', format = 'invoke', input = 's3://batch-in/native/',
                                          output = 's3://batch-out/again/', role_arn = '\(Self.role)'}
                local final = job:wait{poll = 0.05}
                local n = 0
                for entry in job:results() do n = n + 1 end
                return {status = final.status, n = n}
                """)
            #expect(again.field("status") == "Completed")
            #expect(again.field("n") == 120)
        }
    }

    @Test("below the service's minimum, bedrock.batch says so and offers map; nothing is sent")
    func belowMinimum() async throws {
        try await HostHarness.with(configuration: Self.fast()) { h in
            let before = h.emulator.requests.count
            let r = try await h.value(
                """
                \(Self.records(99))
                local ok, e = pcall(bedrock.batch, {model = '\(haiku)', records = records,
                                    output = 's3://batch-out/x/', role_arn = '\(Self.role)'})
                return {ok = ok, code = e.code, message = e.message}
                """)
            #expect(r.field("ok") == false)
            #expect(r.field("code") == "ValidationError")
            let message = r.field("message").stringValue ?? ""
            #expect(message.contains("99 records is below the minimum of 100 records per batch inference job"))
            #expect(message.contains("map(records"))
            #expect(h.emulator.requests.count == before)
        }
    }

    @Test("every number and option from the script is checked before anything is sent")
    func optionsAreChecked() async throws {
        try await HostHarness.with(configuration: Self.fast()) { h in
            let before = h.emulator.requests.count
            let r = try await h.value(
                """
                \(Self.records(100))
                local base = {model = '\(haiku)', records = records, output = 's3://batch-out/x/', role_arn = '\(Self.role)'}
                local function with(k, v) local t = {} for a, b in pairs(base) do t[a] = b end t[k] = v return t end
                local out = {}
                local function try(opts) local ok, e = pcall(bedrock.batch, opts) out[#out + 1] = ok and 'ok' or (e.code .. ': ' .. e.message) end
                for _, v in ipairs({0/0, 1/0, -1/0, 1e300, 2^63, 23, 169, 24.5, 'x'}) do try(with('timeout_hours', v)) end
                try(with('format', 'text'))
                try(with('output', 'https://example.com/x'))
                try(with('output', 's3://UPPER/x'))
                try(with('role_arn', 'arn:aws:iam::1:role/x'))
                try(with('name', 'bad name'))
                try(with('colour', 'red'))
                try(with('records', {'not a table'}))
                try(with('records', 'nope'))
                local nested = {} for i = 1, 100 do nested[i] = {messages = 'x', on_text = print} end
                try(with('records', nested))
                return out
                """)
            guard case .array(let items) = r else {
                Issue.record("no list: \(r)")
                return
            }
            #expect(items.count == 18)
            for item in items {
                #expect(item.stringValue?.hasPrefix("ValidationError: bedrock.batch") == true, "\(item)")
            }
            #expect(items[0].stringValue?.contains("'timeout_hours' must be a whole number between 24 and 168") == true)
            #expect(h.emulator.requests.count == before)
            // job:wait's poll is checked too (before any sleep).
            let poll = try await h.value(
                """
                \(Self.records(100))
                local job = bedrock.batch{model = '\(haiku)', records = records, output = 's3://batch-out/p/', role_arn = '\(Self.role)'}
                local out = {}
                for _, v in ipairs({0/0, 1/0, -1, 0, 1e300, 'x'}) do
                  local ok, e = pcall(job.wait, job, {poll = v})
                  out[#out + 1] = ok and 'ok' or e.code
                end
                pcall(job.stop, job)  -- it may have ended already
                return table.concat(out, ',')
                """)
            #expect(
                poll.stringValue
                    == "ValidationError,ValidationError,ValidationError,ValidationError,ValidationError,ValidationError"
            )
        }
    }

    @Test("bedrock.batch_job takes only a plain id or a job ARN, and checks its output folder before sending")
    func attachChecksItsInput() async throws {
        try await HostHarness.with(policy: HostPolicy(allowedBuckets: ["batch-out/ok"])) { h in
            let before = h.emulator.requests.count
            let r = try await h.value(
                """
                local out = {}
                local function try(opts) local ok, e = pcall(bedrock.batch_job, opts) out[#out + 1] = ok and 'ok' or e.code end
                try({id = '../../model-invocation-jobs'})
                try({id = 'abc/stop'})
                try({id = 'abc?x=1'})
                try({id = 'arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/../x'})
                try({id = string.rep('a', 65)})
                try({id = 'abcdefghij12', output = 's3://batch-out/elsewhere/'})
                try({id = 'abcdefghij12', output = 's3://batch-out/ok/../elsewhere/'})
                try({id = 'abcdefghij12', output = 's3://batch-out/ok/'})
                try({id = 'arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghij12'})
                return table.concat(out, ',')
                """)
            #expect(
                r.stringValue
                    == "ValidationError,ValidationError,ValidationError,ValidationError,ValidationError,PolicyViolation,PolicyViolation,ResourceNotFoundException,ResourceNotFoundException"
            )
            // Only the two well-formed, allowed handles looked the job up (it does not exist).
            #expect(h.emulator.requests.count == before + 2)
        }
    }

    @Test("bedrock.batch_job reads the job's own folder by default; a wrong 'output' is an error naming it")
    func attachedJobUsesItsOwnFolder() async throws {
        try await HostHarness.with(configuration: Self.fast()) { h in
            let r = try await h.value(
                """
                \(Self.records(100))
                local job = bedrock.batch{model = '\(haiku)', records = records, output = 's3://batch-out/own/',
                                          role_arn = '\(Self.role)'}
                job:wait{poll = 0.02}
                local n = 0
                for _ in bedrock.batch_job{id = job.id}:results() do n = n + 1 end
                local status = bedrock.batch_job{id = job.id}:status()
                local ok, e = pcall(bedrock.batch_job, {id = job.id, output = 's3://batch-out/wrong/'})
                return {n = n, output = status.output, ok = ok, code = e and e.code, message = e and e.message}
                """)
            #expect(r.field("n") == 100)
            #expect(r.field("output") == "s3://batch-out/own/")
            #expect(r.field("ok") == false)
            #expect(r.field("code") == "ValidationError")
            let message = r.field("message").stringValue ?? ""
            #expect(message.contains("writes its results to s3://batch-out/own/"), "\(message)")
        }
    }

    @Test("a job stopped before it wrote anything: job:results() says so from either handle")
    func stoppedJobWroteNothing() async throws {
        try await HostHarness.with(configuration: Self.fast(.milliseconds(500))) { h in
            let r = try await h.value(
                """
                \(Self.records(100))
                local job = bedrock.batch{model = '\(haiku)', records = records, output = 's3://batch-out/stopped/',
                                          role_arn = '\(Self.role)'}
                job:stop()
                local final = job:wait{poll = 0.05}
                local function read(j)
                  local ok, e = pcall(function() local n = 0 for _ in j:results() do n = n + 1 end return n end)
                  return ok and ('entries ' .. tostring(e)) or (e.code .. ': ' .. e.message)
                end
                return {status = final.status, submitted = read(job),
                        attached = read(bedrock.batch_job{id = job.id, output = 's3://batch-out/stopped/'}),
                        own = read(bedrock.batch_job{id = job.id})}
                """)
            #expect(r.field("status") == "Stopped")
            for key in ["submitted", "attached", "own"] {
                let text = r.field(key).stringValue ?? ""
                #expect(text.hasPrefix("NoResults: "), "\(key): \(text)")
                #expect(text.contains("was stopped before it wrote any results"), "\(key): \(text)")
            }
        }
    }

    @Test("job:wait polls every second on an emulator by default (a short job does not wait 30 s)")
    func waitDefaultPollOnTheEmulator() async throws {
        try await HostHarness.with(configuration: Self.fast(.milliseconds(200))) { h in
            let started = ContinuousClock.now
            let r = try await h.value(
                """
                \(Self.records(100))
                local job = bedrock.batch{model = '\(haiku)', records = records, output = 's3://batch-out/poll/',
                                          role_arn = '\(Self.role)'}
                return job:wait().status
                """)
            #expect(r == "Completed")
            // A 30 s default would take at least 30 s here; 1 s takes about the job's own second or two.
            #expect(ContinuousClock.now - started < .seconds(25))
        }
    }

    @Test("a job ARN from the service must be one: anything else is refused, never used in a path")
    func jobArnsAreNotTrusted() throws {
        #expect(
            try BatchBindings.jobId(fromArn: "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abcdefghij12")
                == "abcdefghij12")
        for hostile in [
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/../../evil",
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/a%2F..",
            "https://evil.example/model-invocation-job/abc",
            "arn:aws:s3:::bucket/model-invocation-job/abc",
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/",
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc?x=1",
            "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc/def",
        ] {
            #expect(throws: ScriptError.self, "\(hostile)") { _ = try BatchBindings.jobId(fromArn: hostile) }
        }
    }
}

/// The bucket and role policy on a target that is not the emulator (AWS settings, whose
/// endpoints point at an emulator on loopback): denied by default, before any request.
@Suite struct BatchPolicyTests {
    static let role = BatchTests.role

    static func withAWSTarget<T>(
        policy: HostPolicy, _ body: (BedrockEmulator, QuarryHost) async throws -> T
    ) async throws -> T {
        try await BedrockEmulator.withStarted(BatchTests.fast()) { emulator, endpoint in
            let environment = [
                "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": endpoint.url, "AWS_ENDPOINT_URL_BEDROCK": endpoint.url,
                "AWS_ENDPOINT_URL_S3": endpoint.url, "AWS_CONFIG_FILE": "/nonexistent/config",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
            ]
            let target = try QuarryTarget.aws(region: "us-east-1", environment: environment)
            #expect(!target.isEmulator)
            // The buckets exist beforehand, as they would on AWS.
            let setup = try target.makeBatchClient()
            _ = try await setup.createBucket("batch-in")
            _ = try await setup.createBucket("batch-out")
            try await setup.shutdown()
            let options = QuarryHost.Options(policy: policy, output: { _ in }, errorOutput: { _ in })
            let host = try await QuarryHost(target: target, options: options)
            do {
                let result = try await body(emulator, host)
                await host.shutdown()
                await target.shutdown()
                return result
            } catch {
                await host.shutdown()
                await target.shutdown()
                throw error
            }
        }
    }

    static func attempt(_ host: QuarryHost, output: String, input: String? = nil, role: String = role) async throws
        -> LuaValue
    {
        let inputField = input.map { "input = '\($0)'," } ?? ""
        return try await host.evaluate(
            """
            \(BatchTests.records(100))
            local ok, e = pcall(bedrock.batch, {model = '\(haiku)', records = records, \(inputField)
                                output = '\(output)', role_arn = '\(role)'})
            if ok then local s = e:wait{poll = 0.02} return 'ok ' .. s.status end
            return e.code .. ': ' .. e.message
            """, name: "=policy"
        ).first ?? .nil
    }

    @Test("on AWS, no bucket and no role is allowed until the host names them; refusals send nothing")
    func deniedByDefault() async throws {
        try await Self.withAWSTarget(policy: HostPolicy()) { emulator, host in
            let before = emulator.requests.count
            let r = try await Self.attempt(host, output: "s3://batch-out/results/")
            let text = r.stringValue ?? ""
            #expect(text.hasPrefix("PolicyViolation: role '\(Self.role)' is not allowed"), "\(text)")
            #expect(text.contains("--allow-role"))
            #expect(emulator.requests.count == before)
        }
        try await Self.withAWSTarget(policy: HostPolicy(allowedRoles: [Self.role])) { emulator, host in
            let before = emulator.requests.count
            let r = try await Self.attempt(host, output: "s3://batch-out/results/")
            #expect(r.stringValue?.hasPrefix("PolicyViolation: bucket 'batch-out'") == true, "\(r)")
            #expect(r.stringValue?.contains("--allow-bucket") == true)
            #expect(emulator.requests.count == before)
        }
    }

    @Test("allowed bucket prefixes are folders; dot segments and other roles are refused; allowed jobs run")
    func prefixesAndRoles() async throws {
        let policy = HostPolicy(allowedBuckets: ["batch-out/results"], allowedRoles: [Self.role])
        try await Self.withAWSTarget(policy: policy) { emulator, host in
            let before = emulator.requests.count
            for output in [
                "s3://batch-out/results-secret/", "s3://batch-out/other/", "s3://batch-in/results/",
                "s3://batch-out/results/../secret/", "s3://batch-out/results/./x/", "s3://batch-out/results//x/",
                "s3://batch-out/",
            ] {
                let r = try await Self.attempt(host, output: output)
                #expect(r.stringValue?.hasPrefix("PolicyViolation: bucket") == true, "\(output): \(r)")
            }
            let input = try await Self.attempt(host, output: "s3://batch-out/results/", input: "s3://batch-in/x/")
            #expect(input.stringValue?.hasPrefix("PolicyViolation: bucket 'batch-in'") == true, "\(input)")
            let otherRole = try await Self.attempt(
                host, output: "s3://batch-out/results/", role: "arn:aws:iam::123456789012:role/Other")
            #expect(otherRole.stringValue?.hasPrefix("PolicyViolation: role") == true)
            #expect(emulator.requests.count == before)
            let ok = try await Self.attempt(host, output: "s3://batch-out/results/run1/")
            #expect(ok.stringValue == "ok Completed", "\(ok)")
        }
    }

    @Test("the audit log records the job's object put, create, stop and result reads, each with its resource")
    func audited() async throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-batch-\(UUID()).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        let (emulator, endpoint) = try await BedrockEmulator.started(BatchTests.fast())
        let target = QuarryTarget.emulator(url: endpoint.url, adminToken: emulator.adminToken)
        var options = QuarryHost.Options(policy: .permissive, output: { _ in }, errorOutput: { _ in })
        options.audit = AuditLog(file: url)
        let host = try await QuarryHost(target: target, options: options)
        let r = try await host.evaluate(
            """
            \(BatchTests.records(100))
            local job = bedrock.batch{model = '\(haiku)', records = records, output = 's3://batch-out/a/', role_arn = '\(Self.role)'}
            job:wait{poll = 0.02}
            local n = 0
            for _ in job:results() do n = n + 1 end
            local stopped = pcall(job.stop, job)
            return n, job.id, stopped
            """, name: "@audit.lua")
        await host.shutdown()
        await target.shutdown()
        await emulator.stop()
        #expect(r.first == .integer(100))
        let id = try #require(r.dropFirst().first?.stringValue)
        let text = try String(contentsOf: url, encoding: .utf8)
        let records = try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let operations = records.map { ($0["operation"] as? String ?? "?", $0["resource"] as? String ?? "?") }
        #expect(
            operations.map(\.0) == [
                "PutObject", "CreateModelInvocationJob", "ListObjectsV2", "GetObject", "StopModelInvocationJob",
            ])
        #expect(operations[0].1.hasPrefix("s3://batch-out/a/quarry-input/"))
        #expect(operations[3].1 == "s3://batch-out/a/\(id)/\(operations[0].1.split(separator: "/").last ?? "").out")
        #expect(operations[4].1 == "job \(id)")
        #expect(records.last?["outcome"] as? String != "success")  // a finished job cannot be stopped
        #expect(records.allSatisfy { $0["endpoint_host"] as? String == "127.0.0.1" })
    }
    /// Counts the S3 operations a host's batch client sends.
    final class OperationCounter: TransportMiddleware {
        let seen = Mutex<[String]>([])
        func send(_ request: OutgoingRequest, next: any HTTPTransport) async throws -> IncomingResponse {
            seen.withLock { $0.append(request.operation) }
            return try await next.send(request)
        }
    }

    @Test("records whose JSONL passes the multipart threshold go up as a multipart upload, and the job runs")
    func largeRecordsGoMultipart() async throws {
        let (emulator, endpoint) = try await BedrockEmulator.started(BatchTests.fast())
        let counter = OperationCounter()
        // A 1 KiB threshold (botocore's is 8 MiB; the emulator reads at most 8 MiB per job).
        let target = QuarryTarget.emulator(url: endpoint.url, adminToken: emulator.adminToken, middlewares: [counter])
            .withBatchTransfer(try S3TransferConfiguration(multipartThreshold: 1024))
        let host = try await QuarryHost(
            target: target, options: QuarryHost.Options(policy: .permissive, output: { _ in }, errorOutput: { _ in }))
        let r = try await host.evaluate(
            """
            \(BatchTests.records(100))
            local job = bedrock.batch{model = '\(haiku)', records = records, output = 's3://batch-out/big/',
                                      role_arn = '\(Self.role)'}
            local final = job:wait{poll = 0.02}
            local n, errors = 0, 0
            for entry in job:results() do
              n = n + 1
              if entry.error or entry.index ~= n then errors = errors + 1 end
            end
            return final.status, n, errors
            """, name: "@multipart.lua")
        await host.shutdown()
        await target.shutdown()
        await emulator.stop()
        #expect(r == [.string("Completed"), .integer(100), .integer(0)])
        let operations = counter.seen.withLock { $0 }
        #expect(!operations.contains("PutObject"), "\(operations)")
        #expect(operations.filter { $0 == "CreateMultipartUpload" }.count == 1)
        #expect(operations.filter { $0 == "UploadPart" }.count == 1)  // well under one 8 MiB part
        #expect(operations.filter { $0 == "CompleteMultipartUpload" }.count == 1)
    }
}
