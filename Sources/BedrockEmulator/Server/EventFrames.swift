/// Event-stream frames for responses, built with BedrockWire's encoder (branch `eventstream`).
enum EventFrames {
    static func event(type: String, payload: [UInt8]) -> [UInt8] {
        []
    }

    static func exception(memberName: String, payload: [UInt8]) -> [UInt8] {
        []
    }
}
