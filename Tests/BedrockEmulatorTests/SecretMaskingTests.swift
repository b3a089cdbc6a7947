import Foundation
import Testing

@testable import BedrockEmulator

/// Secrets stay out of descriptions.
@Suite struct SecretMaskingTests {
    @Test("configuration and credentials print masked key ids only")
    func masked() {
        var configuration = EmulatorConfiguration()
        configuration.credentials.append(
            EmulatorCredential(
                accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                secretAccessKey: "wJalrXUtnFEMI/K7MDENG", sessionToken: "FwoGZXIvYXdzEXAMPLETOKEN"))
        configuration.bearerTokens = ["bedrock-api-key-SECRETVALUE"]
        configuration.adminToken = "admin-SECRET"
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [
            configuration.description, "\(configuration.credentials)", dumped, String(reflecting: configuration),
        ] {
            #expect(text.contains("AKIA…MPLE"))
            for secret in ["wJalrXUtnFEMI", "FwoGZXIvYXdz", "SECRETVALUE", "admin-SECRET", "AKIAIOSFODNN7EXAMPLE"] {
                #expect(!text.contains(secret), "\(secret) leaked in \(text)")
            }
        }
    }
}
