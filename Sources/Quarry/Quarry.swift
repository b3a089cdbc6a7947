import LuaSandbox
import BedrockRuntime

/// Quarry's version, shown by `quarry --version` and the REPL banner.
public let quarryVersion = "0.1.0"
