import Foundation
import TestSupport
import Testing

/// `quarry run`, `-e`, piped stdin and the shipped examples, through the real binary
/// against the built-in emulator it starts when no AWS credentials are configured.
@Suite struct HostCLITests {
    static let packageRoot = PackageRoot.url

    /// An environment with no AWS configuration at all (a fresh HOME, no AWS_* variables).
    static var noAWS: [String: String] {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-home-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        var env = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("AWS_") && $0.key != "QUARRY_TARGET" && !$0.key.hasPrefix("QUARRY_EMULATOR_")
        }
        env["HOME"] = home.path
        return env
    }

    /// `noAWS` with the emulator's test keys and a region: a target reached as AWS. With
    /// `closedProxy`, HTTPS that is not for 127.0.0.1 meets a closed proxy on loopback, so
    /// a stray call to real AWS fails here instead of leaving the machine.
    static func testKeysAsAWS(closedProxy: Bool = false) -> [String: String] {
        var env = noAWS
        env["AWS_ACCESS_KEY_ID"] = "test"
        env["AWS_SECRET_ACCESS_KEY"] = "test"
        env["AWS_REGION"] = "us-east-1"
        if closedProxy {
            env["HTTPS_PROXY"] = "http://127.0.0.1:9"
            env["NO_PROXY"] = "127.0.0.1"
        }
        return env
    }

    static func example(_ name: String) -> String {
        packageRoot.appendingPathComponent("scripts/examples/\(name)").path
    }

    @Test func withoutCredentialsTheEmulatorAnswersAndSaysSo() throws {
        let r = try QuarryProcess.run(["run", Self.example("quickstart.lua")], environment: Self.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("In one sentence, what is Amazon Bedrock?"))
        #expect(r.stdout.contains("tokens in"))
        let notices = r.stderr.split(separator: "\n").filter { $0.contains("built-in Bedrock emulator") }
        #expect(notices.count == 1)
        #expect(r.stderr.contains("no AWS credentials are configured"))
    }

    /// An AWS target with no credentials anywhere is a ConfigurationError that says where
    /// credentials come from (instance metadata disabled: the test stays on loopback).
    @Test func anAWSTargetWithoutCredentialsIsAConfigurationError() throws {
        var env = Self.noAWS
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        let r = try QuarryProcess.run(
            [
                "--target", "aws", "--region", "us-east-1", "--endpoint", "http://127.0.0.1:9", "-e",
                "return bedrock.converse{model='amazon.nova-micro-v1:0', messages='hi'}.text",
            ],
            environment: env)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("ConfigurationError: no AWS credentials to sign with"), "\(r.stderr)")
        #expect(r.stderr.contains("AWS_ACCESS_KEY_ID"))
    }

    @Test func dashECodeAndJSONOutput() throws {
        let r = try QuarryProcess.run(
            [
                "--quiet", "--json", "-e",
                "local r = bedrock.converse{model='amazon.nova-micro-v1:0', messages='hi'} return {ok=true, stop=r.stop_reason}",
            ],
            environment: Self.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "{\"ok\":true,\"stop\":\"end_turn\"}\n")
    }

    @Test func scriptsCanComeFromStandardInput() throws {
        let piped = try QuarryProcess.run(["--quiet"], stdin: "print('from stdin', 6 * 7)", environment: Self.noAWS)
        #expect(piped.status == 0, "\(piped.stderr)")
        #expect(piped.stdout == "from stdin\t42\n")
        let dash = try QuarryProcess.run(["run", "--quiet", "-", "x"], stdin: "print(arg[1])", environment: Self.noAWS)
        #expect(dash.stdout == "x\n")
    }

    @Test func scriptErrorsNameTheLineAndExitOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-err-\(UUID().uuidString).lua")
        try "local x = 1\nlocal r = bedrock.converse{model='no.such-model', messages='x'}\nreturn r\n"
            .write(to: dir, atomically: true, encoding: .utf8)
        let r = try QuarryProcess.run(["run", "--quiet", dir.path], environment: Self.noAWS)
        #expect(r.status == 1)
        #expect(r.stderr.contains("\(dir.path):2: ValidationException: "))
    }

    @Test func policyFlagsAreEnforced() throws {
        let r = try QuarryProcess.run(
            [
                "--quiet", "--allow-model", "amazon.*", "-e",
                "return bedrock.converse{model='anthropic.claude-3-haiku-20240307-v1:0', messages='x'}",
            ],
            environment: Self.noAWS)
        #expect(r.status == 1)
        #expect(r.stderr.contains("PolicyViolation: model 'anthropic.claude-3-haiku-20240307-v1:0' is not allowed"))
        let budget = try QuarryProcess.run(
            [
                "--quiet", "--call-budget", "1", "-e",
                """
                bedrock.converse{model='amazon.nova-micro-v1:0', messages='1'}
                bedrock.converse{model='amazon.nova-micro-v1:0', messages='2'}
                """,
            ], environment: Self.noAWS)
        #expect(budget.status == 1)
        #expect(budget.stderr.contains("call budget of 1"))
    }

    @Test func usageErrorsExitTwo() throws {
        let r = try QuarryProcess.run(["--max-memory", "0", "-e", "return 1"], environment: Self.noAWS)
        #expect(r.status == 2)
        #expect(r.stderr.contains("--max-memory must be at least 1"))
        let unknown = try QuarryProcess.run(["run", "--no-such-flag", "x.lua"], environment: Self.noAWS)
        #expect(unknown.status == 2)
    }

    @Test func limitFlagsTripLimitsWithExitThree() throws {
        let r = try QuarryProcess.run(
            ["--quiet", "--max-instructions", "100000", "-e", "while true do end"],
            environment: Self.noAWS)
        #expect(r.status == 3)
        #expect(r.stderr.contains("instruction budget"))
    }

    // MARK: shipped examples

    @Test func chatExampleKeepsHistory() throws {
        let r = try QuarryProcess.run(["run", "--quiet", Self.example("chat.lua")], stdin: "", environment: Self.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("you> What is my name?"))
        #expect(r.stdout.contains("3 turns, 6 messages in history"))
    }

    @Test func streamingExamplePrintsTokensAndTotals() throws {
        let r = try QuarryProcess.run(
            ["run", "--quiet", Self.example("streaming.lua"), "Tell me about stones"],
            environment: Self.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Tell me about stones"))
        #expect(r.stdout.contains("tokens out, first token after"))
    }

    @Test func toolUseExampleRunsTheTool() throws {
        let r = try QuarryProcess.run(["run", "--quiet", Self.example("tool_use.lua")], environment: Self.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("sunny, 24°C"))
        #expect(r.stderr.contains("[tool] weather({\"city\":\"Lisbon\"})"))
    }

    @Test func batchExampleAnswersEveryPromptInOrderWithProgress() throws {
        let prompts = try String(contentsOfFile: Self.example("prompts.txt"), encoding: .utf8)
        let r = try QuarryProcess.run(
            ["run", "--quiet", Self.example("map_prompts.lua")], stdin: prompts, environment: Self.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = prompts.split(separator: "\n")
        var last = r.stdout.startIndex
        for (i, prompt) in lines.enumerated() {
            guard
                let found = r.stdout.range(
                    of: String(format: "%3d. %@", i + 1, String(prompt)), range: last..<r.stdout.endIndex)
            else {
                Issue.record("prompt \(i + 1) missing or out of order"); break
            }
            last = found.upperBound
        }
        #expect(r.stdout.contains("-- 10 prompts, 0 failed"))
        #expect(r.stderr.contains("10/10"))
    }

    @Test func compareModelsExamplePrintsATable() throws {
        let r = try QuarryProcess.run(["run", "--quiet", Self.example("compare_models.lua")], environment: Self.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        for model in [
            "anthropic.claude-3-haiku", "amazon.nova-micro", "meta.llama3", "mistral.mistral", "cohere.command-r",
        ] {
            #expect(r.stdout.contains(model))
        }
        #expect(!r.stdout.contains("error:"))
    }
}
