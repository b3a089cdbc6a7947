// ExampleHost: a Swift app that lets its users script Bedrock safely with Quarry.
//
// The app owns a product catalogue and exposes one custom tool to user scripts,
// `shop.lookup(sku)`, next to the Bedrock API. Scripts cannot see credentials, may use
// only the models and budget the app allows, and are cancelled if they run too long.
//
// It also shows what an app builds on: typed results (`evaluate(_:as:)` into a
// `Decodable`, failures as one `QuarryError`), isolation between runs (a script cannot
// leave anything behind for the next), and the event sequence a UI renders as it comes.
//
//   swift run ExampleHost [SCRIPT.lua]   (without a script it runs a built-in one)
import Foundation
import Quarry
import QuarryEmulatorSupport

/// The app's own data, which scripts reach only through `shop.lookup`.
let catalogue: [String: (name: String, price: Double, stock: Int)] = [
    "QX-100": ("Quarry hammer", 24.50, 12),
    "QX-200": ("Stone chisel set", 39.00, 0),
    "QX-300": ("Safety goggles", 9.99, 140),
]

/// The user script run when none is given (`built_in_script.lua`, embedded at build time).
let builtInScript = String(decoding: PackageResources.built_in_script_lua, as: UTF8.self)

/// What the built-in script returns, decoded by `evaluate(_:as:)`.
struct Blurb: Codable {
    var blurb: String
    var tokens: Int
}

@main
struct ExampleHost {
    static func main() async {
        do {
            try await run()
        } catch {
            FileHandle.standardError.write(Data("example-host: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run() async throws {
        // 1. Where calls go: AWS when credentials are configured, else Quarry's emulator
        //    started in this process (QuarryEmulatorSupport; leave it out to link no server).
        let target = try await QuarryTarget.resolve(localEmulator: .inProcess)
        // 2. What user scripts may do: two models, 20 calls, 20k tokens, tighter limits.
        var policy = HostPolicy(
            allowedModels: ["amazon.nova-*", "anthropic.claude-3-haiku-*"],
            maxConcurrentCalls: 4, callBudget: 20, tokenBudget: 20_000)
        policy.limits.seconds = 20
        policy.limits.memoryBytes = 32 << 20
        let host = try await QuarryHost(target: target, options: .init(policy: policy))

        // 3. The app's tool: an async Swift function scripts call like any Lua function.
        try await host.register("shop.lookup") { arguments in
            guard let sku = arguments.first?.stringValue else {
                throw ScriptError(code: .validationError, message: "shop.lookup: expected a SKU string")
            }
            guard let item = catalogue[sku] else {
                throw ScriptError(code: "UnknownProduct", message: "no product with SKU \(sku)")
            }
            return [
                .map(["name": .string(item.name), "price": .number(item.price), "in_stock": .boolean(item.stock > 0)])
            ]
        }

        // 4. Run the user's script (a file given on the command line, or the built-in one)
        //    and use what it returned: any value as JSON, or typed with `evaluate(_:as:)`.
        if CommandLine.arguments.count > 1 {
            let values = try await host.run(
                file: CommandLine.arguments[1], arguments: Array(CommandLine.arguments.dropFirst(2)))
            if let result = values.first {
                print("script returned: \(try LuaJSON.encode(result))")
            }
        } else {
            let result: Blurb
            do {
                result = try await host.evaluate(builtInScript, as: Blurb.self, name: "=user-script")
            } catch let error as QuarryError {
                // One error type to switch on: the script's code, its message and line.
                print("script failed: \(error.code): \(error.message) at \(error.location.map { "\($0)" } ?? "?")")
                throw error
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print("script returned: \(String(decoding: try encoder.encode(result), as: UTF8.self))")
            print("typed result: \(result.tokens) tokens")
        }
        print("budget: \(try LuaJSON.encode(host.budget.luaValue))")

        // 5. Isolation between runs: whatever a script replaces or leaves behind is gone
        //    when the next one starts (`QuarryHost.Options.isolation`, `.perRun` by default).
        _ = try await host.evaluate(
            "print = function() end; shop = nil; leftover = 'captured prompts'", name: "=tamper")
        let clean = try await host.evaluate(
            "return leftover == nil and type(print) == 'function' and type(shop.lookup) == 'function'",
            as: Bool.self, name: "=next-user")
        print("isolation: the next script starts clean: \(clean)")

        // 6. Events for a UI: what the script prints, each call, the model's text as it
        //    streams and the end, in order.
        var kinds: [String] = []
        var streamed = ""
        for try await event in host.events(
            for: """
                print('asking')
                local s = bedrock.stream{model = 'amazon.nova-micro-v1:0', messages = 'One line about chisels', inference = {max_tokens = 40}}
                for _ in s do end
                return s.text
                """, name: "=ui-script")
        {
            let kind: String
            switch event {
            case .output: kind = "output"
            case .callStarted: kind = "callStarted"
            case .text(let piece): kind = "text"; streamed += piece
            case .reasoning: kind = "reasoning"
            case .toolUse: kind = "toolUse"
            case .status: kind = "status"
            case .callEnded: kind = "callEnded"
            case .finished: kind = "finished"
            }
            if kinds.last != kind { kinds.append(kind) }
        }
        print("events: \(kinds.joined(separator: " "))")
        print("streamed: \(streamed.count) characters")
        await host.shutdown()
        await target.shutdown()
    }
}
