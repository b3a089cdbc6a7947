import Foundation

/// Bytes as the conformance files write them (a SigV4 body, an event-stream payload):
/// UTF-8 text, base64, or a unit repeated `count` times.
public struct VectorBytes: Decodable, Sendable {
    public struct Repeat: Decodable, Sendable {
        public let unit: String
        public let count: Int
    }

    public let utf8: String?
    public let base64: String?
    public let `repeat`: Repeat?

    /// The bytes; throws when none of the three forms is given or the base64 is bad.
    public func bytes() throws -> [UInt8] {
        if let utf8 { return Array(utf8.utf8) }
        if let base64 {
            guard let data = Data(base64Encoded: base64) else {
                throw ConformanceFile.Missing(description: "bad base64 \(base64.prefix(20))…")
            }
            return Array(data)
        }
        if let `repeat` { return Array(String(repeating: `repeat`.unit, count: `repeat`.count).utf8) }
        throw ConformanceFile.Missing(description: "bytes without utf8, base64 or repeat")
    }
}
