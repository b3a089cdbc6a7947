import Foundation

/// The SigV4 vectors file (`Tests/Conformance/sigv4/vectors.json` from the
/// package root, or `QUARRY_SIGV4_VECTORS`), decoded.
public struct SigV4VectorFile: Decodable {
    public struct Credentials: Decodable {
        public let access_key: String
        public let secret_key: String
        public let session_token: String?
    }

    /// A request or expected body.
    public typealias Body = VectorBytes

    public struct Context: Decodable { public let payload_signing_enabled: Bool? }

    public struct DirectInput: Decodable {
        public let method: String
        public let url: String
        public let headers: [[String]]
        public let region: String
        public let service: String
        public let timestamp: String
        public let context: Context
        public let credentials: Credentials
        public let body: Body
        public let body_sha256: String
    }

    public struct DirectExpected: Decodable {
        public let canonical_uri: String
        public let canonical_query_string: String
        public let canonical_headers: String
        public let signed_headers: String
        public let payload_hash: String
        public let canonical_request: String
        public let credential_scope: String
        public let string_to_sign: String
        public let signature: String
        public let authorization: String
        public let headers_after_signing: [[String]]
        public let headers_set_by_signer: [[String]]
    }

    public struct DirectCase: Decodable {
        public let id: String
        public let tags: [String]
        public let input: DirectInput
        public let expected: DirectExpected
    }

    public struct ClientInput: Decodable {
        public struct Config: Decodable {
            public let use_fips_endpoint: Bool?; public let use_dualstack_endpoint: Bool?
        }
        public let operation: String
        public let region: String
        public let client_config: Config
        public let endpoint_url: String?
        public let credentials: Credentials
        public let timestamp: String
    }

    public struct ClientExpected: Decodable {
        public let url: String
        public let method: String
        public let url_path: String
        public let headers_sent: [[String]]
        public let headers_at_signing: [[String]]
        public let body: Body
        public let body_sha256: String
        public let signing_name: String
        public let signing_region: String
        public let canonical_request: String
        public let string_to_sign: String
        public let signature: String
        public let authorization: String
    }

    public struct ClientCase: Decodable {
        public let id: String
        public let tags: [String]
        public let input: ClientInput
        public let expected: ClientExpected
    }

    public let direct: [DirectCase]
    public let client: [ClientCase]

    /// Reads the file; throws (failing the suite) when it is missing or empty.
    public static func load() throws -> (file: SigV4VectorFile, path: String) {
        let path = ConformanceFile.sigV4Vectors.url.path
        let file = try JSONDecoder().decode(SigV4VectorFile.self, from: try ConformanceFile.sigV4Vectors.contents())
        guard !file.direct.isEmpty else { throw VectorError("SigV4 vectors file \(path) has no direct[] case") }
        return (file, path)
    }

    /// The file's `client[]` cases (what the client's endpoint tests need); throws when
    /// there is none.
    public static func loadClientCases() throws -> (cases: [ClientCase], path: String) {
        let (file, path) = try load()
        guard !file.client.isEmpty else { throw VectorError("SigV4 vectors file \(path) has no client[] case") }
        return (file.client, path)
    }
}

public struct VectorError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension Array where Element == [String] {
    /// `[[name, value]]` from JSON as header tuples.
    public func headerPairs() throws -> [(name: String, value: String)] {
        try map { pair in
            guard pair.count == 2 else { throw VectorError("header entry \(pair) is not [name, value]") }
            return (pair[0], pair[1])
        }
    }
}
