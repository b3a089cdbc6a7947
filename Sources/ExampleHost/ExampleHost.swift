// ExampleHost: a Swift app that lets its users script Bedrock safely with Quarry.
//
// The app owns a product catalogue and exposes one custom tool to user scripts,
// `shop.lookup(sku)`, next to the Bedrock API. Scripts cannot see credentials, may use
// only the models and budget the app allows, and are cancelled if they run too long.
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
        var policy = HostPolicy(allowedModels: ["amazon.nova-*", "anthropic.claude-3-haiku-*"],
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
            return [.map(["name": .string(item.name), "price": .number(item.price), "in_stock": .boolean(item.stock > 0)])]
        }

        // 4. Run the user's script (a file given on the command line, or the built-in one).
        let values: [LuaValue]
        if CommandLine.arguments.count > 1 {
            values = try await host.run(file: CommandLine.arguments[1], arguments: Array(CommandLine.arguments.dropFirst(2)))
        } else {
            values = try await host.evaluate(builtInScript, name: "=user-script")
        }

        // 5. Use what the script returned.
        if let result = values.first {
            print("script returned: \(try LuaJSON.encode(result))")
        }
        print("budget: \(try LuaJSON.encode(host.budget))")
        await host.shutdown()
        await target.shutdown()
    }
}
