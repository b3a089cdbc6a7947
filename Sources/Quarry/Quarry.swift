@_exported import BedrockBatch
@_exported import BedrockRuntime
// `QuarryHost.Options.logger` is a swift-log `Logger`: apps get it with `import Quarry`.
@_exported import Logging
@_exported import LuaSandbox

/// Quarry's version, shown by `quarry --version` and the REPL banner.
public let quarryVersion = "0.1.0"
