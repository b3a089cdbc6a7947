import BedrockWire
import Foundation

/// Splits a tool's input JSON into the partial strings streams deliver it in.
enum ToolInputSplitter {
    static func parts(_ input: JSONValue) -> [String] {
        let text = input.text
        var parts: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if current.count >= 12 { parts.append(current); current = "" }
        }
        if !current.isEmpty { parts.append(current) }
        return parts
    }
}
