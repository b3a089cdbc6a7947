import BedrockWire
import Foundation
import NIOCore

/// The typical request the benchmarks use: a short conversation with an inference
/// configuration, as a Converse call from a script sends it.
enum TypicalConverse {
    static let modelId = "anthropic.claude-3-haiku-20240307-v1:0"
    static let requestJSON =
        #"{"inferenceConfig":{"maxTokens":512,"temperature":0.5},"messages":[{"content":[{"text":"Summarise the following paragraph in one sentence: the quick brown fox jumps over the lazy dog while the cat watches from the fence."}],"role":"user"}],"system":[{"text":"You are a concise assistant."}]}"#
    static let responseJSON =
        #"{"metrics":{"latencyMs":12},"output":{"message":{"content":[{"text":"Hello! How can I help you today?"}],"role":"assistant"}},"stopReason":"end_turn","usage":{"inputTokens":9,"outputTokens":9,"totalTokens":18}}"#
    static let url =
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
    static let credentials = SigV4Credentials(
        accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
}

/// A ConverseStream body as the service sends it: messageStart, `deltas` text deltas
/// (each with the `"p"` padding field), contentBlockStop, messageStop, metadata.
enum ConverseStreamBody {
    static func make(deltas: Int) throws -> ByteBuffer {
        let writer = EventStreamWriter()
        var body = ByteBuffer()
        try writer.writeEvent(
            "messageStart", payload: ByteBuffer(string: #"{"p":"abcdefgh","role":"assistant"}"#), into: &body)
        let padding = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        for i in 0..<deltas {
            let pad = padding.prefix(i % 37)
            try writer.writeEvent(
                "contentBlockDelta",
                payload: ByteBuffer(
                    string: #"{"contentBlockIndex":0,"delta":{"text":" token\#(i % 1000)"},"p":"\#(pad)"}"#),
                into: &body)
        }
        try writer.writeEvent(
            "contentBlockStop", payload: ByteBuffer(string: #"{"contentBlockIndex":0,"p":"ab"}"#), into: &body)
        try writer.writeEvent(
            "messageStop", payload: ByteBuffer(string: #"{"p":"abc","stopReason":"end_turn"}"#), into: &body)
        try writer.writeEvent(
            "metadata", payload: ByteBuffer(string: #"{"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}"#),
            into: &body)
        return body
    }

    /// The body cut into chunks of `size` bytes, each in its own storage like a network read.
    static func chunks(of body: ByteBuffer, size: Int) -> [ByteBuffer] {
        var chunks: [ByteBuffer] = []
        var rest = body
        while rest.readableBytes > 0, let chunk = rest.readSlice(length: min(size, rest.readableBytes)) {
            var owned = ByteBuffer()
            owned.writeImmutableBuffer(chunk)
            chunks.append(owned)
        }
        return chunks
    }
}
