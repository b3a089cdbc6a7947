@_exported import BedrockWire
