import Testing
@testable import BedrockEmulator
