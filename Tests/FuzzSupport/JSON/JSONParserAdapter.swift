import BedrockRuntime

// The one place the JSON fuzz target names a JSON stack. Issue 17 merges the client's
// and the emulator's JSON into BedrockWire: after that, change the import above (and
// the type names below, if they move) and nothing else.

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
            x.count == y.count && Dictionary(x, uniquingKeysWith: { _, last in last })
                .allSatisfy { key, value in y.first { $0.0 == key }.map { $0.1 == value } ?? false }
        default: false
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
