@_exported import LuaSandbox
@_exported import BedrockRuntime

/// Quarry's version, shown by `quarry --version` and the REPL banner.
public let quarryVersion = "0.1.0"
