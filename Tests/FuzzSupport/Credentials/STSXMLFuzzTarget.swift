import BedrockRuntime

/// STS XML answers: the first byte picks the status (success or an error code) and the
/// call (`AssumeRole` or `AssumeRoleWithWebIdentity`), the rest is the body. Every
/// input gives credentials with every field set, or a `CredentialsError` that does
/// not show the secret or the session token.
public enum STSXMLFuzzTarget {
    public static func fuzzOne(_ data: [UInt8]) throws(FuzzFinding) {
        let selector = data.first ?? 0
        let status = [200, 200, 403, 400][Int(selector & 3)]
        let result = selector & 4 == 0 ? "AssumeRoleResult" : "AssumeRoleWithWebIdentityResult"
        let body = Array(data.dropFirst())
        do {
            let credentials = try STSResponseReader.credentials(
                status: status, body: body, result: result, provider: "sts")
            guard !credentials.accessKeyId.isEmpty, !credentials.secretAccessKey.isEmpty,
                credentials.sessionToken?.isEmpty == false, credentials.expiration != nil
            else {
                throw FuzzFinding("sts-xml", "accepted credentials with a missing field")
            }
        } catch let finding as FuzzFinding {
            throw finding
        } catch {
            let shown = String(describing: error)
            let text = String(lossy: body)
            for tag in ["SecretAccessKey", "SessionToken"] {
                guard let secret = element(tag, in: text), secret.count >= 8, shown.contains(secret) else { continue }
                let rest = text.replacingOccurrences(of: "<\(tag)>\(secret)</\(tag)>", with: "")
                if !rest.contains(secret) { throw FuzzFinding("sts-xml", "the error shows the \(tag) value: \(shown)") }
            }
        }
    }

    /// The text of the first `<tag>…</tag>` in `text`, trimmed.
    static func element(_ tag: String, in text: String) -> String? {
        guard let open = text.range(of: "<\(tag)>"),
            let close = text.range(of: "</\(tag)>", range: open.upperBound..<text.endIndex)
        else { return nil }
        return text[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
