import Testing

@testable import Quarry

/// The Lua sources `Quarry` embeds at build time (`.lua` files, issue 17 item 5): each
/// compiles in a real lua_State under its chunk name, opens with its header comment, and
/// runs where the host runs it.
@Suite struct EmbeddedLuaTests {
    /// Compiles `source` in a fresh sandboxed state; a syntax error throws, naming the line.
    static func compile(_ source: String, name: String) throws {
        let state = try LuaState()
        let function = try state.load(source, name: name)
        state.release(function)
    }

    @Test func preludeCompilesAndBuildsTheHostAPI() async throws {
        #expect(Prelude.source.hasPrefix("-- [quarry prelude]"))
        try Self.compile(Prelude.source, name: Prelude.chunkName)
        let harness = try await HostHarness.start()
        let kinds = try await harness.value(
            "return type(bedrock.converse) .. ' ' .. type(json.encode) .. ' ' .. type(parallel)")
        await harness.stop()
        #expect(kinds == "function function function")
    }

    @Test func assignerCompilesAndSetsADottedGlobal() async throws {
        let source = String(decoding: PackageResources.assign_lua, as: UTF8.self)
        #expect(source.hasPrefix("-- [quarry assign]"))
        try Self.compile(source, name: "=[quarry assign]")
        let harness = try await HostHarness.start()
        try await harness.host.setGlobal("app.tools.answer", .integer(42))
        let value = try await harness.value("return app.tools.answer")
        await harness.stop()
        #expect(value == .integer(42))
    }

    @Test func testFrameworkCompilesAndReturnsTheRunnersFunctions() async throws {
        #expect(TestPrelude.source.hasPrefix("-- [quarry test]"))
        try Self.compile(TestPrelude.source, name: TestPrelude.chunkName)
        let harness = try await HostHarness.start()
        let functions = try await harness.host.loadKeepingFunctions(TestPrelude.source, name: TestPrelude.chunkName)
        await harness.stop()
        #expect(functions.count == 2)
    }

    @Test func resilienceModuleCompilesAndInstalls() async throws {
        #expect(ResilienceModule.source.hasPrefix("-- [quarry resilience]"))
        try Self.compile(ResilienceModule.source, name: "=[quarry resilience]")
        let harness = try await HostHarness.start()
        try await harness.host.install(ResilienceModule())
        let kinds = try await harness.value("return type(resilience.retry) .. ' ' .. type(resilience.pipeline)")
        await harness.stop()
        #expect(kinds == "function function")
    }
}
