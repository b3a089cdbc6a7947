import Testing
@testable import BedrockRuntime
