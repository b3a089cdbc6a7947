/// Checks a SigV4 signature with BedrockWire's verifier (branch `auth`).
enum SignatureCheck {
    static func verify(request: EmulatorRequest, signedHeaders: String, signature: String, credential: EmulatorCredential,
                       scope: (date: String, region: String, service: String), amzDate: String) throws(ServiceError) {
        // Wired to BedrockWire's SigV4Verifier when the `auth` branch is merged.
    }
}
