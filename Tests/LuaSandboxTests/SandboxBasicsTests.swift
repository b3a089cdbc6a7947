import LuaSandbox
import Testing

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
        let values = try await sandbox.run(
            """
            return 6 * 7, 1.5, "héllo", true, nil, {1, 2, {a = "b"}}, {x = {y = false}}
            """)
        #expect(
            values == [
                .integer(42), .number(1.5), .string("héllo"), .boolean(true), .nil,
                .array([.integer(1), .integer(2), .map(["a": .string("b")])]),
                .map(["x": .map(["y": .boolean(false)])]),
            ])
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
