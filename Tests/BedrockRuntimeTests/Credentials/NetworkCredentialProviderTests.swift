import Crypto
import Foundation
import HTTPTestSupport
import Testing

@testable import BedrockRuntime

/// STS, SSO, container and IMDS providers against real local servers.
@Suite struct NetworkCredentialProviderTests {
    static let baseKeys = SigV4Credentials(accessKeyId: "AKIDBASEEXAMPLE01", secretAccessKey: "baseSecretKeyEXAMPLE")

    static func stsXML(
        result: String, keyId: String = "ASIAROLEEXAMPLE001", secret: String = "roleSecretEXAMPLE",
        token: String = "roleSessionTokenEXAMPLE"
    ) -> String {
        """
        <\(result.replacingOccurrences(of: "Result", with: "Response")) xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <\(result)>
            <Credentials>
              <AccessKeyId>\(keyId)</AccessKeyId>
              <SecretAccessKey>\(secret)</SecretAccessKey>
              <SessionToken>\(token)</SessionToken>
              <Expiration>2030-01-01T00:00:00Z</Expiration>
            </Credentials>
            <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/r/s</Arn></AssumedRoleUser>
          </\(result)>
        </\(result.replacingOccurrences(of: "Result", with: "Response"))>
        """
    }

    func endpoints(_ server: ScriptedHTTPServer) -> CredentialEndpoints {
        let base = server.endpoint
        return CredentialEndpoints(
            sts: { _ in base }, sso: { _ in base }, containerRelativeBase: base, timeout: .seconds(5))
    }

    @Test func assumeRoleChainSignsWithTheSourceProfileAndReadsTheXML() async throws {
        // The fake STS really verifies the SigV4 signature, with signing name `sts`.
        let verifier = SigV4Verifier(service: "sts") { $0 == Self.baseKeys.accessKeyId ? Self.baseKeys : nil }
        let server = try await ScriptedHTTPServer.start { request, _ in
            let received = SigV4ReceivedRequest(
                method: request.method, requestTarget: request.uri, headers: request.headers,
                bodySHA256: SigV4ReceivedRequest.sha256Hex(ofBody: request.body))
            do throws(SigV4VerificationError) { _ = try verifier.verify(received) } catch {
                return .text(
                    status: 403,
                    body:
                        "<ErrorResponse><Error><Code>\(error.errorType)</Code><Message>\(error.message)</Message></Error></ErrorResponse>"
                )
            }
            return .text(body: Self.stsXML(result: "AssumeRoleResult"))
        }
        defer { Task { await server.shutdown() } }
        let dir = try TemporaryAWSDirectory(
            config: """
                [profile role]
                role_arn = arn:aws:iam::123456789012:role/quarry
                source_profile = base
                role_session_name = quarry-test
                region = eu-west-1
                """,
            credentials: "[base]\naws_access_key_id = AKIDBASEEXAMPLE01\naws_secret_access_key = baseSecretKeyEXAMPLE\n"
        )
        defer { dir.remove() }
        let environment = dir.environment(["AWS_PROFILE": "role"])
        let configuration = try BedrockConfiguration.resolve(environment: environment)
        let provider = ProfileCredentialProvider(
            files: configuration.sharedFiles, profileName: "role",
            environment: environment, endpoints: endpoints(server))
        let credentials = try await provider.credentials()
        #expect(credentials.accessKeyId == "ASIAROLEEXAMPLE001")
        #expect(credentials.secretAccessKey == "roleSecretEXAMPLE")
        #expect(credentials.sessionToken == "roleSessionTokenEXAMPLE")
        #expect(credentials.expiration == ISO8601DateFormatter().date(from: "2030-01-01T00:00:00Z"))
        let request = try #require(server.requests.first)
        #expect(request.method == "POST")
        #expect(
            request.bodyText
                == "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fquarry&RoleSessionName=quarry-test"
        )
        #expect(request.header("Authorization")?.contains("/eu-west-1/sts/aws4_request") == true)
    }

    @Test func stsErrorsAndMalformedXMLAreClearErrors() async throws {
        let server = try await ScriptedHTTPServer.start { request, _ in
            if request.bodyText.contains("RoleArn=bad") {
                return .text(body: "<AssumeRoleWithWebIdentityResponse><oops></AssumeRoleWithWebIdentityResponse>")
            }
            if request.bodyText.contains("RoleArn=missing") {
                return .text(
                    body: "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                        + "<AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"
                )
            }
            return .text(
                status: 403,
                body: """
                    <ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>
                    <Message>Not authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error></ErrorResponse>
                    """)
        }
        defer { Task { await server.shutdown() } }
        let dir = try TemporaryAWSDirectory()
        defer { dir.remove() }
        let tokenFile = try dir.write("token", "oidc-token-SECRET\n")
        for (role, expected) in [
            ("denied", "STS AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"),
            ("bad", "STS response is not well-formed XML"),
            ("missing", "STS response has no AssumeRoleWithWebIdentityResult/Credentials/SecretAccessKey"),
        ] {
            let provider = WebIdentityCredentialProvider(
                environment: dir.environment(["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": role]),
                region: "us-east-1", endpoints: endpoints(server))
            do {
                _ = try await provider.credentials()
                Issue.record("\(role): expected an error")
            } catch let error as CredentialsError {
                #expect(error.description == "web identity (environment): \(expected)")
                #expect(!error.description.contains("oidc-token-SECRET"))
            }
        }
    }

    /// Foundation's XMLParser on Linux dereferences a null pointer on a processing
    /// instruction without data: an STS answer holding any processing instruction is
    /// refused before it parses; the XML declaration still reads.
    @Test func processingInstructionsInSTSAnswersAreRefused() throws {
        let good = Self.stsXML(result: "AssumeRoleResult")
        for body in [
            "<?x?>", "<a><?x?></a>", " <?pi data?>" + good, good + "<?x?>", "<?xml version=\"1.0\"?><?x?>" + good,
        ] {
            #expect(throws: CredentialsError.self, "\(body.prefix(40))") {
                try STSResponseReader.credentials(
                    status: 200, body: Array(body.utf8), result: "AssumeRoleResult", provider: "sts")
            }
        }
        for body in [
            good, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + good, "\u{FEFF}<?xml version=\"1.0\"?>" + good,
        ] {
            let credentials = try STSResponseReader.credentials(
                status: 200, body: Array(body.utf8), result: "AssumeRoleResult", provider: "sts")
            #expect(credentials.secretAccessKey == "roleSecretEXAMPLE")
        }
        #expect(STSResponseReader.holdsProcessingInstruction(Array("<?x?>".utf8)))
        #expect(!STSResponseReader.holdsProcessingInstruction(Array("<?xml version='1.0'?><a/>".utf8)))
    }

    @Test func webIdentitySendsTheTokenFileContents() async throws {
        let server = try await ScriptedHTTPServer.start { _, _ in
            .text(body: Self.stsXML(result: "AssumeRoleWithWebIdentityResult"))
        }
        defer { Task { await server.shutdown() } }
        let dir = try TemporaryAWSDirectory()
        defer { dir.remove() }
        let tokenFile = try dir.write("token", "eyJhbGciOi.payload.sig\n")
        let provider = WebIdentityCredentialProvider(
            environment: dir.environment([
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::1:role/w",
                "AWS_ROLE_SESSION_NAME": "s1",
            ]),
            region: "us-east-1", endpoints: endpoints(server))
        #expect(try await provider.credentials().accessKeyId == "ASIAROLEEXAMPLE001")
        let body = try #require(server.requests.first).bodyText
        #expect(body.contains("Action=AssumeRoleWithWebIdentity"))
        #expect(body.contains("WebIdentityToken=eyJhbGciOi.payload.sig"))
        #expect(server.requests.first?.header("Authorization") == nil)
    }

    @Test func ssoUsesTheCachedTokenAndGetRoleCredentials() async throws {
        let server = try await ScriptedHTTPServer.start { request, _ in
            guard request.header("x-amz-sso_bearer_token") == "cached-sso-access-token" else {
                return .text(status: 401)
            }
            return .text(
                body:
                    #"{"roleCredentials":{"accessKeyId":"ASIASSOEXAMPLE0001","secretAccessKey":"ssoSecret","sessionToken":"ssoToken","expiration":1893456000000}}"#
            )
        }
        defer { Task { await server.shutdown() } }
        let dir = try TemporaryAWSDirectory(
            config: """
                [profile sso]
                sso_session = corp
                sso_account_id = 123456789012
                sso_role_name = Reader
                [sso-session corp]
                sso_region = us-east-1
                sso_start_url = https://corp.awsapps.com/start
                """)
        defer { dir.remove() }
        let digest = Insecure.SHA1.hash(data: Array("corp".utf8)).map { String(format: "%02x", $0) }.joined()
        try dir.write(
            ".aws/sso/cache/\(digest).json",
            #"{"accessToken":"cached-sso-access-token","expiresAt":"2099-01-01T00:00:00Z","region":"us-east-1"}"#)
        let environment = dir.environment()
        let files = try SharedConfigFiles.load(from: environment)
        let provider = ProfileCredentialProvider(
            files: files, profileName: "sso", environment: environment,
            endpoints: endpoints(server))
        let credentials = try await provider.credentials()
        #expect(credentials.accessKeyId == "ASIASSOEXAMPLE0001")
        #expect(credentials.expiration == Date(timeIntervalSince1970: 1_893_456_000))
        #expect(server.requests.first?.uri == "/federation/credentials?role_name=Reader&account_id=123456789012")

        try FileManager.default.removeItem(atPath: dir.home.path + "/.aws/sso/cache/\(digest).json")
        await #expect(throws: CredentialsError.self) { try await provider.credentials() }
    }

    @Test func containerCredentialsSendTheAuthorizationToken() async throws {
        let server = try await ScriptedHTTPServer.start { request, _ in
            guard request.uri == "/v2/credentials/abc", request.header("Authorization") == "container-auth-token" else {
                return .text(status: 403)
            }
            return .text(
                body:
                    #"{"AccessKeyId":"ASIACONTAINER00001","SecretAccessKey":"cs","Token":"ct","Expiration":"2030-01-01T00:00:00Z"}"#
            )
        }
        defer { Task { await server.shutdown() } }
        let dir = try TemporaryAWSDirectory()
        defer { dir.remove() }
        let tokenFile = try dir.write("auth", "container-auth-token\n")
        let relative = ContainerCredentialProvider(
            environment: dir.environment([
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
            ]),
            endpoints: endpoints(server))
        #expect(try await relative.credentials().sessionToken == "ct")
        let full = ContainerCredentialProvider(
            environment: dir.environment([
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.endpoint + "/v2/credentials/abc",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-auth-token",
            ]))
        #expect(try await full.credentials().accessKeyId == "ASIACONTAINER00001")
        let wrongToken = ContainerCredentialProvider(
            environment: dir.environment([
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.endpoint + "/v2/credentials/abc",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong",
            ]))
        await #expect(
            throws: CredentialsError.serviceError(provider: "container", problem: "endpoint answered HTTP 403")
        ) {
            try await wrongToken.credentials()
        }
        let forbiddenHost = ContainerCredentialProvider(
            environment: dir.environment([
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://attacker.example/creds"
            ]))
        do {
            _ = try await forbiddenHost.credentials()
            Issue.record("expected the host to be refused")
        } catch let error as CredentialsError {
            #expect(error.description.contains("host 'attacker.example' is not allowed over http"))
        }
    }

    @Test("over http only loopback literals pass: names that start like one are refused before any lookup")
    func containerHostCheckIsNotTextual() throws {
        for host in [
            "127.0.attacker.com", "127.0.0.evil", "127.00.0.1", "127.0.0.256", "127.0.0", "127.0.0.1.",
            "127.0.0.1.evil",
        ] {
            #expect(throws: CredentialsError.self, "\(host)") {
                try ContainerCredentialProvider.checkAllowed("http://\(host):9/creds", provider: "container")
            }
        }
        for host in ["127.0.0.1", "127.1.2.3", "127.255.255.255", "169.254.170.2"] {
            #expect(throws: Never.self, "\(host)") {
                try ContainerCredentialProvider.checkAllowed("http://\(host):9/creds", provider: "container")
            }
        }
        #expect(throws: Never.self) {
            try ContainerCredentialProvider.checkAllowed("https://anything.example/creds", provider: "container")
        }
    }

    @Test func imdsV2FetchesATokenFirst() async throws {
        let server = try await ScriptedHTTPServer.start { request, _ in
            switch (request.method, request.uri) {
            case ("PUT", "/latest/api/token"):
                guard request.header("x-aws-ec2-metadata-token-ttl-seconds") == "21600" else {
                    return .text(status: 400)
                }
                return .text(body: "imds-session-token")
            case (_, _) where request.header("x-aws-ec2-metadata-token") != "imds-session-token":
                return .text(status: 401)
            case ("GET", "/latest/meta-data/iam/security-credentials/"):
                return .text(body: "quarry-role\n")
            case ("GET", "/latest/meta-data/iam/security-credentials/quarry-role"):
                return .text(
                    body:
                        #"{"Code":"Success","AccessKeyId":"ASIAIMDSEXAMPLE001","SecretAccessKey":"is","Token":"it","Expiration":"2030-01-01T00:00:00Z"}"#
                )
            default:
                return .text(status: 404)
            }
        }
        defer { Task { await server.shutdown() } }
        let provider = IMDSCredentialProvider(
            environment: ConfigurationEnvironment([
                "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint
            ]))
        #expect(try await provider.credentials().accessKeyId == "ASIAIMDSEXAMPLE001")
        #expect(server.requests.map(\.method) == ["PUT", "GET", "GET"])

        let disabled = IMDSCredentialProvider(
            environment: ConfigurationEnvironment([
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.endpoint,
            ]))
        do {
            _ = try await disabled.credentials()
            Issue.record("expected notConfigured")
        } catch let error as CredentialsError {
            #expect(error.isNotConfigured)
        }
        #expect(server.requests.count == 3)
    }

    @Test func imdsThatIsNotThereIsNotConfigured() async throws {
        // A port nobody listens on: the connection is refused at once.
        let closed = try await ScriptedHTTPServer.start { _, _ in .text() }
        let url = closed.endpoint
        await closed.shutdown()
        let provider = IMDSCredentialProvider(
            environment: ConfigurationEnvironment([
                "AWS_EC2_METADATA_SERVICE_ENDPOINT": url
            ]))
        do {
            _ = try await provider.credentials()
            Issue.record("expected notConfigured")
        } catch let error as CredentialsError {
            #expect(error.isNotConfigured)
        }
    }
}
