import BedrockEmulator
import Foundation
import Quarry
import Testing

/// The host keeps the sandbox's promises: no `io`, `os` beyond time, `debug`, `package`;
/// every host table read-only; the internal function table unreachable.
@Suite struct HostSandboxTests {
    @Test func theHostAddsNoEscapeHatches() async throws {
        try await HostHarness.with { h in
            let r = try await h.value(
                """
                return {io == nil, debug == nil, package == nil, require == nil, os.getenv == nil, os.execute == nil,
                        __quarry == nil, loadfile == nil, dofile == nil}
                """)
            #expect(r == .array(Array(repeating: true, count: 9)))
        }
    }

    @Test func hostTablesAreReadOnly() async throws {
        try await HostHarness.with { h in
            try await h.host.register("tools.lookup") { _ in ["found"] }
            try await h.host.register("tools.extra.deep") { _ in ["deep"] }
            let r = try await h.value(
                """
                local out = {}
                for _, t in ipairs{'bedrock', 'json', 'log', 'stderr', 'stdin', 'tools', 'sandbox'} do
                  local target = _G[t]
                  local ok1 = pcall(function() target.converse = print end)
                  local ok2 = pcall(rawset, target, 'x', 1)
                  local ok3 = pcall(setmetatable, target, {})
                  out[#out + 1] = t .. ':' .. tostring(ok1) .. tostring(ok2) .. tostring(ok3)
                end
                local c = bedrock.client{}
                out[#out + 1] = 'client-mt:' .. tostring(getmetatable(c))
                out[#out + 1] = 'tools:' .. tools.lookup() .. tools.extra.deep()
                return out
                """)
            #expect(
                r
                    == .array([
                        "bedrock:falsefalsefalse", "json:falsefalsefalse", "log:falsefalsefalse",
                        "stderr:falsefalsefalse", "stdin:falsefalsefalse", "tools:falsefalsefalse",
                        "sandbox:falsefalsefalse", "client-mt:false", "tools:founddeep",
                    ]))
        }
    }
}
