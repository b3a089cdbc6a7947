import Foundation

/// What a suspended host function asks the scheduler to do before resuming its caller.
enum HostRequest: Sendable {
    /// Await this work (a Bedrock call, a sleep, a registered async function) and resume
    /// with its values; a thrown error is raised in Lua as a `ScriptError` table.
    case work(@Sendable () async throws -> [LuaValue])
    /// Run these Lua functions as concurrent coroutines, at most `concurrency` at a time,
    /// and resume when all have finished (their results stay in Lua: see the prelude).
    case group([LuaValue], concurrency: Int)
}

/// Drives a script's coroutines: resumes one until it suspends in a host call, awaits
/// the call in Swift, and resumes it with the result. Coroutines of `parallel`/`map`
/// are driven concurrently; all Lua runs on the sandbox's one thread, so only awaiting
/// overlaps — which is where Bedrock calls spend their time.
struct Scheduler: Sendable {
    let sandbox: LuaSandbox

    /// Runs `co` until it finishes, fails or yields outside any script coroutine.
    /// Throws `CancellationError` when the task is cancelled.
    func drive(_ co: LuaCoroutine, with first: LuaResumeInput) async throws -> LuaResumeOutcome {
        var input = first
        while true {
            try Task.checkCancellation()
            let next = input
            let outcome = try await sandbox.withState { $0.resume(co, with: next) }
            guard case .suspended(let request) = outcome else { return outcome }
            input = await serve(request)
        }
    }

    private func serve(_ request: any Sendable) async -> LuaResumeInput {
        switch request as? HostRequest {
        case .work(let body)?:
            do {
                return .values(try await body())
            } catch {
                return .error(ScriptError.from(error).luaValue)
            }
        case .group(let functions, let concurrency)?:
            return await runGroup(functions, concurrency: concurrency)
        case nil:
            return .error(.string("internal error: unknown host request \(type(of: request))"))
        }
    }

    private func runGroup(_ functions: [LuaValue], concurrency: Int) async -> LuaResumeInput {
        let coroutines: [LuaCoroutine]
        do {
            coroutines = try await sandbox.withState { state in
                var made: [LuaCoroutine] = []
                for function in functions {
                    made.append(try state.newCoroutine(function))
                    state.release(function)
                }
                return made
            }
        } catch {
            return .error(.string("parallel: \(error)"))
        }
        let failure = FirstFailure()
        await withTaskGroup(of: Void.self) { group in
            var pending = coroutines[...]
            func startNext() {
                guard let co = pending.popFirst() else { return }
                group.addTask {
                    let outcome: LuaResumeOutcome
                    do {
                        outcome = try await drive(co, with: .values([]))
                    } catch {
                        failure.record(error is CancellationError ? "cancelled" : String(describing: error))
                        return
                    }
                    switch outcome {
                    case .failed(let error): failure.record(String(describing: error))
                    case .yielded: failure.record("attempt to yield from outside a coroutine")
                    default: break
                    }
                }
            }
            for _ in 0..<max(1, concurrency) { startNext() }
            while await group.next() != nil { startNext() }
        }
        _ = try? await sandbox.withState { state in coroutines.forEach(state.release) }
        if let message = failure.message { return .error(.string(message)) }
        return .values([])
    }
}

/// The first failure among concurrent coroutines (limits, interrupts: not script errors,
/// which the prelude's wrappers catch per item).
final class FirstFailure: @unchecked Sendable {
    private let lock = NSLock()
    private var first: String?
    func record(_ message: String) {
        lock.lock(); defer { lock.unlock() }
        if first == nil { first = message }
    }
    var message: String? {
        lock.lock(); defer { lock.unlock() }
        return first
    }
}
