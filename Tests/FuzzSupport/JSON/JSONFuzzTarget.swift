import Foundation

/// The JSON parser: on inputs both it and Foundation's `JSONSerialization` accept they
/// must agree (objects compared by last value per key, numbers within rounding), and
/// what it accepts must survive its own writers (written, parsed again, equal).
public enum JSONFuzzTarget {
    public static func fuzzOne(_ data: [UInt8]) throws(FuzzFinding) {
        let ours = QuarryJSON.parse(data)
        // An out-of-range number such as `1e999` parses as ±infinity and is written back as
        // `±1e999` (it was written as `null` until the fuzzer found it).
        if let ours, let rewritten = QuarryJSON.rewritten(data) {
            for (index, again) in rewritten.enumerated() where again != ours {
                let difference = again.map { FuzzJSON.difference(ours, $0) ?? "?" } ?? "the output does not parse"
                throw FuzzFinding(
                    "json", "writer \(index)'s output does not parse back to the same value: \(difference)")
            }
        }
        // Foundation (swift-corelibs) drops a U+FEFF inside strings; ours keeps it, as JSON says.
        guard let ours, !data.containsByteOrderMark, let theirs = foundation(data) else { return }
        guard ours == theirs else {
            throw FuzzFinding(
                "json", "parsers disagree (ours, then Foundation's): \(FuzzJSON.difference(ours, theirs) ?? "?")")
        }
    }

    /// Foundation's reading of `data`, when it accepts it.
    static func foundation(_ data: [UInt8]) -> FuzzJSON? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(data), options: [.fragmentsAllowed]) else {
            return nil
        }
        return convert(object)
    }

    private static func convert(_ object: Any) -> FuzzJSON? {
        switch object {
        case is NSNull: return .null
        case let string as String: return .string(string)
        case let number as NSNumber:
            // Booleans and numbers share NSNumber; a Bool's objCType is "c". The
            // comparison treats true/false and 1/0 alike, so an ambiguous one is harmless.
            if String(cString: number.objCType) == "c" { return .bool(number.boolValue) }
            return .number(number.doubleValue)
        case let decimal as Decimal: return .number(NSDecimalNumber(decimal: decimal).doubleValue)
        case let array as [Any]:
            var out: [FuzzJSON] = []
            for element in array {
                guard let value = convert(element) else { return nil }
                out.append(value)
            }
            return .array(out)
        case let dictionary as [String: Any]:
            var out: [(String, FuzzJSON)] = []
            for (key, element) in dictionary {
                guard let value = convert(element) else { return nil }
                out.append((key, value))
            }
            return .object(out)
        default: return nil
        }
    }
}

extension [UInt8] {
    /// True when the bytes hold U+FEFF in UTF-8 (EF BB BF) anywhere.
    var containsByteOrderMark: Bool {
        count >= 3 && indices.dropLast(2).contains { self[$0] == 0xEF && self[$0 + 1] == 0xBB && self[$0 + 2] == 0xBF }
    }
}
