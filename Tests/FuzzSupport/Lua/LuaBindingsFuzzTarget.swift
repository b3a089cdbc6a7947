import BedrockEmulator
import Foundation
import Logging
import LuaSandbox
import Quarry

/// The Lua host bindings: each input is a random program over every host function.
/// A fresh `QuarryHost` (with the modules the `quarry` command installs) on one real
/// emulator per process runs `fuzz_bytes(input)`, a driver that enumerates the host's
/// functions at run time and calls them, from a draw of the input's bytes, with values
/// from a pool of hostile ones (every Lua type, extreme numbers, deep and cyclic tables,
/// lying metamethods, coroutines in every state, request-shaped tables). Scripts'
/// errors are fine; the host must come back (no crash, no hang past its limits) and
/// must still run a trivial chunk afterwards.
public enum LuaBindingsFuzzTarget {
    /// One emulator and its target for the process, kept alive by this reference.
    static let emulator: (server: BedrockEmulator, target: QuarryTarget)? = blocking {
        var configuration = EmulatorConfiguration()
        configuration.latencyPerToken = .zero
        var logger = Logger(label: "fuzz.emulator")
        logger.logLevel = .critical
        let emulator = BedrockEmulator(configuration: configuration, logger: logger)
        guard let endpoint = try? await emulator.start() else { return nil }
        return (emulator, QuarryTarget.emulator(url: endpoint.url, adminToken: emulator.adminToken))
    }

    /// Small limits: a program is a few dozen calls.
    static let policy = HostPolicy(
        limits: LuaLimits(
            memoryBytes: 32 << 20, instructions: 20_000_000, seconds: 3,
            outputBytes: 64 << 10, hostCalls: 200))

    public static func fuzzOne(_ data: [UInt8]) throws(FuzzFinding) {
        guard let target = emulator?.target else { throw FuzzFinding("lua-bindings", "the emulator did not start") }
        let problem: String? = blocking {
            var logger = Logger(label: "fuzz.script")
            logger.logLevel = .critical
            let host: QuarryHost
            do {
                host = try await QuarryHost(
                    target: target,
                    options: .init(
                        policy: policy, output: { _ in }, errorOutput: { _ in }, logger: logger,
                        defaultModel: "amazon.nova-micro-v1:0"))
                for module: any QuarryModule in [FaultModule(), EmulatorModule(), MetricsModule(), ResilienceModule()] {
                    try await host.install(module)
                }
                try await host.load(module: driver, name: "=fuzz-driver")
            } catch {
                return "the host did not start: \(error)"
            }
            let problem = await check(host, data)
            await host.shutdown()
            return problem
        }
        if let problem { throw FuzzFinding("lua-bindings", problem) }
    }

    /// Runs the program drawn from `data`, then a trivial chunk; what went wrong, if anything.
    static func check(_ host: QuarryHost, _ data: [UInt8]) async -> String? {
        do {
            let calls = try await host.evaluate("return fuzz_bytes(...)", name: "=fuzz", arguments: [.bytes(data)])
            // The harness must really run programs: a non-empty input makes at least one call.
            if !data.isEmpty, calls.first.map({ if case .integer(let n) = $0 { n < 1 } else { true } }) ?? true {
                return "the driver made no call: \(calls)"
            }
        } catch {
            if String(describing: error).contains("global 'fuzz_bytes'") { return "the driver is missing: \(error)" }
        }
        do {
            let after = try await host.evaluate("return 1 + 1", name: "=after")
            guard after.first == .integer(2) else { return "the host answered \(after) to 1 + 1 after the program" }
        } catch {
            // A program that used up the run's limits leaves them used up: that is fine.
            let text = String(describing: error)
            if text.contains("limit") || text.contains("memory") || text.contains("budget") || text.contains("time") {
                return nil
            }
            return "the host no longer runs a trivial chunk after the program: \(text)"
        }
        return nil
    }

    /// The Lua driver: `fuzz_bytes(s)` runs one program drawn from the bytes of `s`.
    static let driver = #"""
        local skip = { fuzz_bytes = true, print = true, write = true, io = true, sleep = true }
        local targets = {}
        local names = {}
        for k in pairs(_G) do if type(k) == "string" then names[#names + 1] = k end end
        table.sort(names)
        for _, name in ipairs(names) do
          local v = rawget(_G, name)
          if type(v) == "function" and not skip[name] then
            targets[#targets + 1] = v
          elseif type(v) == "table" and name ~= "_G" and name ~= "arg" and name ~= "string" and name ~= "table"
              and name ~= "math" and name ~= "utf8" and name ~= "coroutine" then
            local inner = {}
            for k in pairs(v) do if type(k) == "string" then inner[#inner + 1] = k end end
            table.sort(inner)
            for _, k in ipairs(inner) do
              if type(rawget(v, k)) == "function" and not skip[name .. "." .. k] then targets[#targets + 1] = v[k] end
            end
          end
        end

        function fuzz_bytes(input)
          local at = 0
          local function draw(n)
            at = at + 1
            local b = input:byte(at) or 0
            return b % n
          end
          local big = string.rep("x", 1 << 16)
          local deep = {}
          local t = deep
          for i = 1, 200 do t[1] = {}; t = t[1] end
          local cyclic = {}; cyclic.self = cyclic; cyclic[1] = cyclic
          local liar = setmetatable({}, {
            __len = function() return draw(2) == 0 and math.maxinteger or 1 end,
            __index = function() if draw(2) == 0 then error("lying __index") end return big end,
            __tostring = function() if draw(2) == 0 then return {} end return big end,
            __eq = function() return draw(2) == 0 end,
            __lt = function() return draw(2) == 0 end,
            __le = function() error("lying __le") end,
            __concat = function() return big end,
            __call = function(...) return ... end,
            __close = function() error("lying __close") end,
            __name = "Liar",
          })
          local suspended = coroutine.create(function(...) coroutine.yield(...) return big end)
          local started = coroutine.create(function() coroutine.yield(1) end); coroutine.resume(started)
          local dead = coroutine.create(function() end); coroutine.resume(dead)
          local keys = { "model", "messages", "body", "timeout", "seconds", "times", "concurrency", "inference", "max_tokens",
                         "error", "latency_ms", "stream", "after_events", "probability", "seed", "retry_after_ms",
                         "attempts", "region", "content", "text", "role", "tools", "system", "on_text", "on_event" }
          local request = { model = "amazon.nova-micro-v1:0", messages = { { role = "user", content = "hi" } } }
          local values = {
            nil, true, false, 0, -0.0, 1, -1, 0.5, 0/0, math.huge, -math.huge, 1e300, 2^53 + 1, 2^63,
            math.maxinteger, math.mininteger, "", "x", "amazon.nova-micro-v1:0", "ThrottlingException", "\0\255\254",
            big, deep, cyclic, liar, suspended, started, dead, {}, { 1, 2, 3 }, request, "hi",
            function() end, function() error({ code = liar }) end, function(...) return ... end,
          }
          local nvalues = 35
          local function value(depth)
            local k = draw(nvalues + 2)
            if k < nvalues then return values[k + 1] end
            local t = {}
            if depth < 2 then
              for i = 1, draw(4) do
                if draw(2) == 0 then t[keys[draw(#keys) + 1]] = value(depth + 1) else t[#t + 1] = value(depth + 1) end
              end
            end
            return t
          end
          local calls = 0
          while at < #input and calls < 24 do
            calls = calls + 1
            local target = targets[draw(#targets) + 1]
            local args, n = {}, draw(4)
            for j = 1, n do args[j] = value(0) end
            local function call() return target(table.unpack(args, 1, n)) end
            local site = draw(4)
            if site == 0 then
              pcall(call)
            elseif site == 1 then
              pcall(function() return setmetatable({}, { __index = function() return call() end }).x end)
            elseif site == 2 then
              pcall(table.sort, { 3, 1, 2 }, function(a, b) call() return a < b end)
            else
              local co = coroutine.create(call)
              pcall(coroutine.resume, co)
              if coroutine.status(co) == "suspended" then pcall(coroutine.resume, co) end
              pcall(coroutine.close, co)
            end
          end
          if fault and fault.clear then pcall(fault.clear) end
          if emulator and emulator.clear then pcall(emulator.clear) end
          return calls
        end
        """#
}
