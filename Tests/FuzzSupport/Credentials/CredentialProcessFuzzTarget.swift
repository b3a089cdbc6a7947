import BedrockRuntime
import Foundation

/// `credential_process` output: every input gives credentials with a non-empty key id
/// and secret, or a `CredentialsError` that does not show the secret or token.
public enum CredentialProcessFuzzTarget {
    public static func fuzzOne(_ data: [UInt8]) throws(FuzzFinding) {
        do {
            let credentials = try ProcessCredentialProvider.decodeOutput(data, provider: "process")
            guard !credentials.accessKeyId.isEmpty, !credentials.secretAccessKey.isEmpty else {
                throw FuzzFinding("credential-process", "accepted credentials with an empty key id or secret")
            }
        } catch let finding as FuzzFinding {
            throw finding
        } catch {
            try checkNoSecret(in: String(describing: error), json: data, target: "credential-process")
        }
    }

    /// Fails when `shown` contains the `SecretAccessKey`, `SessionToken` or `Token` of a JSON input.
    static func checkNoSecret(in shown: String, json data: [UInt8], target: String) throws(FuzzFinding) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any] else { return }
        let text = String(lossy: data)
        for key in ["SecretAccessKey", "SessionToken", "Token"] {
            guard let secret = object[key] as? String, secret.count >= 8, shown.contains(secret) else { continue }
            // Not a leak when the same text is also a non-secret field.
            let elsewhere = object.contains { $0.key != key && ($0.value as? String)?.contains(secret) == true }
            if !elsewhere && !String(text).isEmpty {
                throw FuzzFinding(target, "the error shows the \(key) value: \(shown)")
            }
        }
    }
}
