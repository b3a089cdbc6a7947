import BedrockRuntime
import TestSupport
import Testing

/// Endpoint rules: every `client[]` vector's host, plus the partitions and the
/// error cases of botocore's rule set.
@Suite struct EndpointResolutionTests {
    @Test func everyClientVectorResolvesToTheRecordedEndpoint() throws {
        let (cases, path) = try SigV4VectorFile.loadClientCases()
        var checked = 0
        for vector in cases {
            let resolver = BedrockEndpointResolver(
                region: vector.input.region,
                useFIPS: vector.input.client_config.use_fips_endpoint ?? false,
                useDualStack: vector.input.client_config.use_dualstack_endpoint ?? false,
                customEndpoint: vector.input.endpoint_url)
            let endpoint = try resolver.resolve()
            #expect(
                endpoint.url(for: vector.expected.url_path)
                    == vector.expected.url.split(separator: "?").first.map(String.init),
                "\(vector.id)")
            #expect(vector.expected.url.hasPrefix(endpoint.url + "/"), "\(vector.id)")
            checked += 1
        }
        print("Endpoint conformance: checked \(checked) client[] cases from \(path)")
        #expect(checked == cases.count)
    }

    @Test(arguments: [
        ("us-east-1", false, false, "https://bedrock-runtime.us-east-1.amazonaws.com"),
        ("us-west-2", true, false, "https://bedrock-runtime-fips.us-west-2.amazonaws.com"),
        ("eu-central-1", false, true, "https://bedrock-runtime.eu-central-1.api.aws"),
        ("us-east-1", true, true, "https://bedrock-runtime-fips.us-east-1.api.aws"),
        ("cn-north-1", false, false, "https://bedrock-runtime.cn-north-1.amazonaws.com.cn"),
        ("cn-northwest-1", false, true, "https://bedrock-runtime.cn-northwest-1.api.amazonwebservices.com.cn"),
        ("us-gov-west-1", false, false, "https://bedrock-runtime.us-gov-west-1.amazonaws.com"),
        ("us-gov-west-1", true, false, "https://bedrock-runtime-fips.us-gov-west-1.amazonaws.com"),
        ("us-iso-east-1", false, false, "https://bedrock-runtime.us-iso-east-1.c2s.ic.gov"),
        ("xx-unknown-1", false, false, "https://bedrock-runtime.xx-unknown-1.amazonaws.com"),
    ])
    func partitionsAndVariants(region: String, fips: Bool, dualStack: Bool, expected: String) throws {
        let endpoint = try BedrockEndpointResolver(region: region, useFIPS: fips, useDualStack: dualStack).resolve()
        #expect(endpoint.url == expected)
    }

    @Test func partitionsAreMatchedByPattern() {
        #expect(AWSPartition.of(region: "us-gov-east-1").name == "aws-us-gov")
        #expect(AWSPartition.of(region: "cn-north-1").name == "aws-cn")
        #expect(AWSPartition.of(region: "us-isob-east-1").name == "aws-iso-b")
        #expect(AWSPartition.of(region: "ap-southeast-2").name == "aws")
    }

    @Test func customEndpointsAreUsedAsIsAndRefuseFIPSAndDualStack() throws {
        let custom = try BedrockEndpointResolver(region: nil, customEndpoint: "http://127.0.0.1:8080/base/").resolve()
        #expect(custom.url == "http://127.0.0.1:8080/base")
        #expect(custom.port == 8080)
        let fips = #expect(throws: EndpointResolutionError.self) {
            try BedrockEndpointResolver(region: "us-east-1", useFIPS: true, customEndpoint: "https://x").resolve()
        }
        #expect(fips?.description == "Invalid Configuration: FIPS and custom endpoint are not supported")
        let dual = #expect(throws: EndpointResolutionError.self) {
            try BedrockEndpointResolver(region: "us-east-1", useDualStack: true, customEndpoint: "https://x").resolve()
        }
        #expect(dual?.description == "Invalid Configuration: Dualstack and custom endpoint are not supported")
    }

    @Test func missingOrBadRegionsAndURLsAreClearErrors() {
        let missing = #expect(throws: EndpointResolutionError.self) {
            try BedrockEndpointResolver(region: nil).resolve()
        }
        #expect(missing?.description == "Invalid Configuration: Missing Region")
        let bad = #expect(throws: EndpointResolutionError.self) {
            try BedrockEndpointResolver(region: "us-east-1.evil.com/").resolve()
        }
        #expect(bad?.description.contains("'us-east-1.evil.com/' is not a valid region name") == true)
        for url in [
            "ftp://x", "localhost:8080", "https://user:pw@host", "https://host:99999", "https://h/?q=1", "https://",
        ] {
            #expect(throws: EndpointResolutionError.self, "\(url)") { try BedrockEndpoint(validating: url) }
        }
    }
}
