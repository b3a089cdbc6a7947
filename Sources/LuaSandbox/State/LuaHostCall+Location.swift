import CLua

extension LuaHostCall {
    /// Where the script made this call: the nearest Lua frame with a line that is not
    /// the host's own code (chunks named `=[quarry…`), as the chunk's name without its
    /// `@`/`=` prefix and the line. Nil when no such frame is on the stack.
    public var callerLocation: (script: String, line: Int)? {
        guard let thread else { return nil }
        var ar = lua_Debug()
        var level: Int32 = 1
        while level < 64, lua_getstack(thread, level, &ar) != 0 {
            level += 1
            guard lua_getinfo(thread, "Sl", &ar) != 0, ar.currentline > 0, let source = ar.source else { continue }
            let name = String(cString: source)
            if name.hasPrefix("=[quarry") { continue }
            let trimmed = name.hasPrefix("@") || name.hasPrefix("=") ? String(name.dropFirst()) : "[string]"
            return (trimmed, Int(ar.currentline))
        }
        return nil
    }
}
