import ConformanceSupport
import Foundation
import Testing

/// The SigV4 vectors file (`Tests/Conformance/sigv4/vectors.json` from the
/// package root, or `QUARRY_SIGV4_VECTORS`), decoded.
struct SigV4VectorFile: Decodable {
    struct Credentials: Decodable {
        let access_key: String
        let secret_key: String
        let session_token: String?
    }

    struct Body: Decodable {
        struct Repeat: Decodable { let unit: String; let count: Int }
        let utf8: String?
        let base64: String?
        let `repeat`: Repeat?

        func bytes() throws -> [UInt8] {
            if let utf8 { return Array(utf8.utf8) }
            if let base64 {
                guard let data = Data(base64Encoded: base64) else { throw VectorError("bad base64 body") }
                return Array(data)
            }
            if let `repeat` { return Array(String(repeating: `repeat`.unit, count: `repeat`.count).utf8) }
            throw VectorError("body has no utf8, base64 or repeat")
        }
    }

    struct Context: Decodable { let payload_signing_enabled: Bool? }

    struct DirectInput: Decodable {
        let method: String
        let url: String
        let headers: [[String]]
        let region: String
        let service: String
        let timestamp: String
        let context: Context
        let credentials: Credentials
        let body: Body
        let body_sha256: String
    }

    struct DirectExpected: Decodable {
        let canonical_uri: String
        let canonical_query_string: String
        let canonical_headers: String
        let signed_headers: String
        let payload_hash: String
        let canonical_request: String
        let credential_scope: String
        let string_to_sign: String
        let signature: String
        let authorization: String
        let headers_after_signing: [[String]]
        let headers_set_by_signer: [[String]]
    }

    struct DirectCase: Decodable {
        let id: String
        let tags: [String]
        let input: DirectInput
        let expected: DirectExpected
    }

    struct ClientInput: Decodable {
        struct Config: Decodable { let use_fips_endpoint: Bool?; let use_dualstack_endpoint: Bool? }
        let operation: String
        let region: String
        let client_config: Config
        let endpoint_url: String?
        let credentials: Credentials
        let timestamp: String
    }

    struct ClientExpected: Decodable {
        let url: String
        let method: String
        let url_path: String
        let headers_sent: [[String]]
        let headers_at_signing: [[String]]
        let body: Body
        let body_sha256: String
        let signing_name: String
        let signing_region: String
        let canonical_request: String
        let string_to_sign: String
        let signature: String
        let authorization: String
    }

    struct ClientCase: Decodable {
        let id: String
        let tags: [String]
        let input: ClientInput
        let expected: ClientExpected
    }

    let direct: [DirectCase]
    let client: [ClientCase]

    /// Reads the file; throws (failing the suite) when it is missing or empty.
    static func load() throws -> (file: SigV4VectorFile, path: String) {
        let path = ConformanceFile.sigV4Vectors.url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VectorError("SigV4 vectors file not found at \(path) (set QUARRY_SIGV4_VECTORS)")
        }
        let file = try JSONDecoder().decode(SigV4VectorFile.self, from: data)
        guard !file.direct.isEmpty else { throw VectorError("SigV4 vectors file \(path) has no direct[] case") }
        return (file, path)
    }
}

struct VectorError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Array where Element == [String] {
    /// `[[name, value]]` from JSON as header tuples.
    func headerPairs() throws -> [(name: String, value: String)] {
        try map { pair in
            guard pair.count == 2 else { throw VectorError("header entry \(pair) is not [name, value]") }
            return (pair[0], pair[1])
        }
    }
}
