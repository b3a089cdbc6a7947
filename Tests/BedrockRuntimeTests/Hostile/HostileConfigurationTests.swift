import Foundation
import Testing

@testable import BedrockRuntime

/// Environment and config numbers are range-checked; config errors never echo a line.
@Suite struct HostileConfigurationTests {
    @Test(
        "IMDS settings: out-of-range or non-finite values are configuration errors naming the variable",
        arguments: [
            ("AWS_METADATA_SERVICE_TIMEOUT", "1e300"),
            ("AWS_METADATA_SERVICE_TIMEOUT", "inf"),
            ("AWS_METADATA_SERVICE_TIMEOUT", "nan"),
            ("AWS_METADATA_SERVICE_TIMEOUT", "-5"),
            ("AWS_METADATA_SERVICE_TIMEOUT", "0"),
            ("AWS_METADATA_SERVICE_TIMEOUT", "9223372036854775807"),
            ("AWS_METADATA_SERVICE_TIMEOUT", "soon"),
            ("AWS_METADATA_SERVICE_TIMEOUT", "0x10"),  // Swift's Double() reads hex floats
            ("AWS_METADATA_SERVICE_TIMEOUT", "+3"),
            ("AWS_METADATA_SERVICE_TIMEOUT", "1e1"),
            ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "1e300"),
            ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "0"),
            ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "99999999999999999999"),
            ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "2.5"),
            ("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "+3"),
        ])
    func imdsNumbers(variable: String, value: String) async throws {
        let provider = IMDSCredentialProvider(
            environment: ConfigurationEnvironment([
                variable: value, "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9",
            ]))
        let error = await thrownError { _ = try await provider.credentials() }
        let e = try #require(error as? CredentialsError)
        guard case .invalidConfiguration(_, let problem) = e else {
            Issue.record("expected invalidConfiguration, got \(e)")
            return
        }
        #expect(problem.contains(variable))
    }

    @Test("IMDS settings in range are accepted", arguments: [("0.5", "3"), ("1", "1"), ("300", "10")])
    func imdsNumbersInRange(timeout: String, attempts: String) throws {
        let provider = IMDSCredentialProvider(
            environment: ConfigurationEnvironment([
                "AWS_METADATA_SERVICE_TIMEOUT": timeout, "AWS_METADATA_SERVICE_NUM_ATTEMPTS": attempts,
            ]))
        let settings = try provider.settings()
        #expect(settings.attempts == Int(attempts))
    }

    @Test(
        "retry settings from the environment and the profile are range-checked",
        arguments: [
            (["AWS_MAX_ATTEMPTS": "1e300"], "max_attempts"),
            (["AWS_MAX_ATTEMPTS": "0"], "max_attempts"),
            (["AWS_MAX_ATTEMPTS": "101"], "max_attempts"),
            (["AWS_MAX_ATTEMPTS": "99999999999999999999999"], "max_attempts"),
            (["AWS_MAX_ATTEMPTS": "-1"], "max_attempts"),
            (["AWS_MAX_ATTEMPTS": "+3"], "max_attempts"),
            (["AWS_RETRY_MODE": "turbo"], "retry_mode"),
        ])
    func retryEnvironment(variables: [String: String], setting: String) throws {
        let home = try TemporaryAWSDirectory()
        defer { home.remove() }
        #expect(throws: ConfigurationError.self) {
            try BedrockConfiguration.resolve(
                environment: home.environment(variables.merging(["AWS_REGION": "us-east-1"]) { a, _ in a }))
        }
        do {
            _ = try BedrockConfiguration.resolve(
                environment: home.environment(variables.merging(["AWS_REGION": "us-east-1"]) { a, _ in a }))
        } catch {
            #expect("\(error)".contains(setting))
        }
        var configuration = try BedrockRuntimeClient.Configuration(
            region: "us-east-1", authorizer: UnsignedAuthorizer())
        #expect(throws: BedrockError.self) { try configuration.applyRetryEnvironment(variables) }
    }

    @Test(
        "max_attempts and retry_mode in the config file are range-checked",
        arguments: [
            ("max_attempts = 1e300", "max_attempts"), ("max_attempts = 1000", "max_attempts"),
            ("retry_mode = fast", "retry_mode"),
        ])
    func retryProfile(line: String, setting: String) throws {
        let home = try TemporaryAWSDirectory(config: "[default]\nregion = us-east-1\n\(line)\n")
        defer { home.remove() }
        do {
            _ = try BedrockConfiguration.resolve(environment: home.environment())
            Issue.record("\(line) was accepted")
        } catch {
            #expect("\(error)".contains(setting))
            #expect("\(error)".contains("profile 'default'"))
        }
    }

    @Test("a malformed credentials line is reported by file and line number, never by its content")
    func malformedLineNotEchoed() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"
        let home = try TemporaryAWSDirectory(credentials: "[default]\naws_access_key_id = AKIAEXAMPLE\n\(secret)\n")
        defer { home.remove() }
        do {
            _ = try BedrockConfiguration.resolve(environment: home.environment(["AWS_REGION": "us-east-1"]))
            Issue.record("the malformed file was accepted")
        } catch {
            let text = "\(error)"
            #expect(text.contains("credentials:3"))
            #expect(!text.contains("wJalr"))
            #expect(!text.contains("SECRETKEY"))
        }
    }

    @Test("an unclosed section header is reported without its content")
    func malformedHeaderNotEchoed() throws {
        let home = try TemporaryAWSDirectory(credentials: "[default\naws_secret_access_key = hunter2secret\n")
        defer { home.remove() }
        do {
            _ = try BedrockConfiguration.resolve(environment: home.environment(["AWS_REGION": "us-east-1"]))
            Issue.record("accepted")
        } catch {
            #expect("\(error)".contains("credentials:1"))
            #expect(!"\(error)".contains("[default"))
        }
    }
}

@Suite("Fault rule numbers are range-checked before they become durations")
struct FaultRuleNumberTests {
    @Test(
        "seconds must be finite, positive and at most a year",
        arguments: [1e300, Double.infinity, Double.nan, -1, 0, 31_536_001])
    func badSeconds(seconds: Double) {
        #expect(throws: FaultRuleError.self) {
            _ = try FaultRule(seconds: seconds, error: "ThrottlingException").effect()
        }
    }

    @Test("a sane window is accepted")
    func goodSeconds() throws {
        _ = try FaultRule(seconds: 2.5, error: "ThrottlingException").effect()
    }
}
