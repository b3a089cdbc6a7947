import Testing

@testable import BedrockWire

@Suite struct WireNameTests { @Test func signingNameIsBedrock() { #expect(BedrockWire.signingName == "bedrock") } }
