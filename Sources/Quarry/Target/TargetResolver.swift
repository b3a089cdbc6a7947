import Foundation

/// Decides where calls go, the way the AWS SDKs resolve configuration: `QUARRY_TARGET`
/// or the caller's preference, else AWS when credentials are configured (judged without
/// network calls), else a local emulator from the caller's launcher.
struct TargetResolver {
    /// The environment configuration is read from.
    let environment: [String: String]
    /// Layers every client of the target gets.
    let middlewares: [any TransportMiddleware]
    /// Starts an emulator when the target is one and none is running; nil links none.
    let localEmulator: (any LocalEmulatorLauncher)?

    /// The emulator's public key pair.
    static let emulatorCredentials = SigV4Credentials(accessKeyId: "test", secretAccessKey: "test")

    /// The target for `preference` (or `QUARRY_TARGET`, or automatic).
    func resolve(
        region: String?, profile: String?, endpoint: String?,
        preference: QuarryTarget.Preference?, regionSource: String? = nil
    ) async throws -> QuarryTarget {
        let useAWS: Bool
        switch try preference ?? environmentPreference() {
        case .aws: useAWS = true
        case .emulator: useAWS = false
        case .automatic: useAWS = endpoint != nil || profile != nil || Self.credentialsConfigured(environment)
        }
        if useAWS {
            return try aws(region: region, profile: profile, endpoint: endpoint, regionSource: regionSource)
        }
        guard let localEmulator else {
            throw ScriptError(
                code: .configurationError,
                message: "no AWS credentials are configured and this app starts no local emulator: "
                    + "configure AWS credentials, or pass localEmulator: .inProcess (QuarryEmulatorSupport) "
                    + "to QuarryTarget.resolve")
        }
        let started = try await localEmulator.launch()
        let chosenRegion = region ?? started.regions.first ?? "us-east-1"
        if let region, !started.regions.contains(region) {
            // Every call would fail later with a signature error: say so now.
            await started.stop()
            throw ScriptError(
                code: .configurationError,
                message: "region '\(TerminalText.escaped(region))' is not one the built-in emulator serves; "
                    + "it serves \(started.regions.joined(separator: ", ")) (choose one with --region or AWS_REGION)")
        }
        let credentials = Self.emulatorCredentials
        return QuarryTarget(
            kind: .emulator, region: chosenRegion,
            description: "emulator at \(started.url) (\(chosenRegion), key test)",
            emulatorAdmin: EmulatorAdmin(
                url: started.url, token: started.adminToken,
                caCertificatePath: started.caCertificatePath),
            factory: ClientFactory(
                place: .emulator(
                    url: started.url, credentials: credentials,
                    caCertificatePath: started.caCertificatePath),
                middlewares: middlewares, environment: environment),
            launched: started)
    }

    /// `QUARRY_TARGET` (`aws`, `emulator`, `auto`), automatic when unset.
    func environmentPreference() throws(ScriptError) -> QuarryTarget.Preference {
        guard let text = environment["QUARRY_TARGET"], !text.isEmpty else { return .automatic }
        guard
            let chosen = QuarryTarget.Preference(
                rawValue: text.lowercased() == "auto" ? "automatic" : text.lowercased())
        else {
            throw ScriptError(
                code: .configurationError,
                message: "QUARRY_TARGET must be 'aws', 'emulator' or 'auto', got '\(text)'")
        }
        return chosen
    }

    /// A target for an emulator that is already running.
    func emulator(
        url: String, adminToken: String, region: String, credentials: SigV4Credentials,
        caCertificatePath: String?
    ) -> QuarryTarget {
        QuarryTarget(
            kind: .emulator, region: region,
            description: "emulator at \(url) (\(region), key \(credentials.maskedAccessKeyId))",
            emulatorAdmin: EmulatorAdmin(url: url, token: adminToken, caCertificatePath: caCertificatePath),
            factory: ClientFactory(
                place: .emulator(url: url, credentials: credentials, caCertificatePath: caCertificatePath),
                middlewares: middlewares, environment: [:]))
    }

    /// An AWS target from the environment, shared files and the overrides.
    /// `regionSource` names where `region` came from in errors (the CLI: `the --region flag`).
    func aws(region: String?, profile: String?, endpoint: String?, regionSource: String? = nil) throws -> QuarryTarget {
        let resolved: BedrockConfiguration
        do {
            resolved = try BedrockConfiguration.resolve(
                environment: ConfigurationEnvironment(environment),
                overrides: {
                    var overrides = BedrockConfiguration.Overrides(
                        profile: profile, region: region, endpointURL: endpoint)
                    overrides.regionSource = regionSource ?? "the region given to QuarryTarget.resolve"
                    return overrides
                }())
        } catch {
            if case .endpoint(.invalidConfiguration(let problem)) = error, problem.hasSuffix("Missing Region") {
                throw Self.noRegion
            }
            throw error
        }
        if let region, !AWSRegion.isValid(region) {
            throw ScriptError(
                code: .configurationError,
                message:
                    "'\(TerminalText.escaped(region))' is not a valid AWS region name (such as us-east-1 or eu-west-1)")
        }
        guard let regionName = resolved.region?.name else { throw Self.noRegion }
        var who = "profile \(resolved.profileName)"
        if resolved.bearerToken != nil {
            who = "bearer token"
        } else if let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty {
            who = "key \(SigV4Credentials(accessKeyId: key, secretAccessKey: "").maskedAccessKeyId)"
        }
        let place = resolved.isCustomEndpoint ? " via \(resolved.endpoint)" : ""
        return QuarryTarget(
            kind: .aws, region: regionName, description: "AWS \(regionName)\(place) (\(who))",
            emulatorAdmin: nil,
            factory: ClientFactory(
                place: .aws(profile: profile, endpoint: endpoint),
                middlewares: middlewares, environment: environment))
    }

    /// No region anywhere: what to do about it (not the endpoint rules' "Missing Region").
    static let noRegion = ScriptError(
        code: .configurationError,
        message: "no AWS region is configured: pass --region, set AWS_REGION, or set region "
            + "in the profile (~/.aws/config)")

    /// Whether AWS credentials of any kind are configured, judged without network calls.
    static func credentialsConfigured(_ environment: [String: String]) -> Bool {
        func set(_ name: String) -> Bool { !(environment[name] ?? "").isEmpty }
        if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") { return true }
        if set("AWS_BEARER_TOKEN_BEDROCK") || set("AWS_WEB_IDENTITY_TOKEN_FILE") || set("AWS_PROFILE")
            || set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") || set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        {
            return true
        }
        guard let files = try? SharedConfigFiles.load(from: ConfigurationEnvironment(environment)),
            let section = files.profiles[environment["AWS_DEFAULT_PROFILE"] ?? "default"]
        else { return false }
        let keys = [
            "aws_access_key_id", "credential_process", "sso_session", "sso_start_url", "role_arn",
            "web_identity_token_file",
        ]
        return keys.contains { section[$0] != nil }
    }
}
