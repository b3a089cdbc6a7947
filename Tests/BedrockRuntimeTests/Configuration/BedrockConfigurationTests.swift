import BedrockRuntime
import Foundation
import Testing

/// Configuration from code, environment and shared files, in the SDKs' precedence.
@Suite struct BedrockConfigurationTests {
    static let config = """
        # comment
        [default]
        region = us-west-2
        retry_mode = adaptive
        max_attempts = 5

        [profile dev]
        region = eu-central-1
        use_fips_endpoint = true
        ca_bundle = ~/ca.pem
        services = local

        [profile local]
        services = local
        region = us-east-1

        [profile plain-endpoint]
        endpoint_url = https://profile.example:9443
        region = us-east-1

        [services local]
        bedrock_runtime =
          endpoint_url = http://127.0.0.1:4566
        s3 =
          endpoint_url = http://127.0.0.1:9000

        [sso-session corp]
        sso_region = us-east-1
        """

    /// The one section of a shared file's `text`.
    static func section(_ text: String) throws -> ConfigSection {
        try #require(try SharedConfigFiles.parse(text, path: "config").first?.1)
    }

    /// Everything a section shows of itself: its description and what `dump` prints.
    static func shown(_ section: ConfigSection) -> String {
        var dumped = ""
        dump(section, to: &dumped)
        return "\(section)" + dumped
    }

    /// Keys and values are trimmed as botocore's configparser trims them (Python's
    /// `str.strip()`): a secret key name ending in U+001F is the secret key there, so it is
    /// one here, and its value is never shown.
    @Test func keysAreTrimmedAsPythonTrimsThem() throws {
        let section = try Self.section(
            "[default]\naws_secret_access_key\u{1F} = s3cretValueThatMustNotShow\u{0B}\nregion\u{1C}=us-west-2\n")
        #expect(section.values["aws_secret_access_key"] == "s3cretValueThatMustNotShow")
        #expect(section.values["region"] == "us-west-2")
        #expect(!Self.shown(section).contains("s3cretValue"), "\(Self.shown(section))")
    }

    /// Python reads config files with universal newlines: a lone carriage return ends a
    /// line, so the secret after it is a key of its own, read and never shown.
    @Test func aLoneCarriageReturnEndsALineAsInPython() throws {
        let section = try Self.section(
            "[default]\nregion = us-west-2\raws_secret_access_key = s3cretValueThatMustNotShow\rb = c")
        #expect(section.values["region"] == "us-west-2")
        #expect(section.values["aws_secret_access_key"] == "s3cretValueThatMustNotShow")
        #expect(section.values["b"] == "c")
        #expect(!Self.shown(section).contains("s3cretValue"), "\(Self.shown(section))")
    }

    /// A line belongs to a nested block only when indented deeper than the line that
    /// opened it, as configparser reads it; and a secret key inside a nested block is
    /// masked in `dump` too (both from the attacker audit of 2026-12-06).
    @Test func nestedBlocksFollowRelativeIndentationAndMaskSecrets() throws {
        for opener in ["\ts3 =", "  s3 ="] {
            let section = try Self.section(
                "[default]\n\(opener)\n aws_secret_access_key = s3cretValueThatMustNotShow\n")
            #expect(section.values["aws_secret_access_key"] == "s3cretValueThatMustNotShow", "\(opener)")
            #expect(section.nested["s3"]?["aws_secret_access_key"] == nil, "\(opener)")
            #expect(!Self.shown(section).contains("s3cretValue"), "\(Self.shown(section))")
        }
        let section = try Self.section(
            "[default]\ns3 =\n  max_concurrent_requests = 10\n  aws_secret_access_key = s3cretValueThatMustNotShow\n")
        #expect(section.nested["s3"]?["max_concurrent_requests"] == "10")
        let shown = Self.shown(section)
        #expect(!shown.contains("s3cretValue") && shown.contains("max_concurrent_requests"), "\(shown)")
    }

    /// configparser's other rules, each a way botocore reads a secret Quarry would have
    /// shown (the second attacker audit): `:` as the delimiter, a deeper-indented line
    /// continuing a value, a block under a secret key, and Python's white space in indents.
    @Test func configparserDelimitersContinuationsAndIndentsKeepSecretsMasked() throws {
        let colon = try Self.section("[default]\naws_session_token: TOKSECRET123abc==\n")
        #expect(colon.values["aws_session_token"] == "TOKSECRET123abc==")
        #expect(!Self.shown(colon).contains("TOKSECRET"), "\(Self.shown(colon))")
        let continued = try Self.section(
            "[default]\naws_session_token = TOKPART1\n  TOKPART2=TOKPART3\nregion = us-east-1\n")
        #expect(continued.values["aws_session_token"] == "TOKPART1\nTOKPART2=TOKPART3")
        #expect(continued.values["TOKPART2"] == nil && continued.values["region"] == "us-east-1")
        #expect(!Self.shown(continued).contains("TOKPART"), "\(Self.shown(continued))")
        let underSecret = try Self.section("[default]\naws_session_token =\n  part = TOKSECRETNESTED\n")
        #expect(!Self.shown(underSecret).contains("TOKSECRETNESTED"), "\(Self.shown(underSecret))")
        let separator = try Self.section(
            "[default]\n\u{1C} s3 =\n  aws_secret_access_key = s3cretValueThatMustNotShow\n")
        #expect(separator.values["aws_secret_access_key"] == "s3cretValueThatMustNotShow")
    }

    @Test func defaultsComeFromTheDefaultProfile() throws {
        let dir = try TemporaryAWSDirectory(config: Self.config)
        defer { dir.remove() }
        let configuration = try BedrockConfiguration.resolve(environment: dir.environment())
        #expect(configuration.profileName == "default")
        #expect(configuration.region?.name == "us-west-2")
        #expect(configuration.endpoint.url == "https://bedrock-runtime.us-west-2.amazonaws.com")
        #expect(configuration.retryMode == .adaptive)
        #expect(configuration.maxAttempts == 5)
        #expect(configuration.bearerToken == nil)
        #expect(!configuration.isCustomEndpoint)
    }

    @Test func environmentWinsOverProfileAndCodeWinsOverEnvironment() throws {
        let dir = try TemporaryAWSDirectory(config: Self.config)
        defer { dir.remove() }
        let environment = dir.environment([
            "AWS_REGION": "ap-northeast-1", "AWS_DEFAULT_REGION": "sa-east-1",
            "AWS_RETRY_MODE": "standard", "AWS_MAX_ATTEMPTS": "7",
            "AWS_USE_DUALSTACK_ENDPOINT": "TRUE",
        ])
        let fromEnvironment = try BedrockConfiguration.resolve(environment: environment)
        #expect(fromEnvironment.region?.name == "ap-northeast-1")
        #expect(fromEnvironment.endpoint.url == "https://bedrock-runtime.ap-northeast-1.api.aws")
        #expect(fromEnvironment.retryMode == .standard)
        #expect(fromEnvironment.maxAttempts == 7)
        let fromCode = try BedrockConfiguration.resolve(
            environment: environment,
            overrides: .init(region: "eu-west-3", useDualStack: false, retryMode: .legacy, maxAttempts: 2))
        #expect(fromCode.endpoint.url == "https://bedrock-runtime.eu-west-3.amazonaws.com")
        #expect(fromCode.retryMode == .legacy)
        #expect(fromCode.maxAttempts == 2)
    }

    @Test func servicesSectionEndpointAndItsPrecedence() throws {
        let dir = try TemporaryAWSDirectory(config: Self.config)
        defer { dir.remove() }
        let local = try BedrockConfiguration.resolve(environment: dir.environment(["AWS_PROFILE": "local"]))
        #expect(local.endpoint.url == "http://127.0.0.1:4566")
        #expect(local.isCustomEndpoint)
        let specific = try BedrockConfiguration.resolve(
            environment: dir.environment([
                "AWS_PROFILE": "local", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://localhost:1111",
                "AWS_ENDPOINT_URL": "http://localhost:2222",
            ]))
        #expect(specific.endpoint.url == "http://localhost:1111")
        let general = try BedrockConfiguration.resolve(
            environment: dir.environment([
                "AWS_PROFILE": "plain-endpoint", "AWS_ENDPOINT_URL": "http://localhost:2222",
            ]))
        #expect(general.endpoint.url == "http://localhost:2222")
        let profileURL = try BedrockConfiguration.resolve(
            environment: dir.environment(["AWS_PROFILE": "plain-endpoint"]))
        #expect(profileURL.endpoint.url == "https://profile.example:9443")
        let ignored = try BedrockConfiguration.resolve(
            environment: dir.environment([
                "AWS_PROFILE": "local", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
            ]))
        #expect(ignored.endpoint.url == "https://bedrock-runtime.us-east-1.amazonaws.com")
        let code = try BedrockConfiguration.resolve(
            environment: dir.environment(["AWS_PROFILE": "local"]),
            overrides: .init(endpointURL: "https://code.example"))
        #expect(code.endpoint.url == "https://code.example")
    }

    @Test func fipsWithACustomEndpointIsAnError() throws {
        let dir = try TemporaryAWSDirectory(config: Self.config)
        defer { dir.remove() }
        try dir.write("ca.pem", "-----BEGIN CERTIFICATE-----\n")
        let error = #expect(throws: ConfigurationError.self) {
            try BedrockConfiguration.resolve(environment: dir.environment(["AWS_PROFILE": "dev"]))
        }
        #expect(error?.description == "Invalid Configuration: FIPS and custom endpoint are not supported")
    }

    @Test func bearerTokenComesFromTheEnvironmentAndIsNeverShown() throws {
        let dir = try TemporaryAWSDirectory(config: Self.config)
        defer { dir.remove() }
        let token = "ABSKQmVkcm9ja0FQSUtleS1zZWNyZXQtdmFsdWU="
        let configuration = try BedrockConfiguration.resolve(
            environment: dir.environment([
                "AWS_BEARER_TOKEN_BEDROCK": token, "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            ]))
        let bearer = try #require(configuration.bearerToken)
        #expect(bearer.authorizationHeader == "Bearer " + token)
        var dumped = ""
        dump(bearer, to: &dumped)
        var dumpedConfiguration = ""
        dump(configuration, to: &dumpedConfiguration)
        let json = String(decoding: try JSONEncoder().encode(bearer), as: UTF8.self)
        for text in ["\(bearer)", String(reflecting: bearer), dumped, json] {
            #expect(!text.contains(token), "\(text)")
        }
        #expect(!dumpedConfiguration.contains(token))
        let empty = #expect(throws: ConfigurationError.self) {
            try BedrockConfiguration.resolve(environment: dir.environment(["AWS_BEARER_TOKEN_BEDROCK": "has space"]))
        }
        #expect(empty?.description.contains("AWS_BEARER_TOKEN_BEDROCK") == true)
        #expect(empty.map { !$0.description.contains("has space") } == true)
    }

    @Test func badValuesNameTheirSource() throws {
        let dir = try TemporaryAWSDirectory(config: Self.config)
        defer { dir.remove() }
        let cases: [([String: String], String)] = [
            (["AWS_REGION": "US_EAST_1"], "invalid region from AWS_REGION"),
            (["AWS_MAX_ATTEMPTS": "zero"], "invalid max_attempts from AWS_MAX_ATTEMPTS"),
            (["AWS_RETRY_MODE": "fast"], "invalid retry_mode from AWS_RETRY_MODE"),
            (["AWS_USE_FIPS_ENDPOINT": "yes"], "invalid use_fips_endpoint from AWS_USE_FIPS_ENDPOINT"),
            (["AWS_PROFILE": "nope"], "The config profile (nope) could not be found"),
            (
                ["AWS_CA_BUNDLE": "/nonexistent/ca.pem"],
                "cannot read CA bundle (from AWS_CA_BUNDLE) '/nonexistent/ca.pem'"
            ),
        ]
        for (variables, message) in cases {
            let error = #expect(throws: ConfigurationError.self) {
                try BedrockConfiguration.resolve(environment: dir.environment(variables))
            }
            #expect(error?.description.hasPrefix(message) == true, "\(String(describing: error))")
        }
    }

    @Test func malformedFilesNameFileAndLine() throws {
        let dir = try TemporaryAWSDirectory(config: "[default]\nregion = us-east-1\nthis line has no equals\n")
        defer { dir.remove() }
        let error = #expect(throws: ConfigurationError.self) {
            try BedrockConfiguration.resolve(environment: dir.environment())
        }
        #expect(
            error
                == .malformedFile(
                    path: dir.home.path + "/.aws/config", line: 3,
                    problem: "expected 'key = value' (the line's content is not shown: it may hold a secret)"))
        let unclosed = try TemporaryAWSDirectory(config: "[profile x\n")
        defer { unclosed.remove() }
        #expect(throws: ConfigurationError.self) {
            try BedrockConfiguration.resolve(environment: unclosed.environment())
        }
    }

    @Test func credentialsFileOverridesConfigAndParsesSections() throws {
        var files = SharedConfigFiles()
        try files.merge(
            text: "[profile a]\nregion = us-east-1\naws_access_key_id = FROMCONFIG\n", path: "config",
            isCredentialsFile: false)
        try files.merge(
            text: "[a]\naws_access_key_id = FROMCREDENTIALS\n", path: "credentials", isCredentialsFile: true)
        try files.merge(text: Self.config, path: "config2", isCredentialsFile: false)
        #expect(files.profiles["a"]?["aws_access_key_id"] == "FROMCREDENTIALS")
        #expect(files.profiles["a"]?["region"] == "us-east-1")
        #expect(files.services["local"]?.nested["bedrock_runtime"]?["endpoint_url"] == "http://127.0.0.1:4566")
        #expect(files.services["local"]?.nested["s3"]?["endpoint_url"] == "http://127.0.0.1:9000")
        #expect(files.ssoSessions["corp"]?["sso_region"] == "us-east-1")
    }

    @Test func regionsAreValidated() {
        for good in ["us-east-1", "us-gov-west-1", "cn-north-1", "eusc-de-east-1"] { #expect(AWSRegion.isValid(good)) }
        for bad in ["", "useast1", "US-EAST-1", "us-east-1.", "-us-east-1", "us--east-1", "us east 1", "us-east-1/x"] {
            #expect(!AWSRegion.isValid(bad), "\(bad)")
            #expect(throws: ConfigurationError.self) { try AWSRegion(bad) }
        }
    }
}
