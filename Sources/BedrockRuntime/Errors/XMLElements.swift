/// Reads the flat XML S3 answers with (`ListBucketResult`, `Error`): the text of
/// named elements, entities decoded. Not a general XML parser: S3's answers have no
/// attributes on the elements read, no CDATA and no nesting of an element in itself.
package enum XMLElements {
    /// The decoded text of the first `<name>…</name>` in `text` (`""` for `<name/>`).
    package static func text(of name: String, in text: some StringProtocol) -> String? {
        blocks(named: name, in: text, limit: 1).first.map { decode($0) }
    }

    /// The raw content of every `<name>…</name>` in `text`, in order (`<name/>` gives "").
    ///
    /// One pass over the text: each step searches forward from where the last element
    /// ended, for `<name` followed by `>` or `/>` (searching the rest of the text for
    /// both forms at every step made a listing of n objects take n² time).
    package static func blocks(named name: String, in text: some StringProtocol, limit: Int = .max) -> [Substring] {
        let whole = Substring(text)
        let bytes = whole.utf8
        let head = Array("<\(name)".utf8)
        let close = Array("</\(name)>".utf8)
        var out: [Substring] = []
        var at = bytes.startIndex
        while out.count < limit, let start = find(head, in: bytes, from: at) {
            let after = bytes.index(start, offsetBy: head.count)
            if after < bytes.endIndex, bytes[after] == UInt8(ascii: ">") {
                let contentStart = bytes.index(after: after)
                guard let end = find(close, in: bytes, from: contentStart) else { break }
                out.append(whole[contentStart..<end])
                at = bytes.index(end, offsetBy: close.count)
            } else if after < bytes.endIndex, bytes[after] == UInt8(ascii: "/"),
                bytes.index(after: after) < bytes.endIndex, bytes[bytes.index(after: after)] == UInt8(ascii: ">")
            {
                let next = bytes.index(after, offsetBy: 2)
                out.append(whole[next..<next])
                at = next
            } else {
                // `<nameSuffix…>`, another element: go on after it.
                at = after
            }
        }
        return out
    }

    /// Where `needle` next occurs in `bytes` at or after `from` (a plain forward scan:
    /// the needles are short tag names).
    private static func find(_ needle: [UInt8], in bytes: Substring.UTF8View, from: Substring.UTF8View.Index)
        -> Substring.UTF8View.Index?
    {
        guard let first = needle.first else { return nil }
        var i = from
        while let hit = bytes[i...].firstIndex(of: first) {
            var a = hit
            var matched = true
            for b in needle {
                guard a < bytes.endIndex, bytes[a] == b else {
                    matched = false
                    break
                }
                a = bytes.index(after: a)
            }
            if matched { return hit }
            i = bytes.index(after: hit)
        }
        return nil
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
