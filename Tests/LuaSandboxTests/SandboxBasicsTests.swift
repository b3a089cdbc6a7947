import Testing
import LuaSandbox

/// Output collected from `print`, safe to share with the Lua thread.
final class OutputBox: @unchecked Sendable {
    private let lock = NSLockish()
    private var text = ""
    func append(_ s: String) { lock.sync { text += s } }
    var value: String { lock.sync { text } }
}

@Suite struct SandboxBasicsTests {
    @Test func runsAChunkAndReturnsConvertedValues() async throws {
        let sandbox = try await LuaSandbox()
        let values = try await sandbox.run("""
            return 6 * 7, 1.5, "héllo", true, nil, {1, 2, {a = "b"}}, {x = {y = false}}
            """)
        #expect(values == [.integer(42), .number(1.5), .string("héllo"), .boolean(true), .nil,
                           .array([.integer(1), .integer(2), .map(["a": .string("b")])]),
                           .map(["x": .map(["y": .boolean(false)])])])
    }

    @Test func printGoesToTheHostSink() async throws {
        let out = OutputBox()
        let sandbox = try await LuaSandbox(output: { out.append($0) })
        _ = try await sandbox.run("print('a', 1, nil, true) warn('careful') warn('@on')")
        #expect(out.value == "a\t1\tnil\ttrue\nLua warning: careful\n")
    }

    @Test func syntaxErrorsAreReported() async throws {
        let sandbox = try await LuaSandbox()
        await #expect(throws: LuaError.self) { try await sandbox.run("return +", name: "=bad") }
        do {
            _ = try await sandbox.run("return +", name: "=bad")
        } catch let LuaError.syntax(message) {
            #expect(message.contains("bad:1"))
        }
    }

    @Test func runtimeErrorsCarryMessageAndValue() async throws {
        let sandbox = try await LuaSandbox()
        do {
            _ = try await sandbox.run("error({code = 'E', detail = 3})")
            Issue.record("expected an error")
        } catch let LuaError.runtime(message, value) {
            // A table error reads as its code (and message), where it was raised in front.
            #expect(message.hasSuffix(":1: E"), "\(message)")
            #expect(value == .map(["code": .string("E"), "detail": .integer(3)]))
        }
    }
}

@Suite struct SafeLibraryBehaviourTests {
    @Test func loadUsesTheGlobalsUnlessAnEnvironmentIsGiven() async throws {
        let sandbox = try await LuaSandbox()
        let values = try await sandbox.run("""
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
        let values = try await sandbox.run("""
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
        #expect(values == [.integer(20000), .integer(3898), .integer(2), .integer(10), .integer(1001),
                           .string("x-x-x"), .string(" 0.33"), .integer(9), .string("ü")])
    }
}
