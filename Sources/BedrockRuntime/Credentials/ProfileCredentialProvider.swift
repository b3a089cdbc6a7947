import BedrockWire
import Crypto
import Foundation

/// Credentials from a profile of the shared files, resolved the way the AWS SDKs do:
///
/// - `role_arn` with `source_profile` (followed recursively, cycles refused) or
///   `credential_source = Environment` → STS `AssumeRole`;
/// - `role_arn` with `web_identity_token_file` → STS `AssumeRoleWithWebIdentity`;
/// - `sso_session` / `sso_start_url` with `sso_account_id` and `sso_role_name` → the
///   SSO token cache and `GetRoleCredentials`;
/// - `credential_process` → the command's JSON output;
/// - `aws_access_key_id` / `aws_secret_access_key` (/ `aws_session_token`).
public struct ProfileCredentialProvider: CredentialProvider {
    public let name: String
    private let files: SharedConfigFiles
    private let profileName: String
    private let environment: ConfigurationEnvironment
    private let endpoints: CredentialEndpoints

    /// A provider for `profileName` of `files`.
    public init(
        files: SharedConfigFiles, profileName: String, environment: ConfigurationEnvironment,
        endpoints: CredentialEndpoints = CredentialEndpoints()
    ) {
        self.files = files
        self.profileName = profileName
        self.environment = environment
        self.endpoints = endpoints
        self.name = "profile '\(profileName)'"
    }

    public func credentials() async throws -> SigV4Credentials {
        guard files.profiles[profileName] != nil else {
            throw CredentialsError.notConfigured(provider: name, reason: "no such profile in the shared files")
        }
        return try await resolve(profileName, visited: [])
    }

    private func resolve(_ profile: String, visited: [String]) async throws -> SigV4Credentials {
        let label = "profile '\(profile)'"
        guard let section = files.profiles[profile] else {
            throw CredentialsError.invalidConfiguration(
                provider: name, problem: "\(label) (named by source_profile) does not exist")
        }
        if visited.contains(profile) {
            throw CredentialsError.invalidConfiguration(
                provider: name, problem: "source_profile cycle: \((visited + [profile]).joined(separator: " -> "))")
        }
        let region =
            section["region"] ?? files.profiles[profileName]?["region"] ?? environment["AWS_REGION"]
            ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"

        if let roleArn = section["role_arn"] {
            if let tokenFile = section["web_identity_token_file"] {
                return try await WebIdentityCredentialProvider(
                    tokenFile: environment.expandingTilde(tokenFile), roleArn: roleArn,
                    sessionName: section["role_session_name"],
                    region: region, endpoints: endpoints, name: name
                ).credentials()
            }
            let source: SigV4Credentials
            if let sourceProfile = section["source_profile"] {
                if sourceProfile == profile, let keys = try staticKeys(section, label: label) {
                    source = keys  // a profile may be its own source when it holds keys
                } else {
                    source = try await resolve(sourceProfile, visited: visited + [profile])
                }
            } else if let credentialSource = section["credential_source"] {
                source = try await credentialSourceCredentials(credentialSource, label: label)
            } else {
                throw CredentialsError.invalidConfiguration(
                    provider: name,
                    problem:
                        "\(label) has role_arn but neither source_profile, credential_source nor web_identity_token_file"
                )
            }
            var duration: Int?
            if let text = section["duration_seconds"] {
                guard let value = Int(text), (900...43_200).contains(value) else {
                    throw CredentialsError.invalidConfiguration(
                        provider: name,
                        problem: "\(label) duration_seconds '\(text)' is not 900–43200")
                }
                duration = value
            }
            let sessionName = section["role_session_name"] ?? "quarry-session-\(Int(Date().timeIntervalSince1970))"
            return try await STSClient(region: region, endpoints: endpoints).assumeRole(
                roleArn: roleArn, sessionName: sessionName, externalId: section["external_id"],
                durationSeconds: duration, source: source, provider: name)
        }
        if section["sso_session"] != nil || section["sso_start_url"] != nil {
            return try await SSOCredentialProvider(
                profile: section, label: label, files: files, environment: environment,
                endpoints: endpoints, name: name
            ).credentials()
        }
        if let command = section["credential_process"] {
            return try await ProcessCredentialProvider(command: command, name: name).credentials()
        }
        if let keys = try staticKeys(section, label: label) { return keys }
        if visited.isEmpty {
            throw CredentialsError.notConfigured(provider: name, reason: "\(label) holds no credentials")
        }
        throw CredentialsError.invalidConfiguration(provider: name, problem: "source \(label) holds no credentials")
    }

    private func staticKeys(_ section: ConfigSection, label: String) throws -> SigV4Credentials? {
        switch (section["aws_access_key_id"], section["aws_secret_access_key"]) {
        case (nil, nil): return nil
        case (let id?, let secret?):
            return SigV4Credentials(
                accessKeyId: id, secretAccessKey: secret, sessionToken: section["aws_session_token"])
        case (_?, nil):
            throw CredentialsError.invalidConfiguration(
                provider: name, problem: "\(label) has aws_access_key_id but no aws_secret_access_key")
        case (nil, _?):
            throw CredentialsError.invalidConfiguration(
                provider: name, problem: "\(label) has aws_secret_access_key but no aws_access_key_id")
        }
    }

    private func credentialSourceCredentials(_ source: String, label: String) async throws -> SigV4Credentials {
        switch source {
        case "Environment": return try await EnvironmentCredentialProvider(environment: environment).credentials()
        case "EcsContainer":
            return try await ContainerCredentialProvider(environment: environment, endpoints: endpoints).credentials()
        case "Ec2InstanceMetadata":
            return try await IMDSCredentialProvider(environment: environment, endpoints: endpoints).credentials()
        default:
            throw CredentialsError.invalidConfiguration(
                provider: name,
                problem:
                    "\(label) credential_source '\(source)' is not Environment, EcsContainer or Ec2InstanceMetadata")
        }
    }
}

/// `credential_process`: runs the command (through `/bin/sh -c`) and reads its
/// JSON (`Version: 1`, `AccessKeyId`, `SecretAccessKey`, `SessionToken`,
/// `Expiration`). A non-zero exit or bad output is an error naming the field; the
/// command's stderr is not echoed (it could hold secrets).
///
/// Run safely (`CredentialProcessRunner`): its own process group with a clean signal
/// mask, output capped at `maxOutputBytes` (64 KiB) and read off the cooperative pool,
/// and the whole group killed at the timeout (30 s), even when a background child
/// still holds its output open or it ignores SIGTERM.
public struct ProcessCredentialProvider: CredentialProvider {
    public let name: String
    private let command: String
    private let timeout: Duration
    private let maxOutputBytes: Int

    /// Output larger than this is refused (credential JSON is well under 4 KiB).
    public static let defaultMaxOutputBytes = 64 * 1024

    /// A provider running `command`, killed after `timeout`.
    public init(
        command: String, name: String, timeout: Duration = .seconds(30),
        maxOutputBytes: Int = ProcessCredentialProvider.defaultMaxOutputBytes
    ) {
        self.command = command
        self.name = name
        self.timeout = timeout
        self.maxOutputBytes = max(1, maxOutputBytes)
    }

    public func credentials() async throws -> SigV4Credentials {
        let data: [UInt8]
        do throws(CredentialProcessRunner.Failure) {
            data = try await CredentialProcessRunner(command: command, timeout: timeout, maxOutputBytes: maxOutputBytes)
                .run()
        } catch {
            let seconds = timeout.seconds.formatted()
            switch error {
            case .cannotStart(let why):
                throw CredentialsError.invalidConfiguration(
                    provider: name, problem: "credential_process cannot start: \(why)")
            case .timedOut:
                throw CredentialsError.unreachable(
                    provider: name,
                    problem:
                        "credential_process did not finish within \(seconds) s (Timeout); its process group was killed")
            case .outputTooLarge:
                throw CredentialsError.serviceError(
                    provider: name,
                    problem:
                        "credential_process output exceeds the \(ResponseLimits.describe(bytes: maxOutputBytes)) cap; its process group was killed"
                )
            case .exited(let status):
                throw CredentialsError.serviceError(
                    provider: name, problem: "credential_process exited with status \(status)")
            case .signalled(let signal):
                throw CredentialsError.serviceError(
                    provider: name, problem: "credential_process was killed by signal \(signal)")
            case .cancelled:
                throw CancellationError()
            }
        }
        return try Self.decodeOutput(data, provider: name)
    }

    /// Reads the command's output: a JSON object with `"Version": 1` and the credential fields.
    package static func decodeOutput(_ data: [UInt8], provider name: String) throws -> SigV4Credentials {
        guard let object = try? JSONParser.parse(data), object.objectMembers != nil else {
            throw CredentialsError.serviceError(
                provider: name, problem: "credential_process output is not a JSON object")
        }
        guard object["Version"]?.intValue == 1 else {
            throw CredentialsError.serviceError(
                provider: name, problem: "credential_process output must have \"Version\": 1")
        }
        return try CredentialDocument.decode(data, provider: name, tokenKey: "SessionToken")
    }
}

/// IAM Identity Center (SSO): the cached access token from
/// `~/.aws/sso/cache/<sha1>.json` (written by `aws sso login`) exchanged with the
/// portal's `GetRoleCredentials` for role credentials.
struct SSOCredentialProvider: CredentialProvider {
    let name: String
    private let profile: ConfigSection
    private let label: String
    private let files: SharedConfigFiles
    private let environment: ConfigurationEnvironment
    private let endpoints: CredentialEndpoints

    init(
        profile: ConfigSection, label: String, files: SharedConfigFiles, environment: ConfigurationEnvironment,
        endpoints: CredentialEndpoints, name: String
    ) {
        self.profile = profile
        self.label = label
        self.files = files
        self.environment = environment
        self.endpoints = endpoints
        self.name = name
    }

    func credentials() async throws -> SigV4Credentials {
        let cacheKey: String
        let region: String
        if let sessionName = profile["sso_session"] {
            guard let session = files.ssoSessions[sessionName] else {
                throw CredentialsError.invalidConfiguration(
                    provider: name,
                    problem: "\(label) names sso_session '\(sessionName)' but no [sso-session \(sessionName)] exists")
            }
            guard let sessionRegion = session["sso_region"] else {
                throw CredentialsError.invalidConfiguration(
                    provider: name, problem: "[sso-session \(sessionName)] has no sso_region")
            }
            cacheKey = sessionName
            region = sessionRegion
        } else {
            guard let startURL = profile["sso_start_url"], let legacyRegion = profile["sso_region"] else {
                throw CredentialsError.invalidConfiguration(
                    provider: name, problem: "\(label) needs sso_start_url and sso_region")
            }
            cacheKey = startURL
            region = legacyRegion
        }
        guard let accountId = profile["sso_account_id"] else {
            throw CredentialsError.invalidConfiguration(provider: name, problem: "\(label) has no sso_account_id")
        }
        guard let roleName = profile["sso_role_name"] else {
            throw CredentialsError.invalidConfiguration(provider: name, problem: "\(label) has no sso_role_name")
        }

        let digest = Insecure.SHA1.hash(data: Array(cacheKey.utf8)).map { String(format: "%02x", $0) }.joined()
        let cachePath = environment.expandingTilde("~/.aws/sso/cache/\(digest).json")
        guard let data = FileManager.default.contents(atPath: cachePath),
            let object = try? JSONParser.parse(data),
            let accessToken = object["accessToken"]?.stringValue, !accessToken.isEmpty
        else {
            throw CredentialsError.invalidConfiguration(
                provider: name, problem: "no valid SSO token in '\(cachePath)'; run 'aws sso login'")
        }
        if let expiresAt = object["expiresAt"]?.stringValue.flatMap(ISO8601Timestamp.parse), expiresAt <= Date() {
            throw CredentialsError.invalidConfiguration(
                provider: name,
                problem: "the SSO token in '\(cachePath)' has expired; run 'aws sso login'")
        }

        let query =
            "role_name=\(SigV4Canonicalization.percentEncode(roleName, keeping: []))"
            + "&account_id=\(SigV4Canonicalization.percentEncode(accountId, keeping: []))"
        let url = endpoints.sso(region) + "/federation/credentials?" + query
        let response = try await CredentialsHTTP.send(
            method: .GET, url: url, headers: [("x-amz-sso_bearer_token", accessToken)],
            provider: name, timeout: endpoints.timeout,
            network: endpoints.network ?? CredentialNetwork())
        guard response.status == 200 else {
            throw CredentialsError.serviceError(
                provider: name, problem: "GetRoleCredentials answered HTTP \(response.status)")
        }
        guard let document = try? JSONParser.parse(response.body),
            let role = document["roleCredentials"], role.objectMembers != nil
        else {
            throw CredentialsError.serviceError(
                provider: name, problem: "GetRoleCredentials response has no roleCredentials")
        }
        func field(_ key: String) throws -> String {
            guard let value = role[key]?.stringValue, !value.isEmpty else {
                throw CredentialsError.serviceError(
                    provider: name, problem: "GetRoleCredentials response has no roleCredentials.\(key)")
            }
            return value
        }
        guard let milliseconds = role["expiration"]?.doubleValue else {
            throw CredentialsError.serviceError(
                provider: name, problem: "GetRoleCredentials response has no roleCredentials.expiration")
        }
        return SigV4Credentials(
            accessKeyId: try field("accessKeyId"), secretAccessKey: try field("secretAccessKey"),
            sessionToken: try field("sessionToken"),
            expiration: Date(timeIntervalSince1970: milliseconds / 1000))
    }
}
