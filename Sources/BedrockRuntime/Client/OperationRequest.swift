import BedrockWire
import NIOHTTP1

/// An operation's HTTP binding before signing: method, encoded path and query,
/// bound headers and body. Built by each operation from its typed input; other AWS
/// services' clients in this package (Bedrock's control plane, S3) build them too.
package struct OperationRequest: Sendable {
    /// The operation's name, as the service names it (for logs, errors and middlewares).
    package var name: String
    package var method: HTTPMethod
    /// Encoded path relative to the endpoint, starting with `/`.
    package var path: String
    package var query: [(name: String, value: String)] = []
    /// Bare query keys (`uploads`) sent before `query`, without `=`.
    package var queryFlags: [String] = []
    /// Where this request goes instead of the pipeline's endpoint (S3's virtual-hosted
    /// addressing: `https://{bucket}.{endpoint host}`).
    package var endpoint: BedrockEndpoint?
    /// Headers bound from the input, in botocore's order.
    package var headers: [(String, String)] = []
    package var body: [UInt8] = []
    /// Whether repeating the request is safe (always true for Bedrock's operations:
    /// StartAsyncInvoke carries an idempotency token).
    package var idempotent = true

    /// A request for the operation called `name`.
    package init(
        name: String, method: HTTPMethod, path: String, query: [(name: String, value: String)] = [],
        headers: [(String, String)] = [], body: [UInt8] = []
    ) {
        self.name = name; self.method = method; self.path = path; self.query = query
        self.headers = headers; self.body = body
    }

    /// A request for one of Bedrock Runtime's operations.
    init(
        operation: BedrockOperation, method: HTTPMethod, path: String, query: [(name: String, value: String)] = [],
        headers: [(String, String)] = [], body: [UInt8] = []
    ) {
        self.init(name: operation.rawValue, method: method, path: path, query: query, headers: headers, body: body)
    }

    /// A REST-JSON request whose body is `input` minus the members bound elsewhere.
    static func json<T: Encodable>(_ operation: BedrockOperation, path: String, input: T, excluding bound: Set<String>)
        throws -> OperationRequest
    {
        try json(name: operation.rawValue, path: path, input: input, excluding: bound)
    }

    /// A REST-JSON `POST` of the operation called `name`, whose body is `input` minus
    /// the members bound elsewhere, written as botocore writes JSON.
    package static func json<T: Encodable>(
        name: String, method: HTTPMethod = .POST, path: String, input: T, excluding bound: Set<String>
    ) throws -> OperationRequest {
        let tree: JSONValue
        do {
            tree = try JSONValueEncoder().encode(input)
        } catch {
            throw BedrockError.invalidRequest("\(name) input could not be encoded: \(error)")
        }
        return try json(name: name, method: method, path: path, tree: tree, excluding: bound)
    }

    /// A REST-JSON request whose body is the encoded input `tree` minus the members bound elsewhere.
    static func json(_ operation: BedrockOperation, path: String, tree: JSONValue, excluding bound: Set<String>)
        throws -> OperationRequest
    {
        try json(name: operation.rawValue, path: path, tree: tree, excluding: bound)
    }

    /// A REST-JSON request of the operation called `name` whose body is the encoded input
    /// `tree` minus the members bound elsewhere, written as botocore writes JSON.
    package static func json(
        name: String, method: HTTPMethod = .POST, path: String, tree: JSONValue, excluding bound: Set<String>
    ) throws -> OperationRequest {
        guard case let .object(members) = tree else {
            throw BedrockError.invalidRequest("\(name) input must encode to a JSON object")
        }
        let body = JSONValue.object(members.filter { !bound.contains($0.0) })
        return OperationRequest(
            name: name, method: method, path: path,
            headers: [("Content-Type", "application/json")], body: JSONWriter.botocore.bytes(body))
    }
}

/// Checks on input that would otherwise produce a wrong URL.
enum InputCheck {
    static func nonEmpty(_ value: String, _ name: String, in operation: BedrockOperation) throws {
        if value.isEmpty { throw BedrockError.invalidRequest("\(operation.rawValue): \(name) must not be empty") }
    }
}
