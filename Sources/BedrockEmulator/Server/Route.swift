import BedrockWire

/// Where a request goes: an operation with its path parameters, or the admin API.
enum Route: Sendable, Equatable {
    case operation(BedrockOperation, modelID: String?, parameters: [String])
    case admin([String])

    /// Matches a method and a raw (percent-encoded) path.
    static func match(method: String, path: String) -> Route? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
            .map { PercentDecoding.decode($0) }
        guard let segments = Optional(Array(segments)), let first = segments.first else { return nil }
        if first == "_quarry" { return .admin(Array(segments.dropFirst())) }
        switch (method, segments.count, first) {
        case ("POST", 3, "model"):
            let operation: BedrockOperation? =
                switch segments[2] {
                case "converse": .converse
                case "converse-stream": .converseStream
                case "invoke": .invokeModel
                case "invoke-with-response-stream": .invokeModelWithResponseStream
                case "invoke-with-bidirectional-stream": .invokeModelWithBidirectionalStream
                case "count-tokens": .countTokens
                default: nil
                }
            return operation.map { .operation($0, modelID: segments[1], parameters: []) }
        case ("POST", 5, "guardrail") where segments[2] == "version" && segments[4] == "apply":
            return .operation(.applyGuardrail, modelID: nil, parameters: [segments[1], segments[3]])
        case ("POST", 2, "guardrail-checks") where segments[1] == "invoke":
            return .operation(.invokeGuardrailChecks, modelID: nil, parameters: [])
        case ("POST", 1, "async-invoke"):
            return .operation(.startAsyncInvoke, modelID: nil, parameters: [])
        case ("POST", 2, "async-invoke") where segments[1].isEmpty:
            return .operation(.startAsyncInvoke, modelID: nil, parameters: [])
        case ("GET", 1, "async-invoke"):
            return .operation(.listAsyncInvokes, modelID: nil, parameters: [])
        case ("GET", 2, "async-invoke") where segments[1].isEmpty:
            return .operation(.listAsyncInvokes, modelID: nil, parameters: [])
        case ("POST", 1, "model-invocation-job"):
            return .operation(.createModelInvocationJob, modelID: nil, parameters: [])
        case ("GET", 2, "model-invocation-job"):
            return .operation(.getModelInvocationJob, modelID: nil, parameters: [segments[1]])
        case ("GET", 1, "model-invocation-jobs"):
            return .operation(.listModelInvocationJobs, modelID: nil, parameters: [])
        case ("POST", 3, "model-invocation-job") where segments[2] == "stop":
            return .operation(.stopModelInvocationJob, modelID: nil, parameters: [segments[1]])
        case ("GET", 2, "async-invoke"):
            return .operation(.getAsyncInvoke, modelID: nil, parameters: [segments[1]])
        default:
            return nil
        }
    }
}

/// Percent-decoding of URI components (`%3A` → `:`), tolerant of stray `%`.
enum PercentDecoding {
    static func decode(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            if byte == UInt8(ascii: "%"), iterator.count >= 2,
                let high = hex(iterator[iterator.startIndex]), let low = hex(iterator[iterator.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                iterator = iterator.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Parses a query string into ordered, decoded pairs.
    static func query(_ text: Substring) -> [(String, String)] {
        text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count > 1 ? parts[1] : ""
            return (decode(parts[0]), decode(Substring(value.replacingOccurrences(of: "+", with: " "))))
        }
    }
}
