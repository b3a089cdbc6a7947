import Foundation
import Testing

@testable import BedrockRuntime

/// credential_process: own process group, clean signal mask, capped output, a timeout that fires.
@Suite struct CredentialProcessTests {
    static let json =
        #"{"Version": 1, "AccessKeyId": "ASIAPROCESS", "SecretAccessKey": "processSecret", "SessionToken": "tok"}"#

    func provider(_ command: String, timeout: Duration = .seconds(2)) -> ProcessCredentialProvider {
        ProcessCredentialProvider(command: command, name: "profile 'p'", timeout: timeout)
    }

    @Test("valid JSON from a helper whose background child keeps stdout open: credentials once the helper exits")
    func backgroundChildHoldingStdout() async throws {
        // `sleep 30 &` inherits stdout: end-of-file never comes while it lives.
        let p = provider("sleep 30 & echo '\(Self.json)'", timeout: .seconds(2))
        let outcome = await withinGuard(10) { await Result(catching: { try await p.credentials() }) }
        let result = try #require(outcome, "the helper's background child kept the provider waiting past its timeout")
        let credentials = try result.get()
        #expect(credentials.accessKeyId == "ASIAPROCESS")
    }

    @Test("a helper that ignores SIGTERM is killed with its whole group at the timeout")
    func helperIgnoringTermIsKilled() async throws {
        let pidFile = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-cp-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: pidFile) }
        let p = provider("trap '' TERM; sleep 60 & echo $! > '\(pidFile)'; wait", timeout: .milliseconds(1500))
        let outcome = await withinGuard(10) { await thrownError { _ = try await p.credentials() } }
        let error = try #require(outcome, "the helper outlived its 1.5 s timeout")
        let text = "\(try #require(error))"
        #expect(text.contains("Timeout"))
        #expect(text.contains("1.5 s"))
        // The background `sleep` (same process group) is gone too.
        let pid = try #require(
            Int32(
                String(decoding: FileManager.default.contents(atPath: pidFile) ?? Data(), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)))
        var alive = true
        for _ in 0..<100 where alive {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            // Gone, or a zombie waiting for init to reap it.
            alive = !stat.isEmpty && !stat.contains(") Z ")
            if alive { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(!alive, "the helper's background child survived the timeout")
    }

    @Test("a helper printing 10 MiB fails with an error naming the 64 KiB cap")
    func outputCapped() async throws {
        let p = provider("head -c 10485760 /dev/zero | tr '\\0' a", timeout: .seconds(10))
        let outcome = await withinGuard(20) { await thrownError { _ = try await p.credentials() } }
        let finished = try #require(outcome)
        let text = "\(try #require(finished))"
        #expect(text.contains("64 KiB"))
        #expect(text.contains("cap"))
    }

    @Test("a helper's signal mask does not leak in: SIGTERM is at its default in the child")
    func cleanSignalMask() async throws {
        // /proc/self/status of the helper: SigBlk must be all zeros.
        let p = provider(
            #"blk=$(grep SigBlk /proc/$$/status | tr -d ' \t' | cut -d: -f2); echo "{\"Version\":1,\"AccessKeyId\":\"ASIA$blk\",\"SecretAccessKey\":\"s\"}""#
        )
        let credentials = try await p.credentials()
        #expect(credentials.accessKeyId == "ASIA0000000000000000")
    }

    @Test("a helper runs in its own process group")
    func ownProcessGroup() async throws {
        let p = provider(
            #"pg=$(ps -o pgid= -p $$ | tr -d ' '); [ "$pg" = "$$" ] && id=ASIAOWNGROUP || id=ASIASHARED; echo "{\"Version\":1,\"AccessKeyId\":\"$id\",\"SecretAccessKey\":\"s\"}""#
        )
        #expect(try await p.credentials().accessKeyId == "ASIAOWNGROUP")
    }

    @Test("a failing helper names its exit status, never its output")
    func exitStatus() async throws {
        let error = await thrownError { _ = try await provider("echo processSecret; exit 3").credentials() }
        let text = "\(try #require(error))"
        #expect(text.contains("status 3"))
        #expect(!text.contains("processSecret"))
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
