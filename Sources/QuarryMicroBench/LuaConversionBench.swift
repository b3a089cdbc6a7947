import Foundation
import LuaSandbox

/// Lua ⇄ Swift conversion of a typical Converse request and response table: a Lua loop
/// calls a host function with the request table (Lua → Swift, LuaValueReader) that
/// returns the response table (Swift → Lua, LuaValueEncoder), next to the same loop
/// calling a host function that takes and returns nothing (the call's own cost).
enum LuaConversionBench {
    struct Failure: Error, CustomStringConvertible { let description: String }

    static let response: LuaValue = .map([
        "output": .map([
            "message": .map([
                "role": .string("assistant"),
                "content": .array([.map(["text": .string("Hello! How can I help you today?")])]),
            ])
        ]),
        "stop_reason": .string("end_turn"),
        "text": .string("Hello! How can I help you today?"),
        "usage": .map(["input_tokens": .integer(9), "output_tokens": .integer(9), "total_tokens": .integer(18)]),
        "metrics": .map(["latency_ms": .integer(12)]),
        "request_id": .string("00000000-0000-4000-8000-000000000000"),
    ])

    static func run(_ harness: Harness) throws -> [BenchResult] {
        var limits = LuaLimits()
        limits.instructions = Int64.max / 2
        limits.hostCalls = Int64.max / 2
        limits.seconds = 3600
        let state = try LuaState(limits: limits)
        state.beginRun(limits)
        defer { state.endRun() }
        var fieldsSeen = 0
        let convert = state.register("convert") { call in
            if case .map(let request) = call.argument(1) { fieldsSeen &+= request.count }
            return .values([response])
        }
        let noop = state.register("noop") { _ in .values([]) }
        try state.setGlobal("convert", convert)
        try state.setGlobal("noop", noop)
        // `conversion_bench.lua` beside this file, embedded at build time.
        _ = try state.execute(String(decoding: PackageResources.conversion_bench_lua, as: UTF8.self))
        let batch = 1000
        let convertLoop = "convert_loop(\(batch))"
        let noopLoop = "noop_loop(\(batch))"
        var roundTrip = try harness.measure("lua⇄swift converse tables", batch: batch) {
            _ = try state.execute(convertLoop)
        }
        let bare = try harness.measure("lua→swift bare host call", batch: batch) { _ = try state.execute(noopLoop) }
        guard fieldsSeen > 0 else { throw Failure(description: "the host function never saw the request table") }
        roundTrip.notes.append("conversion alone ≈ " + BenchResult.time(roundTrip.p50 - bare.p50))
        return [roundTrip, bare]
    }
}
