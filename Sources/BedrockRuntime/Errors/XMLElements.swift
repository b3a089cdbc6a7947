/// Reads the flat XML S3 answers with (`ListBucketResult`, `Error`): the text of
/// named elements, entities decoded. Not a general XML parser: S3's answers have no
/// attributes on the elements read, no CDATA and no nesting of an element in itself.
package enum XMLElements {
    /// The decoded text of the first `<name>…</name>` in `text` (`""` for `<name/>`).
    package static func text(of name: String, in text: some StringProtocol) -> String? {
        blocks(named: name, in: text).first.map { decode($0) }
    }

    /// The raw content of every `<name>…</name>` in `text`, in order (`<name/>` gives "").
    /// One pass: each search starts where the last one ended, so a body of many
    /// elements is read in time linear in its length.
    package static func blocks(named name: String, in text: some StringProtocol) -> [Substring] {
        let whole = Substring(text)
        let open = "<\(name)"
        let close = "</\(name)>"
        var out: [Substring] = []
        var rest = whole[...]
        while let start = rest.firstRange(of: open) {
            let after = rest[start.upperBound...]
            if after.hasPrefix(">") {
                let content = after.index(after: after.startIndex)
                guard let end = rest[content...].firstRange(of: close) else { break }
                out.append(rest[content..<end.lowerBound])
                rest = rest[end.upperBound...]
            } else if after.hasPrefix("/>") {
                out.append(after[after.startIndex..<after.startIndex])
                rest = after.dropFirst(2)
            } else {
                rest = after  // another element whose name starts with `name` (`<PartNumber>` for `Part`)
            }
        }
        return out
    }

    /// `text` with XML's entities (`&amp;`, `&lt;`, `&#x41;`, …) decoded; an unknown
    /// or malformed entity is kept as written.
    package static func decode(_ text: some StringProtocol) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let tail = rest[amp...]
            guard let semi = tail.prefix(12).firstIndex(of: ";") else {
                out += "&"
                rest = rest[rest.index(after: amp)...]
                continue
            }
            let entity = tail[tail.index(after: amp)..<semi]
            var decoded: String?
            switch entity {
            case "amp": decoded = "&"
            case "lt": decoded = "<"
            case "gt": decoded = ">"
            case "quot": decoded = "\""
            case "apos": decoded = "'"
            default:
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    decoded = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String($0) }
                } else if entity.hasPrefix("#") {
                    decoded = UInt32(entity.dropFirst(), radix: 10).flatMap(Unicode.Scalar.init).map { String($0) }
                }
            }
            if let decoded {
                out += decoded
                rest = rest[rest.index(after: semi)...]
            } else {
                out += "&"
                rest = rest[rest.index(after: amp)...]
            }
        }
        out += rest
        return out
    }
}
