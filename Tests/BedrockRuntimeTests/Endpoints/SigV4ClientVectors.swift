import ConformanceSupport
import Foundation

/// The `client[]` part of the shared SigV4 vectors file (`QUARRY_SIGV4_VECTORS`
/// overrides the path): only what the endpoint tests need.
struct ClientVectorFile: Decodable {
    struct Config: Decodable {
        let use_fips_endpoint: Bool?
        let use_dualstack_endpoint: Bool?
    }

    struct Input: Decodable {
        let operation: String
        let region: String
        let client_config: Config
        let endpoint_url: String?
    }

    struct Expected: Decodable {
        let url: String
        let url_path: String
    }

    struct Case: Decodable {
        let id: String
        let input: Input
        let expected: Expected
    }

    let client: [Case]

    static func load() throws -> (cases: [Case], path: String) {
        let path = ConformanceFile.sigV4Vectors.url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ClientVectorError(description: "SigV4 vectors file not found at \(path) (set QUARRY_SIGV4_VECTORS)")
        }
        let file = try JSONDecoder().decode(ClientVectorFile.self, from: data)
        guard !file.client.isEmpty else { throw ClientVectorError(description: "\(path) has no client[] case") }
        return (file.client, path)
    }
}

struct ClientVectorError: Error, CustomStringConvertible { let description: String }
