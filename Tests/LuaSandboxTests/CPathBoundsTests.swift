import CLua
import CLuaShim
import Foundation
import LuaSandbox
import Testing

/// Tests of the bounds on C paths scripts reach (see `Sources/LuaSandbox/SANDBOX.md`):
/// exact results where the sandbox replaced a library function, and errors where a
/// bound stops the work. The attack scripts in `Attacks/` cover the hostile cases.
@Suite struct CPathBoundsTests {
    /// Row 1 of issue 16: `print` joined its arguments through a buffer whose box was
    /// not on top of the stack; the line must be exactly the arguments, tab-separated.
    @Test func printWritesExactlyTheJoinedArguments() async throws {
        let out = OutputBox()
        let sandbox = try await LuaSandbox(output: { out.append($0) })
        _ = try await sandbox.run(
            """
            local big = ("A"):rep(4096)
            local obj = setmetatable({}, { __tostring = function()
              local junk = {}
              for i = 1, 100 do junk[i] = ("z"):rep(1000) .. i end
              return ("T"):rep(3000)
            end })
            print(big, "x", 1, 2.5, nil, true, obj, big)
            print()
            print(("B"):rep(2500), obj)
            """)
        let a = String(repeating: "A", count: 4096)
        let t = String(repeating: "T", count: 3000)
        let expected =
            [a, "x", "1", "2.5", "nil", "true", t, a].joined(separator: "\t") + "\n"
            + "\n" + String(repeating: "B", count: 2500) + "\t" + t + "\n"
        #expect(out.value == expected)
    }

    /// io.write's joining (for hosts that offer it) keeps its bytes exact too.
    @Test func ioWriteJoinsItsArgumentsExactly() async throws {
        let out = OutputBox()
        let sandbox = try await LuaSandbox(output: { out.append($0) })
        try await sandbox.withState { state in
            try state.setGlobal("write", state.outputWriter())
        }
        _ = try await sandbox.run("write(('W'):rep(5000), 7, '|', 1.5) write() write('')")
        #expect(out.value == String(repeating: "W", count: 5000) + "7|1.5")
    }

    /// Row 2 of issue 16: the sandbox's own matcher (find, match, gmatch, gsub) gives
    /// exactly Lua 5.4's results and error messages over generated patterns and
    /// subjects (classes, sets, quantifiers, anchors, captures, %b, %f, back-references,
    /// replacement strings, tables and functions, init positions and max counts).
    @Test(arguments: [1, 2, 3, 4]) func patternMatcherAgreesWithLua54(seed: Int) throws {
        let url = try #require(
            Bundle.module.url(forResource: "patterns", withExtension: "lua", subdirectory: "Differential"))
        let source = try String(contentsOf: url, encoding: .utf8)
        let L = try #require(quarry_pattern_test_state())
        defer { lua_close(L) }
        let loaded = source.withCString { quarry_lua_load_text(L, $0, source.utf8.count, "=patterns") }
        #expect(loaded == LUA_OK)
        lua_pushinteger(L, lua_Integer(seed))
        lua_pushinteger(L, 15_000)
        let status = quarry_lua_pcall(L, 2, 1, 0)
        var len = 0
        let message = quarry_lua_tostring(L, -1, &len).map { String(cString: $0) } ?? "?"
        #expect(status == LUA_OK, "\(message)")
        #expect(lua_tointegerx(L, -1, nil) == 15_000)
    }

    /// Row 2: the patterns the old estimate missed now stop at the per-call step cap
    /// (an ordinary error) instead of running for hours in C.
    @Test func patternsTheEstimateMissedAreCountedToo() async throws {
        let sandbox = try await LuaSandbox()
        var limits = LuaLimits()
        limits.patternCost = 1e7
        for (subject, call) in [
            ("('a'):rep(200000) .. 'b'", "find('a*$')"), ("('a'):rep(200000) .. 'b'", "find('a-$')"),
            ("('a'):rep(200000) .. 'b'", "gsub('a*$', '')"),
            ("('^a'):rep(100000)", "gmatch('^a.-b')()"),
        ] {
            do {
                _ = try await sandbox.run("local s = \(subject) return s:\(call)", limits: limits)
                Issue.record("\(call) ran unbounded")
            } catch LuaError.runtime(let message, _) {
                #expect(message.contains("pattern too costly"), "\(message)")
            }
        }
        // Honest scans stay linear and pass.
        let values = try await sandbox.run(
            """
            local s = ("key=value; "):rep(50000)
            local n = 0
            for k, v in s:gmatch("(%w+)=(%w+)") do n = n + 1 end
            return n, (s:gsub("%s", "")):len(), s:find("value;%s*$")
            """)
        #expect(values == [.integer(50000), .integer(500000), .integer(549_994), .integer(550_000)])
    }

    /// Wrapped functions (those charged by their bytes, setmetatable, coroutine.create,
    /// ...) run the original from C; their argument errors still read as Lua's own
    /// (name, position, method self).
    @Test func chargedFunctionsKeepLuasErrorMessages() async throws {
        let sandbox = try await LuaSandbox()
        let values = try await sandbox.run(
            """
            local function e(f) local ok, m = pcall(f) return m end
            return e(function() return ("%d"):format("x") end),
              e(function() return utf8.len("abc", 10) end),
              e(function() local s = "x" return s.upper() end),
              select(2, pcall(string.upper, {})),
              ("abc"):upper() .. ("%5.1f"):format(3.14159) .. utf8.len("h\u{E9}llo"),
              select(2, pcall(setmetatable, 1, {})),
              e(function() return coroutine.create(1) end)
            """, name: "=t")
        #expect(
            values == [
                .string("t:2: bad argument #1 to 'format' (number expected, got string)"),
                .string("t:3: bad argument #2 to 'len' (initial position out of bounds)"),
                .string("t:4: bad argument #1 to 'upper' (string expected, got no value)"),
                .string("bad argument #1 to 'string.upper' (string expected, got table)"),
                .string("ABC  3.15"),
                .string("bad argument #1 to 'setmetatable' (table expected, got number)"),
                .string("t:8: bad argument #1 to 'create' (function expected, got number)"),
            ])
    }

    /// Row 3: every table function reads the length once and works over that range.
    @Test func tableFunctionsKeepLua54Results() async throws {
        let sandbox = try await LuaSandbox()
        let values = try await sandbox.run(
            """
            local t = {1, 2, 3}
            table.insert(t, 4); table.insert(t, 1, 0)
            local r = table.remove(t); local r1 = table.remove(t, 1)
            local e = {}; local rn = table.remove(e); local r0 = table.remove(e, 0)
            local okp, errp = pcall(table.insert, t, 9, 1)
            local okn, errn = pcall(table.insert, t, 1, 2, 3)
            local s = {5, 2, 8, 1, 9, 3, 7, 4, 6, 0, 11, 15, 13, 12, 14, 10}
            table.sort(s)
            local d = {"b", "c", "a", "e", "d"}
            table.sort(d, function(x, y) return x > y end)
            local okc, errc = pcall(table.sort, {1, "x", 2})
            local proxy = setmetatable({}, {__index = function(_, i) return ({30, 10, 20})[i] end,
              __newindex = function(p, i, v) rawset(p, i, v) end, __len = function() return 3 end})
            table.sort(proxy)
            return table.concat(t, ","), r, r1, rn, r0, okp, errp, okn, errn,
              table.concat(s, ","), table.concat(d), okc, errc ~= nil,
              rawget(proxy, 1), rawget(proxy, 2), rawget(proxy, 3),
              table.concat({1, 2, 3}, "-", 2), select("#", table.unpack({1, 2, 3}, 2))
            """)
        #expect(
            values == [
                .string("1,2,3"), .integer(4), .integer(0), .nil, .nil,
                .boolean(false), .string("bad argument #2 to 'table.insert' (position out of bounds)"),
                .boolean(false), .string("wrong number of arguments to 'insert'"),
                .string("0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15"), .string("edcba"),
                .boolean(false), .boolean(true),
                .integer(10), .integer(20), .integer(30), .string("2-3"), .integer(2),
            ])
    }

    /// Row 4: sort is correct for many elements (merge sort over a work table).
    @Test func sortOrdersLargeArraysLikeLua() async throws {
        let sandbox = try await LuaSandbox()
        let values = try await sandbox.run(
            """
            local t, x = {}, 12345
            for i = 1, 20000 do x = (x * 1103515245 + 12345) % 2147483648; t[i] = x % 1000 end
            table.sort(t)
            for i = 2, #t do assert(t[i - 1] <= t[i], "out of order at " .. i) end
            local w = {}
            for i = 1, 3000 do w[i] = tostring((i * 7919) % 3001) end
            table.sort(w, function(a, b) return #a < #b or (#a == #b and a < b) end)
            return #t, w[1], w[3000]
            """)
        #expect(values == [.integer(20000), .string("1"), .string("3000")])
    }

    /// Smaller item of issue 16: making a cyclic (or shared) table deeply read-only
    /// terminates; each table gets one proxy, so the cycle survives as a cycle.
    @Test func deepReadOnlyOfACyclicTableTerminates() async throws {
        let sandbox = try await LuaSandbox()
        _ = try await sandbox.run(
            """
            cyc = { name = "root", child = { leaf = 1 } }
            cyc.self = cyc
            cyc.child.up = cyc
            cyc.twin = cyc.child
            """)
        try await sandbox.withState { state in try state.freezeGlobal("cyc", deep: true) }
        let values = try await sandbox.run(
            """
            local ok, err = pcall(function() cyc.child.leaf = 2 end)
            return cyc.self == cyc, cyc.child.up == cyc, cyc.twin == cyc.child, cyc.self.self.name,
              ok, tostring(err):find("read%-only") ~= nil
            """)
        #expect(
            values == [
                .boolean(true), .boolean(true), .boolean(true), .string("root"),
                .boolean(false), .boolean(true),
            ])
        // Nesting deeper than the C recursion allows is an error, not a crash.
        _ = try await sandbox.run("deep = {} local t = deep for i = 1, 100000 do t.next = {} t = t.next end")
        await #expect(throws: LuaError.self) {
            try await sandbox.withState { state in try state.freezeGlobal("deep", deep: true) }
        }
    }
}
