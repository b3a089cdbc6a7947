import BedrockRuntime
import Foundation
import Testing

/// Environment, shared-file and process providers, the chain, and caching.
@Suite struct LocalCredentialProviderTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    @Test func environmentKeysAndTheirErrors() async throws {
        let provider = EnvironmentCredentialProvider(
            environment: ConfigurationEnvironment([
                "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": Self.secret,
                "AWS_SESSION_TOKEN": "tok",
            ]))
        let credentials = try await provider.credentials()
        #expect(credentials.accessKeyId == "AKIAIOSFODNN7EXAMPLE")
        #expect(credentials.sessionToken == "tok")
        let half = EnvironmentCredentialProvider(environment: ConfigurationEnvironment(["AWS_ACCESS_KEY_ID": "AKIA1"]))
        await #expect(
            throws: CredentialsError.invalidConfiguration(
                provider: "environment", problem: "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        ) {
            try await half.credentials()
        }
    }

    @Test func staticProfileKeysAndCredentialProcess() async throws {
        let dir = try TemporaryAWSDirectory(
            config: """
                [profile proc]
                credential_process = printf '{"Version": 1, "AccessKeyId": "ASIAPROCESS000001", "SecretAccessKey": "ps", "SessionToken": "pt", "Expiration": "2030-01-01T00:00:00Z"}'
                [profile failing]
                credential_process = echo oops >&2; exit 3
                [profile garbage]
                credential_process = echo not-json
                """,
            credentials: "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = \(Self.secret)\n"
        )
        defer { dir.remove() }
        let environment = dir.environment()
        let files = try SharedConfigFiles.load(from: environment)
        let keys = try await ProfileCredentialProvider(files: files, profileName: "default", environment: environment)
            .credentials()
        #expect(keys.secretAccessKey == Self.secret)
        let process = try await ProfileCredentialProvider(files: files, profileName: "proc", environment: environment)
            .credentials()
        #expect(process.accessKeyId == "ASIAPROCESS000001")
        #expect(process.sessionToken == "pt")
        await #expect(
            throws: CredentialsError.serviceError(
                provider: "profile 'failing'",
                problem: "credential_process exited with status 3")
        ) {
            try await ProfileCredentialProvider(files: files, profileName: "failing", environment: environment)
                .credentials()
        }
        await #expect(
            throws: CredentialsError.serviceError(
                provider: "profile 'garbage'",
                problem: "credential_process output is not a JSON object")
        ) {
            try await ProfileCredentialProvider(files: files, profileName: "garbage", environment: environment)
                .credentials()
        }
        // The parsed files never show the secret.
        var dumped = ""
        dump(files, to: &dumped)
        #expect(!dumped.contains(Self.secret))
        #expect(!"\(files)".contains(Self.secret))
    }

    @Test func sourceProfileCyclesAreRefused() async throws {
        let dir = try TemporaryAWSDirectory(
            config: """
                [profile a]
                role_arn = arn:aws:iam::1:role/a
                source_profile = b
                [profile b]
                role_arn = arn:aws:iam::1:role/b
                source_profile = a
                [profile dangling]
                role_arn = arn:aws:iam::1:role/c
                source_profile = nowhere
                """)
        defer { dir.remove() }
        let environment = dir.environment()
        let files = try SharedConfigFiles.load(from: environment)
        await #expect(
            throws: CredentialsError.invalidConfiguration(
                provider: "profile 'a'",
                problem: "source_profile cycle: a -> b -> a")
        ) {
            try await ProfileCredentialProvider(files: files, profileName: "a", environment: environment).credentials()
        }
        await #expect(
            throws: CredentialsError.invalidConfiguration(
                provider: "profile 'dangling'", problem: "profile 'nowhere' (named by source_profile) does not exist")
        ) {
            try await ProfileCredentialProvider(files: files, profileName: "dangling", environment: environment)
                .credentials()
        }
    }

    @Test func theChainTakesTheFirstConfiguredProviderAndListsWhatItTried() async throws {
        let dir = try TemporaryAWSDirectory(
            credentials: "[default]\naws_access_key_id = AKIAFROMFILE000001\naws_secret_access_key = fileSecret\n")
        defer { dir.remove() }
        let withEnvironment = try BedrockConfiguration.resolve(
            environment: dir.environment([
                "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "AKIAFROMENV0000001",
                "AWS_SECRET_ACCESS_KEY": "envSecret",
            ]))
        #expect(
            try await CredentialProviderChain.default(configuration: withEnvironment).credentials().accessKeyId
                == "AKIAFROMENV0000001")
        let fileOnly = try BedrockConfiguration.resolve(environment: dir.environment(["AWS_REGION": "us-east-1"]))
        #expect(
            try await CredentialProviderChain.default(configuration: fileOnly).credentials().accessKeyId
                == "AKIAFROMFILE000001")

        let empty = try TemporaryAWSDirectory()
        defer { empty.remove() }
        let nothing = try BedrockConfiguration.resolve(
            environment: empty.environment([
                "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            ]))
        await #expect(
            throws: CredentialsError.noCredentials(tried: [
                "environment", "profile 'default'", "web identity (environment)", "container", "ec2 instance metadata",
            ])
        ) {
            try await CredentialProviderChain.default(configuration: nothing).credentials()
        }
    }

    /// A provider that counts its calls and hands out credentials expiring in `lifetime`.
    actor CountingProvider: CredentialProvider {
        nonisolated let name = "counting"
        let lifetime: TimeInterval
        let clock: @Sendable () -> Date
        private(set) var calls = 0
        init(lifetime: TimeInterval, clock: @escaping @Sendable () -> Date) {
            self.lifetime = lifetime
            self.clock = clock
        }
        func credentials() async throws -> SigV4Credentials {
            calls += 1
            try await Task.sleep(for: .milliseconds(50))  // long enough for callers to pile up
            return SigV4Credentials(
                accessKeyId: "ASIACOUNT\(calls)", secretAccessKey: "s", sessionToken: "t",
                expiration: clock().addingTimeInterval(lifetime))
        }
    }

    final class ManualClock: @unchecked Sendable {
        private let lock = NSLock()
        private var current = Date(timeIntervalSince1970: 1_800_000_000)
        var now: Date { lock.withLock { current } }
        func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
    }

    @Test func cachingSharesOneRefreshAndRefreshesAheadOfExpiry() async throws {
        let clock = ManualClock()
        let base = CountingProvider(lifetime: 3600) { clock.now }
        let cache = CachingCredentialProvider(base, refreshAhead: 300) { clock.now }
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await cache.credentials().accessKeyId } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(ids) == ["ASIACOUNT1"])
        #expect(await base.calls == 1)
        clock.advance(3000)  // 10 minutes left: still cached
        #expect(try await cache.credentials().accessKeyId == "ASIACOUNT1")
        clock.advance(400)  // under 5 minutes left: refreshed before expiry, in the background
        #expect(try await cache.credentials().accessKeyId == "ASIACOUNT1")  // still valid: no wait
        var refreshed = ""
        for _ in 0..<200 where refreshed != "ASIACOUNT2" {
            try await Task.sleep(for: .milliseconds(20))
            refreshed = try await cache.credentials().accessKeyId
        }
        #expect(refreshed == "ASIACOUNT2")
        #expect(await base.calls == 2)
        await cache.invalidate()
        #expect(try await cache.credentials().accessKeyId == "ASIACOUNT3")
    }
}
