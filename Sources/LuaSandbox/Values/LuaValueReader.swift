import CLua
import CLuaShim

/// Reads Lua values from a stack into `LuaValue`s using only Lua API functions that
/// cannot raise (raw access, no metamethods, no string conversion of numbers), with
/// depth, size and cycle limits and errors that name the bad value's path.
struct LuaValueReader {
    let L: OpaquePointer
    let limits: LuaConversionLimits
    /// Registry references created for Lua functions (when `allowFunctions`).
    private(set) var references: [Int32] = []
    private var items = 0
    private var onPath: Set<UnsafeRawPointer> = []
    /// Bytes charged so far against `limits.maxTotalBytes`.
    private(set) var bytes = 0
    /// Long strings already converted in this crossing, by their Lua address: a string
    /// referenced many times is copied into Swift once (and charged per reference).
    private var strings: [UnsafeRawPointer: LuaValue] = [:]
    /// Charge per table element (the key, the slot) besides the bytes of its strings.
    static let elementCharge = 16
    /// Strings at least this long are converted once per crossing.
    static let sharedStringBytes = 64
    private let handleLookup: (Int64) -> LuaHandle?

    init(L: OpaquePointer, limits: LuaConversionLimits, handleLookup: @escaping (Int64) -> LuaHandle?) {
        self.L = L
        self.limits = limits
        self.handleLookup = handleLookup
    }

    mutating func read(at index: Int32, path: String) throws(LuaConversionError) -> LuaValue {
        try read(at: lua_absindex(L, index), path: { path }, depth: 0)
    }

    /// Reads one value. `path` names it for errors and is only evaluated when one is
    /// thrown: building a path string per element cost more than the reading itself.
    private mutating func read(at idx: Int32, path: () -> String, depth: Int) throws(LuaConversionError) -> LuaValue {
        switch lua_type(L, idx) {
        case LUA_TNIL, LUA_TNONE: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, idx) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, idx) != 0 { return .integer(Int64(lua_tointegerx(L, idx, nil))) }
            let d = Double(lua_tonumberx(L, idx, nil))
            if limits.requireFinite && !d.isFinite {
                throw LuaConversionError(path: path(), problem: "\(d) is not a finite number")
            }
            return .number(d)
        case LUA_TSTRING:
            var len = 0
            guard let p = lua_tolstring(L, idx, &len) else { return .string("") }
            if len > limits.maxStringBytes {
                throw LuaConversionError(
                    path: path(), problem: "string of \(len) bytes exceeds \(limits.maxStringBytes)")
            }
            try charge(len, path: path)
            let key = UnsafeRawPointer(p)
            if len >= Self.sharedStringBytes, let seen = strings[key] { return seen }
            let buffer = UnsafeRawBufferPointer(start: p, count: len)
            let value: LuaValue
            if let s = String(validating: buffer, as: UTF8.self) {
                value = .string(s)
            } else {
                value = .bytes(Array(buffer))
            }
            if len >= Self.sharedStringBytes { strings[key] = value }
            return value
        case LUA_TTABLE:
            return try readTable(at: idx, path: path, depth: depth)
        case LUA_TUSERDATA:
            if quarry_is_null(L, idx) != 0 { return .null }
            var id: Int64 = 0
            if quarry_handle_id(L, idx, &id) != 0, let handle = handleLookup(id) { return .handle(handle) }
            if limits.placeholders { return .string("<userdata>") }
            throw LuaConversionError(path: path(), problem: "userdata cannot be converted")
        case LUA_TFUNCTION:
            guard limits.allowFunctions else {
                if limits.placeholders { return .string("<function>") }
                throw LuaConversionError(path: path(), problem: "functions cannot be converted")
            }
            let ref = quarry_ref(L, idx)
            if ref == LUA_NOREF {
                throw LuaConversionError(path: path(), problem: "not enough memory to keep the function")
            }
            references.append(ref)
            return .function(.lua(ref: ref))
        default:
            let name = String(cString: lua_typename(L, lua_type(L, idx)))
            throw LuaConversionError(path: path(), problem: "a \(name) cannot be converted")
        }
    }

    /// Counts `n` bytes against the crossing's budget.
    private mutating func charge(_ n: Int, path: () -> String) throws(LuaConversionError) {
        let (sum, overflow) = bytes.addingReportingOverflow(n)
        if overflow || sum > limits.maxTotalBytes {
            throw LuaConversionError.budget(path: path(), limits.maxTotalBytes)
        }
        bytes = sum
    }

    private mutating func readTable(at idx: Int32, path: () -> String, depth: Int) throws(LuaConversionError)
        -> LuaValue
    {
        if depth >= limits.maxDepth {
            throw LuaConversionError(path: path(), problem: "nested deeper than \(limits.maxDepth) levels")
        }
        if quarry_push_readonly_target(L, idx) != 0 {
            // A read-only proxy: convert the table it shows (e.g. `sandbox.limits`).
            defer { lua_settop(L, -2) }
            return try readTable(at: lua_gettop(L), path: path, depth: depth)
        }
        guard let identity = lua_topointer(L, idx) else { return .map([:]) }
        if onPath.contains(identity) {
            throw LuaConversionError(path: path(), problem: "table contains itself (a cycle)")
        }
        guard lua_checkstack(L, 4) != 0 else {
            throw LuaConversionError(path: path(), problem: "nested too deeply for the Lua stack")
        }
        onPath.insert(identity)
        defer { onPath.remove(identity) }
        var byIndex: [Int64: LuaValue] = [:]
        var byName: [String: LuaValue] = [:]
        let top = lua_gettop(L)
        lua_pushnil(L)
        while lua_next(L, idx) != 0 {
            items += 1
            if items > limits.maxItems {
                lua_settop(L, top)
                throw LuaConversionError(path: path(), problem: "more than \(limits.maxItems) table elements")
            }
            do throws(LuaConversionError) {
                var keyLength = 0
                if lua_type(L, -2) == LUA_TSTRING { _ = lua_tolstring(L, -2, &keyLength) }
                try charge(Self.elementCharge + keyLength, path: path)
            } catch {
                lua_settop(L, top)
                throw error
            }
            let keyType = lua_type(L, -2)
            do throws(LuaConversionError) {
                if keyType == LUA_TSTRING {
                    var len = 0
                    let p = lua_tolstring(L, -2, &len)
                    let key =
                        p.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: len), as: UTF8.self) } ?? ""
                    byName[key] = try read(
                        at: lua_gettop(L), path: { PathComponent.append(path(), key: key) }, depth: depth + 1)
                } else if keyType == LUA_TNUMBER && lua_isinteger(L, -2) != 0 {
                    let key = Int64(lua_tointegerx(L, -2, nil))
                    byIndex[key] = try read(
                        at: lua_gettop(L), path: { PathComponent.append(path(), index: Int(key)) }, depth: depth + 1)
                } else {
                    let name = String(cString: lua_typename(L, keyType))
                    throw LuaConversionError(
                        path: path(), problem: "table has a \(name) key; only string keys or 1...n are allowed")
                }
            } catch {
                lua_settop(L, top)
                throw error
            }
            lua_settop(L, top + 1)  // keep the key for lua_next
        }
        lua_settop(L, top)
        if byIndex.isEmpty { return .map(byName) }
        if limits.keepSparseTables, !byName.isEmpty || !Self.isSequence(byIndex) {
            // Integer keys become decimal strings; a string key spelt the same is not
            // overwritten (the string key wins: it is what the script wrote).
            var merged = byName
            for (key, value) in byIndex where merged[String(key)] == nil { merged[String(key)] = value }
            return .map(merged)
        }
        guard byName.isEmpty else {
            throw LuaConversionError(path: path(), problem: "table mixes string keys and integer keys")
        }
        let n = Int64(byIndex.count)
        var array: [LuaValue] = []
        array.reserveCapacity(byIndex.count)
        for i in 1...n {
            guard let v = byIndex[i] else {
                throw LuaConversionError(path: path(), problem: "array has holes (keys must be exactly 1...\(n))")
            }
            array.append(v)
        }
        return .array(array)
    }

    /// Whether the keys are exactly 1...n.
    private static func isSequence(_ byIndex: [Int64: LuaValue]) -> Bool {
        let n = Int64(byIndex.count)
        return byIndex.keys.allSatisfy { $0 >= 1 && $0 <= n }
    }
}
