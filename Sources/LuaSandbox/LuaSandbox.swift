import CLua
import CLuaShim
import Foundation

/// The version string of the Lua library Quarry is linked against (for example `Lua 5.4`).
public let luaVersion: String = LUA_VERSION_MAJOR + "." + LUA_VERSION_MINOR

/// A sandboxed Lua state on its own thread, driven from async Swift.
///
/// All Lua runs on one dedicated thread with a 16 MiB stack. The state persists across
/// runs (a REPL keeps one sandbox; `quarry run` makes a fresh one per script); limits
/// are reset at the start of every run. `interrupt()` may be called from any thread.
public final class LuaSandbox: Sendable {
    private let thread: LuaThread
    private let box: StateBox
    private let interruptor: Interruptor

    /// Creates the state on a new Lua thread; `output` receives what scripts print.
    public init(limits: LuaLimits = LuaLimits(),
                output: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let thread = try LuaThread()
        let box = try await thread.run { () throws -> StateBox in
            StateBox(try LuaState(limits: limits, output: output))
        }
        self.thread = thread
        self.box = box
        self.interruptor = Interruptor(box.state?.interruptTarget)
    }

    deinit {
        let box = self.box
        let interruptor = self.interruptor
        thread.enqueue {
            interruptor.clear()
            box.state = nil
        }
        thread.stop()
    }

    /// Runs `body` with the state on the Lua thread (set-up, scheduling, completion).
    public func withState<T: Sendable>(_ body: @escaping @Sendable (LuaState) throws -> T) async throws -> T {
        let box = self.box
        return try await thread.run { () throws -> T in
            guard let state = box.state else { throw LuaError.state("the sandbox is closed") }
            return try body(state)
        }
    }

    /// Stops the running script at its next hook check with an "interrupted" error;
    /// the state survives. Safe from any thread (e.g. a Ctrl-C handler).
    public func interrupt() { interruptor.interrupt() }

    /// Runs a chunk as a coroutine under `limits`, awaiting each host request with
    /// `resolve` and resuming with its result (a thrown error becomes a Lua error).
    /// Returns the chunk's results; throws `LuaError` for errors and tripped limits —
    /// also when the script caught the limit's error and returned normally.
    public func run(_ source: String, name: String = "=chunk", limits: LuaLimits = LuaLimits(),
                    resolve: @escaping @Sendable (any Sendable) async throws -> LuaResumeInput = { _ in
                        .error(.string("no host requests are served here"))
                    }) async throws -> [LuaValue] {
        let co = try await withState { state throws -> LuaCoroutine in
            state.beginRun(limits)
            do {
                return try state.newCoroutine(state.load(source, name: name))
            } catch {
                state.endRun()
                throw error
            }
        }
        var input = LuaResumeInput.values([])
        while true {
            let next = input
            let outcome = try await withState { state in state.resume(co, with: next) }
            switch outcome {
            case .suspended(let request):
                do {
                    input = try await resolve(request)
                } catch {
                    input = .error(.string(String(describing: error)))
                }
            case .finished(let values):
                let report = try await finish(co)
                if let kind = report.trippedLimit { throw LuaError.limit(kind, report.tripMessage ?? kind.rawValue) }
                return values
            case .yielded:
                _ = try await finish(co)
                throw LuaError.runtime(message: "\(name): attempt to yield from outside a coroutine", value: nil)
            case .failed(let error):
                _ = try await finish(co)
                throw error
            }
        }
    }

    private func finish(_ co: LuaCoroutine) async throws -> LuaRunReport {
        try await withState { state in
            state.release(co)
            return state.endRun()
        }
    }

    /// The string keys at a dotted path, for tab completion.
    public func keys(atPath path: String) async throws -> [String] {
        try await withState { $0.keys(atPath: path) }
    }
}

/// Holds the thread-confined state; only touched on the Lua thread.
final class StateBox: @unchecked Sendable {
    var state: LuaState?
    init(_ state: LuaState) { self.state = state }
}

/// Lets any thread raise the interrupt flag while the state is alive.
final class Interruptor: @unchecked Sendable {
    private let lock = NSLock()
    private var target: OpaquePointer?

    init(_ target: OpaquePointer?) { self.target = target }

    func interrupt() {
        lock.lock()
        defer { lock.unlock() }
        if let target { quarry_sandbox_interrupt(target) }
    }

    func clear() {
        lock.lock()
        target = nil
        lock.unlock()
    }
}
