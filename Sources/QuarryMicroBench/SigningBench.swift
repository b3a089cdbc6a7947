import BedrockWire
import Foundation

/// SigV4 signing of a typical Converse request, as the client does it per attempt:
/// hash the body, canonicalise, derive the key, sign.
enum SigningBench {
    static func run(_ harness: Harness) throws -> [BenchResult] {
        let body = Array(TypicalConverse.requestJSON.utf8)
        let headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json"), ("User-Agent", "quarry/0.1 bedrock-runtime-swift"),
        ]
        let signer = SigV4Signer(region: "us-east-1")
        let date = Date(timeIntervalSince1970: 1_764_000_000)
        var result = try harness.measure("sigv4.sign (converse request)", batch: 100) {
            for _ in 0..<100 {
                let request = SigV4Request(
                    method: "POST", url: TypicalConverse.url, headers: headers, payload: .body(body))
                blackHole(try signer.sign(request, with: TypicalConverse.credentials, at: date))
            }
        }
        result.notes.append(String(format: "%.0f signatures/s", result.opsPerSecond))
        return [result]
    }
}
