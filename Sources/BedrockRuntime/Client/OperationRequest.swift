import BedrockWire
import NIOHTTP1

/// An operation's HTTP binding before signing: method, encoded path and query,
/// bound headers and body. Built by each operation from its typed input.
struct OperationRequest: Sendable {
    var operation: BedrockOperation
    var method: HTTPMethod
    /// Encoded path relative to the endpoint, starting with `/`.
    var path: String
    var query: [(name: String, value: String)] = []
    /// Headers bound from the input, in botocore's order.
    var headers: [(String, String)] = []
    var body: [UInt8] = []
    /// Whether repeating the request is safe (always true for Bedrock's operations:
    /// StartAsyncInvoke carries an idempotency token).
    var idempotent = true

    /// The operation's name, as the service names it (for logs, errors and middlewares).
    var name: String { operation.rawValue }

    /// A REST-JSON request whose body is `input` minus the members bound elsewhere.
    static func json<T: Encodable>(_ operation: BedrockOperation, path: String, input: T, excluding bound: Set<String>)
        throws -> OperationRequest
    {
        let tree: JSONValue
        do {
            tree = try JSONValueEncoder().encode(input)
        } catch {
            throw BedrockError.invalidRequest("\(operation.rawValue) input could not be encoded: \(error)")
        }
        return try json(operation, path: path, tree: tree, excluding: bound)
    }

    /// A REST-JSON request whose body is the encoded input `tree` minus the members bound elsewhere.
    static func json(_ operation: BedrockOperation, path: String, tree: JSONValue, excluding bound: Set<String>)
        throws -> OperationRequest
    {
        guard case let .object(members) = tree else {
            throw BedrockError.invalidRequest("\(operation.rawValue) input must encode to a JSON object")
        }
        let body = JSONValue.object(members.filter { !bound.contains($0.0) })
        return OperationRequest(
            operation: operation, method: .POST, path: path,
            headers: [("Content-Type", "application/json")], body: JSONWriter.botocore.bytes(body))
    }
}

/// Checks on input that would otherwise produce a wrong URL.
enum InputCheck {
    static func nonEmpty(_ value: String, _ name: String, in operation: BedrockOperation) throws {
        if value.isEmpty { throw BedrockError.invalidRequest("\(operation.rawValue): \(name) must not be empty") }
    }
}
