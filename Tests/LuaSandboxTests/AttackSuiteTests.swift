import Foundation
import LuaSandbox
import Testing

/// One attack script and what must happen when it runs.
struct Attack: CustomTestStringConvertible, Sendable {
    enum Expectation: Sendable { case ok, limit(LuaLimitKind), error(String) }
    let name: String
    let source: String
    let expectation: Expectation
    let limits: LuaLimits
    let outputLacks: String?

    var testDescription: String { name }

    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    /// Reads every `Attacks/*.lua` file and its header.
    static func all() throws -> [Attack] {
        guard let folder = Bundle.module.url(forResource: "Attacks", withExtension: nil) else {
            throw LuaError.state("the Attacks resource folder is missing")
        }
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "lua" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        return try files.map(parse)
    }

    static func parse(_ url: URL) throws -> Attack {
        let source = try String(contentsOf: url, encoding: .utf8)
        var expectation: Expectation?
        var limits = LuaLimits()
        var outputLacks: String?
        for line in source.split(separator: "\n") where line.hasPrefix("-- ") {
            let body = line.dropFirst(3)
            if body.hasPrefix("expect: ") {
                let rest = body.dropFirst("expect: ".count)
                if rest == "ok" {
                    expectation = .ok
                } else if rest.hasPrefix("limit "), let kind = LuaLimitKind(rawValue: String(rest.dropFirst(6))) {
                    expectation = .limit(kind)
                } else if rest.hasPrefix("error ") {
                    expectation = .error(String(rest.dropFirst(6)))
                }
            } else if body.hasPrefix("limits: ") {
                for pair in body.dropFirst("limits: ".count).split(separator: " ") {
                    let kv = pair.split(separator: "=")
                    guard kv.count == 2, let value = Double(kv[1]) else {
                        throw LuaError.state("bad limit \(pair) in \(url.lastPathComponent)")
                    }
                    switch kv[0] {
                    case "instructions": limits.instructions = Int64(value)
                    case "seconds": limits.seconds = value
                    case "memoryBytes": limits.memoryBytes = Int(value)
                    case "outputBytes": limits.outputBytes = Int(value)
                    case "rangeItems": limits.rangeItems = Int64(value)
                    case "patternCost": limits.patternCost = value
                    case "loadSourceBytes": limits.loadSourceBytes = Int(value)
                    default: throw LuaError.state("unknown limit \(kv[0]) in \(url.lastPathComponent)")
                    }
                }
            } else if body.hasPrefix("output-lacks: ") {
                outputLacks = String(body.dropFirst("output-lacks: ".count))
            }
        }
        guard let expectation else { throw LuaError.state("\(url.lastPathComponent) has no '-- expect:' line") }
        return Attack(
            name: url.deletingPathExtension().lastPathComponent, source: source,
            expectation: expectation, limits: limits, outputLacks: outputLacks)
    }
}

/// Sets up what a host would expose: a module with a function, a handle holding a
/// secret in Swift memory, and a canary so the secret scan proves it looks everywhere.
struct SecretHolder: Sendable { let secretKey: String }

func installHostSurface(_ state: LuaState) throws {
    try state.defineHandleType(
        "BedrockClient",
        methods: [
            "region": { _ in .values([.string("us-east-1")]) },
            "describe": { call in
                guard case .handle(let h) = call.argument(1), call.state.object(for: h) is SecretHolder else {
                    return .failure("describe: expected a client")
                }
                return .values([.string("a client for us-east-1 with key AKIA…WXYZ")])
            },
        ])
    let client = state.makeHandle(
        type: "BedrockClient", label: "us-east-1",
        object: SecretHolder(secretKey: Attack.secret))
    try state.setGlobal(
        "host",
        .map([
            "client": client,
            "version": .string("1.0"),
            "echo": state.register("host.echo") { .values($0.arguments) },
            "canary": .string("CANARY-1234"),
        ]), readOnly: true)
}

@Suite struct AttackSuiteTests {
    @Test func theSuiteHasAttacks() throws {
        let attacks = try Attack.all()
        print("attack suite: \(attacks.count) attack scripts")
        #expect(attacks.count >= 40)
    }

    @Test(arguments: try Attack.all())
    func attackIsDefended(_ attack: Attack) async throws {
        let out = OutputBox()
        let sandbox = try await LuaSandbox(output: { out.append($0) })
        try await sandbox.withState { try installHostSurface($0) }
        let started = Date()
        var outcome: Result<[LuaValue], any Error>
        do {
            outcome = .success(try await sandbox.run(attack.source, name: "=" + attack.name, limits: attack.limits))
        } catch {
            outcome = .failure(error)
        }
        switch (attack.expectation, outcome) {
        case (.ok, .success(let values)):
            #expect(values == [.string("ok")])
        case (.limit(let kind), .failure(LuaError.limit(let tripped, let message))):
            #expect(tripped == kind, "\(message)")
        case (.error(let text), .failure(let error)):
            #expect(String(describing: error).contains(text), "got: \(error)")
            if case LuaError.limit = error { Issue.record("expected a script error, got a limit: \(error)") }
        default:
            Issue.record("\(attack.name): expected \(attack.expectation), got \(outcome)")
        }
        if let lacks = attack.outputLacks { #expect(!out.value.contains(lacks)) }
        #expect(!out.value.contains(Attack.secret))
        // The host survives and runs the next chunk at once, within fresh limits.
        let next = try await sandbox.run("return ('ok'):upper(), 1 + 1")
        #expect(next == [.string("OK"), .integer(2)])
        print("attack \(attack.name): defended in \(String(format: "%.3f", Date().timeIntervalSince(started))) s")
    }
}
