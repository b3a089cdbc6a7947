import LuaSandbox
import Testing

@Suite struct ValueConversionTests {
    @Test func badValuesAreNamedByPath() async throws {
        let sandbox = try await LuaSandbox()
        await #expect(
            throws: LuaError.conversion(
                LuaConversionError(
                    path: "result.messages[2].content",
                    problem: "functions cannot be converted"))
        ) {
            try await sandbox.run("return {messages = {{content = 'a'}, {content = print}}}")
        }
        await #expect(
            throws: LuaError.conversion(
                LuaConversionError(
                    path: "result.self",
                    problem: "table contains itself (a cycle)"))
        ) {
            try await sandbox.run("local t = {} t.self = t return t")
        }
        await #expect(
            throws: LuaError.conversion(
                LuaConversionError(
                    path: "result[\"a b\"]",
                    problem: "array has holes (keys must be exactly 1...2)"))
        ) {
            try await sandbox.run("return {['a b'] = {[1] = 1, [3] = 3}}")
        }
        await #expect(throws: LuaError.self) { try await sandbox.run("return {[true] = 1}") }
    }

    @Test func depthAndSizeAreLimited() async throws {
        let sandbox = try await LuaSandbox()
        do {
            _ = try await sandbox.run("local t = {} local c = t for i = 1, 40 do c.n = {} c = c.n end return t")
            Issue.record("expected a depth error")
        } catch let LuaError.conversion(error) {
            #expect(error.problem == "nested deeper than 32 levels")
            #expect(error.path.hasPrefix("result.n.n.n"))
        }
        do {
            _ = try await sandbox.run("local t = {} for i = 1, 100001 do t[i] = i end return t")
            Issue.record("expected a size error")
        } catch let LuaError.conversion(error) {
            #expect(error.problem == "more than 100000 table elements")
        }
        // a shared (acyclic) table is fine
        #expect(
            try await sandbox.run("local s = {1} return {s, s}") == [
                .array([.array([.integer(1)]), .array([.integer(1)])])
            ])
    }

    @Test func swiftValuesRoundTripIncludingNullAndBytes() async throws {
        let sandbox = try await LuaSandbox()
        let sent: LuaValue = .map([
            "n": .null, "b": .bytes([0xff, 0x00, 0x41]), "f": .number(-0.25), "i": .integer(.min),
            "list": .array([.boolean(true), .string("ü")]), "empty": .map([:]),
        ])
        try await sandbox.withState { state in
            try state.setGlobal("sent", sent)
            try state.setGlobal("echo", state.register("echo") { .values($0.arguments) })
        }
        let values = try await sandbox.run(
            """
            return echo(sent), tostring(sent.n), sent.n == echo(sent.n), type(sent.n), #sent.b
            """)
        #expect(values == [sent, .string("null"), .boolean(true), .string("userdata"), .integer(3)])
    }

    @Test func preEncodedListsArriveAsTables() async throws {
        let sandbox = try await LuaSandbox()
        var writer = LuaListWriter()
        writer.appendRecord { record in
            record.field("type", "text")
            record.field("text", "héllo")
            record.field("index", 3)
        }
        try writer.append(.map(["type": "metadata", "usage": .map(["total": .integer(7)])]))
        try writer.append(.string("plain"))
        var list = writer.finish()
        #expect(list.count == 3 && writer.count == 0)
        var more = LuaListWriter()
        more.appendRecord { $0.field("n", -1) }
        list.append(more.finish())
        let sent = LuaValue.encodedList(list)
        try await sandbox.withState { try $0.setGlobal("events", sent) }
        let values = try await sandbox.run(
            "return #events, events[1].type, events[1].text, events[1].index, math.type(events[1].index), events[2].usage.total, events[3], events[4].n"
        )
        #expect(values == [.integer(4), "text", "héllo", .integer(3), "integer", .integer(7), "plain", .integer(-1)])
        // An empty list is an empty table.
        var empty = LuaListWriter()
        let none = LuaValue.encodedList(empty.finish())
        try await sandbox.withState { try $0.setGlobal("none", none) }
        #expect(try await sandbox.run("return type(none), next(none)") == ["table", .nil])
    }

    @Test func preEncodedListsCountAgainstTheLimits() async throws {
        let sandbox = try await LuaSandbox()
        var writer = LuaListWriter()
        for _ in 0..<30_000 {
            writer.appendRecord {
                $0.field("a", 1); $0.field("b", 2); $0.field("c", 3)
            }
        }
        let big = LuaValue.encodedList(writer.finish())  // 30,000 items + 90,000 fields > 100,000
        await #expect(throws: LuaError.self) {
            try await sandbox.withState { try $0.setGlobal("big", big) }
        }
        var deep: LuaValue = .integer(1)
        for _ in 0..<40 { deep = .array([deep]) }
        var shallow = LuaListWriter()
        #expect(throws: LuaConversionError.self) { try shallow.append(deep) }
        #expect(shallow.count == 0)
    }

    @Test func finiteNumbersCanBeRequired() async throws {
        let sandbox = try await LuaSandbox()
        try await sandbox.withState { state in
            var limits = LuaConversionLimits()
            limits.requireFinite = true
            state.resultLimits = limits
        }
        await #expect(
            throws: LuaError.conversion(LuaConversionError(path: "result.x", problem: "inf is not a finite number"))
        ) {
            try await sandbox.run("return {x = 1/0}")
        }
    }

    @Test func swiftToLuaConversionIsLimitedToo() async throws {
        let sandbox = try await LuaSandbox()
        var deep: LuaValue = .integer(1)
        for _ in 0..<40 { deep = .array([deep]) }
        let nested = deep
        await #expect(throws: LuaError.self) {
            try await sandbox.withState { try $0.setGlobal("deep", nested) }
        }
    }
}
