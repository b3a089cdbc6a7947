import BedrockWire

// The one place the JSON fuzz target names a JSON stack: BedrockWire's, which the
// client and the emulator share.

/// A JSON value in the fuzz target's own neutral form, for comparing parsers.
indirect enum FuzzJSON: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([FuzzJSON])
    /// Members in document order; `hasDuplicateKeys` says when parsers may differ.
    case object([(String, FuzzJSON)])

    static func == (a: FuzzJSON, b: FuzzJSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case let (.bool(x), .bool(y)): x == y
        case let (.number(x), .number(y)): FuzzJSON.close(x, y)
        case let (.bool(x), .number(y)), let (.number(y), .bool(x)): y == (x ? 1 : 0)
        case let (.string(x), .string(y)): x == y
        case let (.array(x), .array(y)): x == y
        case let (.object(x), .object(y)):
            // Duplicate keys: the last one wins, as in Foundation (which keeps only that one).
            Dictionary(x, uniquingKeysWith: { _, last in last })
                == Dictionary(y, uniquingKeysWith: { _, last in last })
        default: false
        }
    }

    /// Where `a` and `b` first differ (a path and both values), or nil when equal.
    static func difference(_ a: FuzzJSON, _ b: FuzzJSON, at path: String = "$") -> String? {
        switch (a, b) {
        case let (.array(x), .array(y)) where x.count == y.count:
            for (i, (p, q)) in zip(x, y).enumerated() {
                if let found = difference(p, q, at: "\(path)[\(i)]") { return found }
            }
            return nil
        case let (.object(x), .object(y)):
            let left = Dictionary(x, uniquingKeysWith: { _, last in last })
            let right = Dictionary(y, uniquingKeysWith: { _, last in last })
            for key in Set(left.keys).union(right.keys).sorted() {
                guard let p = left[key], let q = right[key] else {
                    return
                        "\(path).\(key.debugDescription): present in only one (\(left[key] == nil ? "second" : "first"))"
                }
                if let found = difference(p, q, at: "\(path).\(key.debugDescription)") { return found }
            }
            return nil
        default:
            return a == b ? nil : "\(path): \(a) vs \(b)"
        }
    }

    /// Equal, or within rounding of each other (parsers may round long decimals differently).
    static func close(_ x: Double, _ y: Double) -> Bool {
        x == y || (x.isFinite && y.isFinite && abs(x - y) <= 1e-9 * max(abs(x), abs(y)))
    }
}

/// Quarry's parser under test.
enum QuarryJSON {
    /// Parses `bytes` with the project's parser; nil when it rejects them.
    static func parse(_ bytes: [UInt8]) -> FuzzJSON? {
        guard let value = try? JSONParser.parse(bytes) else { return nil }
        return convert(value)
    }

    /// Writes `bytes`' parse back out with the project's writers (compact and
    /// botocore's) and parses each again; nil when the first parse fails.
    static func rewritten(_ bytes: [UInt8]) -> [FuzzJSON?]? {
        guard let value = try? JSONParser.parse(bytes) else { return nil }
        return [JSONWriter.compact, JSONWriter.botocore].map { parse($0.bytes(value)) }
    }

    private static func convert(_ value: JSONValue) -> FuzzJSON {
        switch value {
        case .null: .null
        case .bool(let b): .bool(b)
        case .integer(let i): .number(Double(i))
        case .double(let d): .number(d)
        case .string(let s): .string(s)
        case .array(let a): .array(a.map(convert))
        case .object(let members): .object(members.map { ($0.0, convert($0.1)) })
        }
    }
}
