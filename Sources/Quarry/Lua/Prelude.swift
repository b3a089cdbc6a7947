/// The Lua half of the host API, run once in every host's state. It turns the internal
/// host functions (`__quarry`, removed from the globals here) into the documented API:
/// `bedrock.*`, `json`, `log`, `sleep`, `now`, `uuid`, `parallel`, `map`.
///
/// Its chunk name starts with `=[quarry`, so errors report the script's line, not ours.
enum Prelude {
    static let chunkName = "=[quarry prelude]"

    /// The global tables the prelude fills, frozen (read-only to scripts) afterwards.
    static let hostTables = ["bedrock", "json", "base64", "log", "stderr", "stdin"]

    /// The source, from `prelude.lua` beside this file, embedded at build time.
    static let source = String(decoding: PackageResources.prelude_lua, as: UTF8.self)
}
