import LuaSandbox
import Testing

@Suite struct SafeLibraryBehaviourTests {
    @Test func loadUsesTheGlobalsUnlessAnEnvironmentIsGiven() async throws {
        let sandbox = try await LuaSandbox()
        let values = try await sandbox.run(
            """
            x = 5
            local named = load("return x", "=c", "t")()
            local bare = load("return x")()
            local own = load("return x", "=c", "t", {x = 7})()
            local none = pcall(load("return x", "=c", "t", nil))
            return named, bare, own, none
            """)
        #expect(values == [.integer(5), .integer(5), .integer(7), .boolean(false)])
    }

    @Test func everydayLibraryUseStaysWithinTheDefaultLimits() async throws {
        let sandbox = try await LuaSandbox()
        let values = try await sandbox.run(
            """
            local text = ("key=value; "):rep(20000)
            local n = 0
            for k, v in text:gmatch("(%w+)=(%w+)") do n = n + 1 end
            local parts = {}
            for i = 1, 1000 do parts[#parts + 1] = tostring(i) end
            table.insert(parts, 1, "first")
            table.sort(parts)
            local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
            return n, #table.concat(parts, ","), co(1), co(5), select("#", table.unpack(parts)),
                   ("x"):rep(3, "-"), string.format("%5.2f", 1 / 3), math.max(3, 9), utf8.char(252)
            """)
        #expect(
            values == [
                .integer(20000), .integer(3898), .integer(2), .integer(10), .integer(1001),
                .string("x-x-x"), .string(" 0.33"), .integer(9), .string("ü"),
            ])
    }
}
