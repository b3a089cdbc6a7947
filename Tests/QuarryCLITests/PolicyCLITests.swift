import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 16 rows 7, 8 and 11 through the real `quarry` binary: `--allow-endpoint` matches
/// parsed URLs, `--token-budget` counts InvokeModel, `--allow-profile` opens profiles.
@Suite(.serialized) struct PolicyCLITests {
    /// A TCP listener on 127.0.0.1 that only counts whether anyone connected.
    final class Listener {
        let fd: Int32
        let port: Int

        init() throws {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard s >= 0, bound == 0, listen(s, 16) == 0 else { close(s); throw POSIXError(.EADDRINUSE) }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &length) }
            }
            _ = fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)
            fd = s
            port = Int(UInt16(bigEndian: address.sin_port))
        }

        /// Whether a connection is waiting (accepts and closes it).
        var someoneConnected: Bool {
            let client = accept(fd, nil, nil)
            if client >= 0 { close(client); return true }
            return false
        }

        deinit { close(fd) }
    }

    @Test func allowEndpointMatchesTheParsedURLNotTheText() throws {
        let listener = try Listener()
        let r = try QuarryProcess.run(
            [
                "--quiet", "--allow-endpoint", "http://*.corp.example", "-e",
                """
                local c = bedrock.client{endpoint='http://127.0.0.1:\(listener.port)/.corp.example', timeout=2, retry={max_attempts=1}}
                return c:converse{model='amazon.nova-micro-v1:0', messages='where does this go?'}
                """,
            ], environment: HostCLITests.noAWS)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(
            r.stderr.contains("PolicyViolation: endpoint 'http://127.0.0.1:\(listener.port)/.corp.example'"),
            "\(r.stderr)")
        #expect(!listener.someoneConnected, "a request went to a server the policy never named")
    }

    @Test func badEndpointPatternsAreUsageErrors() throws {
        let r = try QuarryProcess.run(
            ["--quiet", "--allow-endpoint", "http://*.corp.example/steal", "-e", "return 1"],
            environment: HostCLITests.noAWS)
        #expect(r.status == 2)
        #expect(r.stderr.contains("--allow-endpoint"), "\(r.stderr)")
    }

    @Test func tokenBudgetCountsInvoke() throws {
        let body =
            "{anthropic_version='bedrock-2023-05-31', max_tokens=30, messages={ {role='user', content='Tell me about budgets'} }}"
        let r = try QuarryProcess.run(
            [
                "--quiet", "--token-budget", "100", "-e",
                """
                local done, refused = 0, nil
                for i = 1, 5 do
                  local ok, e = pcall(bedrock.invoke, {model='anthropic.claude-3-haiku-20240307-v1:0', body=\(body)})
                  if ok then done = done + 1 else refused = e.code .. ': ' .. e.message break end
                end
                print(done, bedrock.budget().tokens_used, refused)
                """,
            ], environment: HostCLITests.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        let fields = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\t").map(String.init)
        #expect(fields.count == 3, "\(r.stdout)")
        guard fields.count == 3 else { return }
        #expect((Int(fields[0]) ?? 0) >= 1 && (Int(fields[0]) ?? 9) < 5)
        #expect((Int(fields[1]) ?? 0) > 0 && (Int(fields[1]) ?? 999) <= 100)
        #expect(fields[2].hasPrefix("PolicyViolation: the token budget of 100 would be exceeded"))
    }

    @Test func profilesAreClosedUnlessAllowed() throws {
        let closed = try QuarryProcess.run(
            ["--quiet", "-e", "bedrock.client{profile='other'}"], environment: HostCLITests.noAWS)
        #expect(closed.status == 1)
        #expect(closed.stderr.contains("PolicyViolation: profile 'other' is not allowed"), "\(closed.stderr)")
        let open = try QuarryProcess.run(
            ["--quiet", "--allow-profile", "oth*", "-e", "bedrock.client{profile='other'} print('ok')"],
            environment: HostCLITests.noAWS)
        #expect(open.status == 0, "\(open.stderr)")
        #expect(open.stdout == "ok\n")
    }
}
