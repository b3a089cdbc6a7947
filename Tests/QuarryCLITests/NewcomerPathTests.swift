import Foundation
import Testing

/// Issue 18: a newcomer's path through the real `quarry` binary — bytes are bytes (§2),
/// errors a user can act on (§3), the CLI and the emulator (§7).
@Suite struct NewcomerPathTests {
    struct ByteResult {
        var status: Int32
        var stdout: Data
        var stderrBytes: Data
        var stderr: String { String(decoding: stderrBytes, as: UTF8.self) }
    }

    /// Runs `quarry` with `stdin` as raw bytes and keeps its standard output as bytes;
    /// a process still running after `seconds` is ended (a command that should have
    /// refused to start must not hang the suite).
    static func run(
        _ arguments: [String], stdin: Data = Data(), environment: [String: String]? = nil,
        seconds: Double = 120
    ) throws -> ByteResult {
        let process = Process()
        process.executableURL = QuarryProcess.binary
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: watchdog)
        defer { watchdog.cancel() }
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ByteResult(status: process.terminationStatus, stdout: o, stderrBytes: e)
    }

    static func script(_ body: String, name: String = "script") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-newcomer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("\(name).lua").path
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The SHA-256 of `data` in lowercase hex, by the system's `sha256sum`.
    static func sha256(_ data: Data) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let out = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(data)
        try input.fileHandleForWriting.close()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return String(text.prefix(64))
    }

    static let invalidUTF8 = Data([0xFF, 0x00, 0x61, 0x62, 0xC3])

    // MARK: §2 bytes are bytes

    @Test func stdinReadAllCountsBytesNotRepairedCharacters() throws {
        let path = try Self.script(#"print(#stdin.read("a"))"#, name: "rd")
        let result = try Self.run(["run", "--quiet", path], stdin: Self.invalidUTF8)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(String(decoding: result.stdout, as: UTF8.self) == "5\n")
    }

    @Test func printWriteStderrAndLinesPassBytesUnchanged() throws {
        let path = try Self.script(
            #"""
            local lines = {}
            for line in stdin.lines() do lines[#lines + 1] = line end
            write(lines[1]); print(lines[2]); stderr.write("<", lines[1], ">")
            print(#lines[1], #lines[2])
            """#)
        var input = Self.invalidUTF8
        input.append(0x0A)
        input.append(contentsOf: [0xFE, 0x80, 0x0A])
        let result = try Self.run(["run", "--quiet", path], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        var expected = Self.invalidUTF8
        expected.append(contentsOf: [0xFE, 0x80, 0x0A])
        expected.append(contentsOf: Array("5\t2\n".utf8))
        #expect(result.stdout == expected)
        var between = Data("<".utf8)
        between.append(Self.invalidUTF8)
        between.append(Data(">".utf8))
        #expect(result.stderrBytes == between)
        let stderrBytes = try Self.run(["run", "--quiet", try Self.script(#"stderr.write("\xff\x00")"#)])
        #expect(stderrBytes.stdout.isEmpty)
        #expect(stderrBytes.stderrBytes == Data([0xFF, 0x00]))
    }

    @Test func base64EncodesAndDecodesBytes() throws {
        let path = try Self.script(
            #"""
            print(base64.encode("\xff\x00ab\xc3"), #base64.decode("/wBhYsM="), base64.decode("/wBhYsM=") == "\xff\x00ab\xc3")
            local ok, e = pcall(base64.decode, "not base64!")
            print(ok, e.code)
            local ok2, e2 = pcall(base64.encode, 5)
            print(ok2, e2.code, e2.message)
            """#)
        let result = try Self.run(["run", "--quiet", path])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.first == "/wBhYsM=\t5\ttrue")
        #expect(lines.dropFirst().first == "false\tValidationError")
        #expect(lines.last?.hasPrefix("false\tValidationError\tbase64.encode: expected a string") == true)
    }

    @Test func anImageReadFromStdinReachesTheEmulatorByteExact() throws {
        var image = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0xFF, 0x00, 0xC3, 0x28])
        image.append(Data((0..<300).map { UInt8($0 % 256) }))
        let path = try Self.script(
            #"""
            local img = stdin.read("a")
            local function sent(block)
              bedrock.converse{model = "amazon.nova-lite-v1:0", inference = {max_tokens = 20},
                               messages = {{role = "user", content = {block, "What is in this image?"}}}}
              local log = emulator.requests()
              local m = log[#log].media[1]
              print(m.kind, m.bytes, m.sha256)
            end
            sent({type = "image", format = "png", source = img})
            sent({image = {format = "png", source = {bytes = img}}})
            sent({type = "image", format = "png", source = {base64 = base64.encode(img)}})
            """#)
        let result = try Self.run(["run", "--quiet", path], stdin: image)
        #expect(result.status == 0, "\(result.stderr)")
        let line = "image\t\(image.count)\t\(try Self.sha256(image))"
        #expect(String(decoding: result.stdout, as: UTF8.self) == "\(line)\n\(line)\n\(line)\n")
    }

    @Test func aNonBytesValueWhereBytesBelongIsAValidationErrorNamingTheField() throws {
        let path = try Self.script(
            #"""
            local function try(block)
              local ok, e = pcall(bedrock.converse, {model = "amazon.nova-lite-v1:0", messages = {{role = "user", content = {block}}}})
              print(ok, e.code, e.message)
            end
            try({type = "image", format = "png", source = 42})
            try({document = {format = "txt", name = "d", source = {bytes = true}}})
            try({type = "image", format = "png", source = {base64 = "%%%"}})
            """#)
        let result = try Self.run(["run", "--quiet", path])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.hasPrefix("false\tValidationError\tbedrock.converse: ") })
        #expect(
            lines.first?.contains("messages[1].content[1].source must be the raw bytes (a Lua string) or {base64")
                == true)
        #expect(
            lines.dropFirst().first?.contains("messages[1].content[1].document.source.bytes must be the raw bytes")
                == true)
        #expect(lines.last?.contains("source.base64 is not valid base64") == true)
        #expect(!result.stdout.isEmpty && !String(decoding: result.stdout, as: UTF8.self).contains("DecodingError"))
    }

    // MARK: §7 the CLI and the emulator

    static let noAWS: [String: String] = HostCLITests.noAWS

    @Test func hostFlagsWorkBeforeTheSubcommand() throws {
        let path = try Self.script("print('ran')")
        let quiet = try QuarryProcess.run(["--quiet", "run", path], environment: Self.noAWS)
        #expect(quiet.status == 0, "\(quiet.stderr)")
        #expect(quiet.stdout == "ran\n")
        #expect(!quiet.stderr.contains("using the built-in Bedrock emulator"), "\(quiet.stderr)")
        let limited = try QuarryProcess.run(
            ["--max-instructions", "100000", "--quiet", "run", try Self.script("while true do end")],
            environment: Self.noAWS)
        #expect(limited.status == 3, "\(limited.stderr)")
        #expect(limited.stderr.contains("instruction budget"))
    }

    @Test func rootHelpShowsDashEStandardInputAndTheDefaults() throws {
        let help = try QuarryProcess.run(["--help"], environment: Self.noAWS)
        #expect(help.status == 0)
        #expect(help.stdout.contains("quarry -e CODE"), "\(help.stdout)")
        #expect(help.stdout.contains("echo 'print(1 + 1)' | quarry"))
        #expect(help.stdout.contains("stdin.read"))
        #expect(help.stdout.contains("600 s wall clock"))
        #expect(help.stdout.contains("10000000000 instructions"))
        let runHelp = try QuarryProcess.run(["run", "--help"], environment: Self.noAWS)
        #expect(runHelp.stdout.contains("(default 600)"), "\(runHelp.stdout)")
        #expect(runHelp.stdout.contains("(default 10000000000"))
    }

    @Test func aNegativeMaxSecondsNamesTheProblem() throws {
        let path = try Self.script("print('never')")
        let r = try QuarryProcess.run(["run", "--max-seconds", "-1", path], environment: Self.noAWS)
        #expect(r.status == 2)
        #expect(r.stderr.contains("--max-seconds must be a number of seconds > 0"), "\(r.stderr)")
        #expect(r.stderr.contains("got -1"), "\(r.stderr)")
        let before = try QuarryProcess.run(["--max-seconds", "-1", "run", path], environment: Self.noAWS)
        #expect(before.status == 2)
        #expect(before.stderr.contains("got -1"), "\(before.stderr)")
    }

    @Test func aDoubleDashAfterTheScriptIsNotPassedToIt() throws {
        let path = try Self.script("print(#arg, arg[1], ...)")
        let r = try QuarryProcess.run(["run", "--quiet", path, "--", "a"], environment: Self.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "1\ta\ta\n")
        let dashed = try QuarryProcess.run(["run", "--quiet", path, "--", "--", "-v"], environment: Self.noAWS)
        #expect(dashed.stdout == "2\t--\t--\t-v\n")
    }

    @Test func runAndTestDefaultToLimitsForRealWorkflows() throws {
        let path = try Self.script("print(sandbox.limits.seconds, sandbox.limits.instructions)")
        let r = try QuarryProcess.run(["run", "--quiet", path], environment: Self.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "600.0\t10000000000\n")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-newcomer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try #"test("limits", function() assert(sandbox.limits.instructions == 10000000000) end)"#
            .write(to: dir.appendingPathComponent("limits_test.lua"), atomically: true, encoding: .utf8)
        let t = try QuarryProcess.run(["test", "--quiet", dir.path], environment: Self.noAWS)
        #expect(t.status == 0, "\(t.stdout)\(t.stderr)")
    }

    /// `curl` against the emulator: status and body.
    static func curl(_ arguments: [String]) throws -> (status: Int, body: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-w", "\n%{http_code}", "--max-time", "10"] + arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    @Test func theAdminAPIRejectsUnknownFieldsAndHealthNeedsNoToken() async throws {
        let emulator = try EmulatorCommandTests.RunningEmulator(["--port", "0"])
        defer { if emulator.process.isRunning { emulator.process.terminate() } }
        _ = try await emulator.waitFor("Press Ctrl-C")
        let endpoint = try #require(emulator.value(after: "endpoint:"))
        let admin = try #require(emulator.value(after: "admin API:"))
        let token = try #require(admin.components(separatedBy: "x-quarry-admin-token: ").last?.dropLast())
        let health = try Self.curl(["\(endpoint)/_quarry/health"])
        #expect(health.status == 200)
        #expect(health.body == #"{"status":"ok"}"#)
        let faultsWithoutToken = try Self.curl(["\(endpoint)/_quarry/faults"])
        #expect(faultsWithoutToken.status == 403)
        let typo = try Self.curl([
            "-X", "POST", "-H", "x-quarry-admin-token: \(token)", "-H", "content-type: application/json",
            "--data", #"{"error": "ThrottlingException", "time": 1}"#, "\(endpoint)/_quarry/faults",
        ])
        #expect(typo.status == 400, "\(typo.body)")
        #expect(typo.body.contains("unknown field 'time'"), "\(typo.body)")
        let listed = try Self.curl(["-H", "x-quarry-admin-token: \(token)", "\(endpoint)/_quarry/faults"])
        #expect(listed.body.contains(#""faults":[]"#), "\(listed.body)")
        let reply = try Self.curl([
            "-X", "POST", "-H", "x-quarry-admin-token: \(token)", "--data",
            #"{"text": "hi", "contians": "x"}"#, "\(endpoint)/_quarry/responses",
        ])
        #expect(reply.status == 400)
        #expect(reply.body.contains("unknown field 'contians'"), "\(reply.body)")
    }

    @Test func theConfigFileRejectsUnknownFields() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "quarry-newcomer-\(UUID().uuidString).json"
        ).path
        try #"{"port": 0, "regions": ["us-east-1"], "quotas": [{"model": "m", "request_per_minute": 1}]}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let r = try Self.run(["emulator", "--config", path], seconds: 10)
        #expect(r.status == 2)
        #expect(r.stderr.contains("quotas[1] has an unknown field 'request_per_minute'"), "\(r.stderr)")
        try #"{"port": 0, "credentials": [{"access_key_id": "AKIAEXAMPLEEXAMPLE12"}]}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        let keyless = try Self.run(["emulator", "--config", path], seconds: 10)
        #expect(keyless.status == 2)
        #expect(keyless.stderr.contains("credentials[1].secret_access_key is required"), "\(keyless.stderr)")
        #expect(!keyless.stderr.contains("keyNotFound") && !keyless.stderr.contains("CodingKeys"))
        let missing = try QuarryProcess.run(["emulator", "--config", "/nonexistent/emulator.json"])
        #expect(
            missing.stderr.contains("cannot read emulator configuration /nonexistent/emulator.json: no such file"),
            "\(missing.stderr)")
        #expect(!missing.stderr.contains("The operation could not be completed"))
    }

    @Test func tlsRemovesItsCAFileOnExit() async throws {
        let emulator = try EmulatorCommandTests.RunningEmulator(["--port", "0", "--tls"])
        defer { if emulator.process.isRunning { emulator.process.terminate() } }
        _ = try await emulator.waitFor("Press Ctrl-C")
        let ca = try #require(emulator.value(after: "CA file:"))
        let endpoint = try #require(emulator.value(after: "endpoint:"))
        let port = try #require(endpoint.split(separator: ":").last.flatMap { UInt16($0) })
        #expect(FileManager.default.fileExists(atPath: ca))
        // A client that keeps a connection open (no handshake, no request) must not keep
        // the emulator, or its CA file, alive after Ctrl-C.
        let held = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(held) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(held, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(connected == 0)
        try await Task.sleep(for: .milliseconds(200))
        emulator.process.interrupt()  // Ctrl-C
        try await Task.sleep(for: .milliseconds(500))
        #expect(!FileManager.default.fileExists(atPath: ca), "\(ca) is still there")
        let deadline = ContinuousClock.now + .seconds(15)
        while emulator.process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(!emulator.process.isRunning, "still running with a connection open")
        if !emulator.process.isRunning { #expect(emulator.process.terminationStatus == 0) }
    }

    @Test func theDefaultPortIsNotLocalStacks() async throws {
        let help = try QuarryProcess.run(["emulator", "--help"])
        let words = help.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(words.contains("Default: 7555"), "\(help.stdout)")
        #expect(!help.stdout.contains("4566"))
        let first = try EmulatorCommandTests.RunningEmulator(["--port", "0"])
        defer { if first.process.isRunning { first.process.terminate() } }
        _ = try await first.waitFor("Press Ctrl-C")
        let endpoint = try #require(first.value(after: "endpoint:"))
        let port = try #require(endpoint.split(separator: ":").last.map(String.init))
        // A port in use is said in words, not as the socket call's errno.
        let second = try Self.run(["emulator", "--port", port], seconds: 10)
        #expect(second.status == 1)
        #expect(second.stderr.contains("the port is already in use"), "\(second.stderr)")
        #expect(!second.stderr.contains("errno"))
    }

    // MARK: §3 errors a user can act on

    @Test func everyUncaughtErrorSaysFileLineCodeAndMessage() throws {
        let cases: [(String, String)] = [
            ("local t = {1, nil, 3}\njson.encode({a = {[1] = 1, [3] = 3}})", "s.lua:2: JSONError: json.encode: "),
            ("\n\nmap(5, print)", "s.lua:3: ValidationError: map: the first argument must be a list"),
            (
                "parallel(function() return 1 end,\n  function() error('inner', 0) end)",
                "s.lua:1: ParallelFailure: parallel: 1 of 2 failed"
            ),
            (
                "local x = 1\n\nerror({code = 'Mine', message = 'the mine collapsed'})",
                "s.lua:3: Mine: the mine collapsed"
            ),
        ]
        for (source, expected) in cases {
            let path = try Self.script(source, name: "s")
            let r = try QuarryProcess.run(["run", "--quiet", path], environment: Self.noAWS)
            #expect(r.status == 1)
            #expect(r.stderr.hasPrefix("quarry: ") && r.stderr.contains(expected), "\(source): \(r.stderr)")
            #expect(!r.stderr.contains("error object is a"), "\(r.stderr)")
        }
    }

    @Test func aRegionTheTargetDoesNotServeFailsAtOnceNamingItsRegions() throws {
        let path = try Self.script("print('never')")
        let r = try QuarryProcess.run(["run", "--region", "nowhere-1", path], environment: Self.noAWS)
        #expect(r.status == 2)
        #expect(r.stderr.contains("'nowhere-1'") && r.stderr.contains("us-east-1, us-west-2, eu-west-1"), "\(r.stderr)")
        #expect(!r.stdout.contains("never"))
        let client = try Self.script(
            #"""
            local ok, e = pcall(bedrock.client, {region = "bad region!"})
            print(ok, e.code, e.message)
            local ok2, e2 = pcall(bedrock.client, {region = "ap-south-9"})
            print(ok2, e2.code, e2.message)
            """#)
        let c = try QuarryProcess.run(["run", "--quiet", client], environment: Self.noAWS)
        let lines = c.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 2, "\(c.stdout)\(c.stderr)")
        #expect(
            lines.allSatisfy {
                $0.hasPrefix("false\tValidationError\t") && $0.contains("us-east-1, us-west-2, eu-west-1")
            }, "\(lines)")
    }

    @Test func aTokenBudgetRefusalWithoutMaxTokensSaysToSetIt() throws {
        let path = try Self.script("bedrock.converse{model = 'amazon.nova-micro-v1:0', messages = 'hi'}")
        let r = try QuarryProcess.run(["run", "--quiet", "--token-budget", "100", path], environment: Self.noAWS)
        #expect(r.status == 1)
        #expect(r.stderr.contains("PolicyViolation") && r.stderr.contains("set inference.max_tokens"), "\(r.stderr)")
    }

    @Test func usingIOGetsAHint() throws {
        let r = try QuarryProcess.run(
            ["run", "--quiet", try Self.script("io.write('hello')")], environment: Self.noAWS)
        #expect(r.status == 1)
        #expect(r.stderr.contains("(global 'io')") && r.stderr.contains("Quarry has no io library"), "\(r.stderr)")
        #expect(r.stderr.contains("stdin.read") && r.stderr.contains("write("))
    }

    @Test func stringRepPastTheMemoryCapEndsTheRunLikeOtherLimits() throws {
        let rep = try QuarryProcess.run(
            ["run", "--quiet", try Self.script("print(pcall(string.rep, 'x', 2^40))\nprint('went on')")],
            environment: Self.noAWS)
        #expect(rep.status == 3, "\(rep.stdout)\(rep.stderr)")
        #expect(!rep.stdout.contains("went on"))
        #expect(rep.stderr.contains("sandbox limit: memory cap of 67108864 bytes reached"), "\(rep.stderr)")
        let grow = try QuarryProcess.run(
            ["run", "--quiet", try Self.script("local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end")],
            environment: Self.noAWS)
        #expect(grow.status == 3)
        #expect(grow.stderr.contains("sandbox limit: memory cap of 67108864 bytes reached"), "\(grow.stderr)")
    }
}
