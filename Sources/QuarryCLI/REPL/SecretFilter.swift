/// Decides which inputs must never be written to the history file.
///
/// An input is kept out of history (and out of `:save`) when
/// - it starts with a space — the marker a user types to say "do not record this",
///   like bash's `HISTCONTROL=ignorespace`; or
/// - it looks like it holds a credential: an AWS access key id (`AKIA…`, `ASIA…`), a
///   40-character secret-access-key-shaped run, a Bedrock API key (`ABSK…`), a JWT, a
///   PEM private key, or a string assigned to a name containing `secret`, `password`,
///   `token`, `api_key`, `credential` or `private_key`.
enum SecretFilter {
    /// The character that, leading an input, keeps it out of history.
    static let marker: Character = " "

    /// Whether the input may be recorded.
    static func mayRecord(_ input: String) -> Bool {
        if input.first == marker { return false }
        return !looksSecret(input)
    }

    /// Whether the text looks like it contains a credential.
    static func looksSecret(_ text: String) -> Bool {
        if text.contains(#/(?:AKIA|ASIA|ABIA|ACCA|AROA|AIDA)[A-Z0-9]{16}/#) { return true }
        if text.contains(#/ABSK[A-Za-z0-9+\/=]{20,}/#) { return true }
        if text.contains(#/eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}/#) { return true }
        if text.contains("-----BEGIN") && text.contains("PRIVATE KEY") { return true }
        if text.contains(
            #/(?i)(secret|password|passwd|token|api[_\-]?key|credential|private[_\-]?key)[A-Za-z0-9_]*["'\]]?\s*[=:]\s*(["']|\[=*\[)/#
        ) {
            return true
        }
        let keyAlphabet = { (c: Character) in c.isASCII && (c.isLetter || c.isNumber || c == "/" || c == "+") }
        for run in text.split(whereSeparator: { !keyAlphabet($0) }) where run.count == 40 {
            if run.contains(where: \.isNumber) && run.contains(where: \.isUppercase)
                && run.contains(where: \.isLowercase)
            {
                return true
            }
        }
        return false
    }
}
