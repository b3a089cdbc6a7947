import Foundation
import TestSupport
import Testing

/// Issue 16 item 11: a deterministic fuzzer for the host bindings.
///
/// Each generated program is one `test(…)` of a `quarry test` file run by the real
/// binary on its built-in emulator, under small limits: a crash is a signal, a hang is
/// a process that outlives its watchdog (or the backstop's message), memory is the
/// child's peak RSS from the kernel. A program enumerates the host's functions at run
/// time (every global function and every function in the global tables) and calls
/// them with arguments drawn from a pool of hostile values: every Lua type, extreme
/// numbers, huge and shared strings, deep and cyclic tables, tables whose metamethods
/// lie, coroutines in every state. The draws come from SplitMix64 seeded per program,
/// so `QUARRY_FUZZ_SEED=s QUARRY_FUZZ_PROGRAMS=n` repeats a run exactly.
@Suite struct BindingsFuzzCLITests {
    static let defaultPrograms = 300
    static let defaultSeed: UInt64 = 16

    /// The Lua driver: `fuzz(seed, calls)` runs one program.
    static let driver = #"""
        local function splitmix(state)
          state = state + 0x9E3779B97F4A7C15
          local z = state
          z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
          z = (z ~ (z >> 27)) * 0x94D049BB133111EB
          return state, z ~ (z >> 31)
        end

        -- What exists, found at run time, sorted so a seed always means the same calls.
        local skip = { fuzz = true, test = true, describe = true, before_each = true, after_each = true, skip = true,
                       expect = true, print = true, write = true }
        local targets = {}
        local names = {}
        for k, v in pairs(_G) do if type(k) == "string" then names[#names + 1] = k end end
        table.sort(names)
        for _, name in ipairs(names) do
          local v = _G[name]
          if type(v) == "function" and not skip[name] then
            targets[#targets + 1] = { name, v }
          elseif type(v) == "table" and name ~= "_G" and name ~= "arg" then
            local inner = {}
            for k in pairs(v) do if type(k) == "string" then inner[#inner + 1] = k end end
            table.sort(inner)
            for _, k in ipairs(inner) do
              if type(v[k]) == "function" and not skip[name .. "." .. k] then targets[#targets + 1] = { name .. "." .. k, v[k] } end
            end
          end
        end

        local big = string.rep("x", 1 << 20)
        local function pool(draw)
          local deep = {}
          local t = deep
          for i = 1, 200 do t[1] = {}; t = t[1] end
          local cyclic = {}; cyclic.self = cyclic; cyclic[1] = cyclic
          -- eight references to one 1 MiB string fit under the cap (copied once, charged
          -- eight times); the 2000 of `overflow` do not, and trip the run's memory limit,
          -- after which every host call fails: it comes last in a program.
          local shared = {}
          for i = 1, 8 do shared[i] = big end
          local calls = 0
          local liar = setmetatable({}, {
            __len = function() calls = calls + 1; return calls % 2 == 0 and math.maxinteger or 1 end,
            __index = function(_, k) if draw(2) == 0 then error("lying __index") end return big end,
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
          local wrapped = coroutine.wrap(function() while true do coroutine.yield(big) end end)
          local keys = { "model", "messages", "body", "timeout", "seconds", "times", "concurrency", "inference", "max_tokens",
                         "error", "latency_ms", "drip_ms", "stream", "after_events", "probability", "seed", "retry_after_ms",
                         "attempts", "base", "rate", "window", "delay", "region", "endpoint", "profile", "retry", "content",
                         "text", "role", "tools", "pretty", "settle", "on_text", "on_event" }
          local values = {
            nil, true, false, 0, -0.0, 1, -1, 0.5, 0/0, math.huge, -math.huge, 1e300, -1e300, 2^53 + 1, (1 << 53) + 1,
            2^63, math.maxinteger, math.mininteger, "", "x", "amazon.nova-micro-v1:0", "ThrottlingException", "\0\255\254",
            big, deep, cyclic, shared, liar, suspended, started, dead, wrapped, {}, { 1, 2, 3 }, { a = big },
            json and json.null, function() end, function() error({ code = liar }) end, function(...) return ... end,
            function() return coroutine.yield() end, print, string.rep,
          }
          local overflow = {}
          for i = 1, 2000 do overflow[i] = big end
          return values, keys, overflow
        end

        function fuzz(seed, ncalls)
          local state = seed
          local function draw(n)
            local r
            state, r = splitmix(state)
            return (r >> 1) % n
          end
          local values, keys, overflow = pool(draw)
          local nvalues = 42
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
          for i = 1, ncalls do
            local target = targets[draw(#targets) + 1]
            local args, n = {}, draw(4)
            for j = 1, n do args[j] = value(0) end
            local function call() return target[2](table.unpack(args, 1, n)) end
            -- Where the call is made: a coroutine of the script's own, a parallel branch, or
            -- places Lua cannot yield from (a metamethod, a sort comparator, a gsub callback).
            local site = draw(6)
            if site == 0 then
              pcall(call)
            elseif site == 1 then
              pcall(parallel, call, function() return call() end)
            elseif site == 2 then
              pcall(function() return setmetatable({}, { __index = function() return call() end }).x end)
            elseif site == 3 then
              pcall(table.sort, { 3, 1, 2 }, function(a, b) call() return a < b end)
            elseif site == 4 then
              pcall(string.gsub, "abc", "%w", function() call() end)
            else
              local co = coroutine.create(call)
              pcall(coroutine.resume, co)
              if coroutine.status(co) == "suspended" then pcall(coroutine.resume, co) end
              pcall(coroutine.close, co)
            end
            pcall(fault.clear)
            pcall(emulator.clear)
          end
          local last = targets[draw(#targets) + 1]
          pcall(last[2], overflow, overflow)
        end
        """#

    @Test func bindingsSurviveTheFuzzer() throws {
        let env = ProcessInfo.processInfo.environment
        let programs = env["QUARRY_FUZZ_PROGRAMS"].flatMap(Int.init) ?? Self.defaultPrograms
        let seed = env["QUARRY_FUZZ_SEED"].flatMap(UInt64.init) ?? Self.defaultSeed
        var source = Self.driver + "\n"
        for i in 0..<programs {
            // Each program gets its own seed: SplitMix64 of (seed, i).
            var generator = SplitMix64(seed: seed &+ UInt64(i))
            let programSeed = Int64(bitPattern: generator.next())
            source += "test(\"program \(i) seed \(programSeed)\", function() fuzz(\(programSeed), 20) end)\n"
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "quarry-fuzz-\(UUID().uuidString)_test.lua")
        try source.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let memoryCap = 64 << 20
        let r = try MeasuredProcess.run(
            ["test", "--max-memory", "64", "--max-seconds", "2", "--timeout", "3", file.path],
            environment: HostCLITests.noAWS, killAfter: .seconds(Double(programs) * 3 + 120))
        let context = "seed \(seed), \(programs) programs\n\(r.stdout.suffix(2000))\n\(r.stderr.suffix(2000))"
        #expect(r.signal == nil, "killed by signal \(r.signal ?? 0): \(context)")
        #expect(r.exitCode == 0 || r.exitCode == 1, "exit \(r.exitCode.map(String.init) ?? "-"): \(context)")
        #expect(!r.timedOut, "hung: \(context)")
        #expect(!(r.stdout + r.stderr).contains("did not stop within"), "a program hung past its deadline: \(context)")
        // The process holds the emulator, the runtime and the state: the cap plus what
        // the process needs without any script.
        #expect(r.peakRSS < memoryCap + (320 << 20), "peak RSS \(r.peakRSS >> 20) MiB: \(context)")
        #expect(r.stdout.contains("program \(programs - 1)"), "not every program ran: \(context)")
    }
}
