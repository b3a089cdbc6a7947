import BedrockRuntime
import Foundation
import Testing

@testable import BedrockBatch

/// Where the batch client sends each service's requests, by the AWS SDKs' rules.
@Suite struct BatchEndpointTests {
    static func resolve(_ variables: [String: String]) throws -> BedrockBatchClient.Configuration {
        var environment = variables
        environment["AWS_CONFIG_FILE"] = "/nonexistent/config"
        environment["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/credentials"
        environment["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
        environment["AWS_SECRET_ACCESS_KEY"] = "secret"
        let resolved = try BedrockConfiguration.resolve(environment: ConfigurationEnvironment(environment))
        return try BedrockBatchClient.Configuration(resolved: resolved)
    }

    @Test("regional endpoints: bedrock.{region}, s3.{region}; FIPS bedrock-fips and s3-fips; S3 dual-stack")
    func regional() throws {
        let plain = try Self.resolve(["AWS_REGION": "eu-west-1"])
        #expect(plain.controlEndpoint.url == "https://bedrock.eu-west-1.amazonaws.com")
        #expect(plain.s3Endpoint.url == "https://s3.eu-west-1.amazonaws.com")
        #expect(plain.shared.endpoint.url == "https://bedrock-runtime.eu-west-1.amazonaws.com")
        let fips = try Self.resolve(["AWS_REGION": "us-gov-west-1", "AWS_USE_FIPS_ENDPOINT": "true"])
        #expect(fips.controlEndpoint.url == "https://bedrock-fips.us-gov-west-1.amazonaws.com")
        #expect(fips.s3Endpoint.url == "https://s3-fips.us-gov-west-1.amazonaws.com")
        let china = try Self.resolve(["AWS_REGION": "cn-north-1"])
        #expect(china.controlEndpoint.url == "https://bedrock.cn-north-1.amazonaws.com.cn")
        let dual = try AWSServiceEndpoint.s3.resolve(region: "us-east-2", useDualStack: true)
        #expect(dual.url == "https://s3.dualstack.us-east-2.amazonaws.com")
    }

    @Test("AWS_ENDPOINT_URL_BEDROCK and AWS_ENDPOINT_URL_S3 win over AWS_ENDPOINT_URL, each for its service only")
    func overrides() throws {
        let specific = try Self.resolve([
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_BEDROCK": "http://127.0.0.1:4001",
            "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:4002", "AWS_ENDPOINT_URL": "http://127.0.0.1:4003",
        ])
        #expect(specific.controlEndpoint.url == "http://127.0.0.1:4001")
        #expect(specific.s3Endpoint.url == "http://127.0.0.1:4002")
        #expect(specific.shared.endpoint.url == "http://127.0.0.1:4003")
        let runtimeOnly = try Self.resolve([
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "http://127.0.0.1:4004",
        ])
        #expect(runtimeOnly.controlEndpoint.url == "https://bedrock.us-east-1.amazonaws.com")
        #expect(runtimeOnly.s3Endpoint.url == "https://s3.us-east-1.amazonaws.com")
        let ignored = try Self.resolve([
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:4002",
            "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
        ])
        #expect(ignored.s3Endpoint.url == "https://s3.us-east-1.amazonaws.com")
        #expect(throws: BedrockError.self) {
            _ = try Self.resolve(["AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": "ftp://x"])
        }
    }

    @Test("a bearer token signs the control plane; S3 still signs with SigV4 by S3's rules")
    func bearerAndS3() throws {
        let configuration = try Self.resolve(["AWS_REGION": "us-east-1", "AWS_BEARER_TOKEN_BEDROCK": "ABSKdG9rZW4="])
        #expect(configuration.shared.authorizer is BedrockAuthorizer)
        let s3 = try #require(configuration.s3Authorizer as? SigV4Authorizer)
        #expect(s3.signer.service == "s3")
        #expect(s3.signer.pathCanonicalization == .asSent)
        #expect(s3.sendsContentSHA256)
    }
}
