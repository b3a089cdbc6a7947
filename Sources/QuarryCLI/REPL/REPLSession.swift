import Foundation
import Quarry
import Synchronization

/// Makes a fresh engine (a new Lua state) for host options; `:reset`, `:limits` and
/// target changes use it. `output` receives the exact bytes of script output, `onCall`
/// each finished call.
typealias REPLEngineFactory =
    @Sendable (
        HostOptions, _ output: @escaping @Sendable ([UInt8]) -> Void,
        _ onCall: @escaping @Sendable (CallRecord) -> Void
    ) async throws -> any REPLEngine

/// One interactive session: prompts, evaluates, prints, completes, records history.
final class REPLSession: @unchecked Sendable {
    // Mutable state is touched only by `run()`'s task, except `engine` (read by the
    // completer on the editor queue and by the SIGINT queue), which is in `shared`.
    let output: TerminalOutput
    private let editor: LineEditor
    private let historyFile: HistoryFile?
    private let factory: REPLEngineFactory
    private let shared = SharedState()
    private var signal: InterruptSignal?
    /// Where calls go and the limits: the command line's options, changed by commands.
    var options: HostOptions
    /// The inputs that ran, as they ran, for `:save` (secret ones left out).
    var accepted: [String] = []
    private var pending: [String] = []
    private var lastRecorded: String?
    private var quitRequested = false

    /// The session's current engine (nil only while it is being replaced).
    var engine: (any REPLEngine)? { shared.engine.withLock { $0 } }

    init(
        output: TerminalOutput, historyFile: HistoryFile?, options: HostOptions,
        factory: @escaping REPLEngineFactory
    ) throws {
        self.output = output
        self.historyFile = historyFile
        self.options = options
        self.factory = factory
        let shared = self.shared
        let completer = Completer(
            keys: { path in
                guard let engine = shared.engine.withLock({ $0 }) else { return [] }
                return blockingWait(seconds: 3) { await engine.completions(atPath: path) } ?? []
            },
            modelIDs: {
                if let cached = shared.modelCache.withLock({ $0 }) { return cached }
                guard let engine = shared.engine.withLock({ $0 }) else { return [] }
                let ids = blockingWait(seconds: 10) { await engine.modelIDs() } ?? []
                if !ids.isEmpty { shared.modelCache.withLock { $0 = ids } }
                return ids
            },
            commands: REPLCommandTable.all.map { ":" + $0.name })
        editor = try LineEditor(completer: completer)
    }

    /// The script-output sink handed to engines: print's bytes go straight to the
    /// terminal, unchanged.
    var scriptOutput: @Sendable ([UInt8]) -> Void {
        let output = self.output
        return { output.script($0) }
    }

    /// Prints a status line when a Bedrock call ends: model, tokens, latency, error. A
    /// stream's line is held until the input's evaluation ends: the host records the call
    /// when its last event arrives, before the script has written that event's text. A
    /// line for a call that ends while the prompt waits (a stream opened by an input that
    /// has finished) is held until the next input runs: written then, it would land in
    /// the middle of the line being typed.
    var callReporter: @Sendable (CallRecord) -> Void {
        let output = self.output, shared = self.shared
        return { record in
            let text = output.paint(CallStatusLine(record).text, .dim)
            let held = shared.evaluating.withLock { evaluating -> Bool in
                guard !evaluating || record.operation.hasSuffix("Stream") else { return false }
                shared.heldStatusLines.withLock { $0.append(text) }
                return true
            }
            if !held { output.line(text) }
        }
    }

    /// Prints the status lines held while an input ran.
    private func printHeldStatusLines() {
        let lines = shared.heldStatusLines.withLock { held in
            defer { held.removeAll() }
            return held
        }
        for line in lines { output.line(line) }
    }

    private func makeEngine(_ options: HostOptions) async throws -> any REPLEngine {
        try await factory(options, scriptOutput, callReporter)
    }

    /// Runs the session until `:quit` or Ctrl-D; returns the exit status.
    func run() async -> Int32 {
        do {
            let engine = try await makeEngine(options)
            shared.engine.withLock { $0 = engine }
        } catch {
            output.error("quarry: cannot start the session: \(error)")
            return 1
        }
        if let historyFile { for entry in historyFile.load() { editor.addHistory(entry) } }
        let editor = self.editor, shared = self.shared
        signal = InterruptSignal {
            if shared.evaluating.withLock({ $0 }) {
                shared.engine.withLock({ $0 })?.cancel()
            } else {
                editor.interruptPrompt()
            }
        }
        printBanner()
        while !quitRequested {
            let input = await editor.read(prompt: pending.isEmpty ? "quarry> " : "  ...> ")
            switch input {
            case .endOfInput:
                quitRequested = true
            case .interrupted:
                pending.removeAll()
            case .line(let line):
                await handle(line)
            }
        }
        signal?.stop()
        await engine?.shutdown()
        printHeldStatusLines()
        return 0
    }

    private func printBanner() {
        let engine = self.engine
        output.line(
            output.paint("Quarry \(quarryVersion) · Lua \(luaVersion) · readline \(LineEditor.readlineVersion)", .bold))
        output.line("target: \(engine?.targetDescription ?? "none")")
        output.line(output.paint(":help for commands · Tab completes · Ctrl-C cancels · Ctrl-D exits", .dim))
    }

    /// One line from the prompt: a command, part of a chunk, or a whole chunk.
    private func handle(_ line: String) async {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if pending.isEmpty {
            if trimmed.isEmpty { return }
            if trimmed.hasPrefix(":") {
                await runCommand(trimmed)
                recordHistory(line)
                return
            }
        }
        var forced = false
        var text = line
        if pending.isEmpty == false && trimmed.isEmpty {
            forced = true
        } else if trimmed.hasSuffix(";;") {
            forced = true
            if let range = text.range(of: ";;", options: .backwards) { text.removeSubrange(range) }
            if !text.trimmingCharacters(in: .whitespaces).isEmpty || pending.isEmpty { pending.append(text) }
        } else {
            pending.append(text)
        }
        let chunk = pending.joined(separator: "\n")
        guard !chunk.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            pending.removeAll()
            return
        }
        let outcome = await evaluate(input: chunk, forced: forced)
        if outcome == .incomplete { return }
        pending.removeAll()
        recordHistory(chunk)
        // `:save` keeps inputs as they ran (top-level locals as globals), so `:load` of
        // the saved file rebuilds the same session state.
        // An expression is saved as an assignment to `_` (what it sets at the prompt).
        guard SecretFilter.mayRecord(chunk) else { return }
        switch outcome {
        case .ran: accepted.append(SessionLocals.rewrite(chunk))
        case .ranExpression: accepted.append("_ = " + chunk)
        case .failed, .incomplete: break
        }
    }

    /// How an evaluation went.
    enum Outcome: Equatable { case ran, ranExpression, failed, incomplete }

    /// Evaluates one chunk of user input and prints its values or its error.
    func evaluate(
        input: String, forced: Bool = true, chunkName: String = "=repl",
        rewriteLocals: Bool = true, printsExpressions: Bool = true
    ) async -> Outcome {
        guard let engine else { return .failed }
        let chunk = EvaluationChunk(
            input: rewriteLocals ? SessionLocals.rewrite(input) : input,
            chunkName: chunkName, printsExpressions: printsExpressions,
            colour: output.colour, width: TerminalOutput.columns())
        printHeldStatusLines()  // lines of calls that ended while the prompt waited
        shared.evaluating.withLock { $0 = true }
        defer {
            shared.evaluating.withLock { $0 = false }
            printHeldStatusLines()
        }
        do {
            let values = try await engine.evaluate(chunk.source, name: "=repl")
            output.finishLine()
            printHeldStatusLines()
            let second = values.count > 1 ? values[1] : .nil
            if values.first?.stringValue == "syntax" {
                let text = second.stringValue ?? "syntax error"
                if !forced && EvaluationChunk.isIncomplete(syntaxError: text) { return .incomplete }
                output.error(text)
                return .failed
            }
            if values.count > 2 {
                switch values[2] {
                case .string(let text): output.line(bytes: Array(text.utf8))
                case .bytes(let bytes): output.line(bytes: bytes)
                default: break
                }
            }
            return second == .boolean(true) ? .ranExpression : .ran
        } catch let error as LuaError {
            output.finishLine()
            if case .limit(.interrupted, _) = error {
                output.error("\ninterrupted (session state kept)")
            } else {
                output.error(Self.hinted(ScriptRunner.hinted(error.description), defaultModel: engine.defaultModel))
            }
            return .failed
        } catch is CancellationError {
            output.finishLine()
            output.error("\ninterrupted (session state kept)")
            return .failed
        } catch {
            output.finishLine()
            output.error(String(describing: error))
            return .failed
        }
    }

    /// Adds an input to readline's history and the history file unless it is secret or
    /// repeats the previous entry.
    private func recordHistory(_ entry: String) {
        guard SecretFilter.mayRecord(entry), entry != lastRecorded else { return }
        lastRecorded = entry
        editor.addHistory(entry)
        guard let historyFile else { return }
        do {
            try historyFile.append(entry)
        } catch {
            output.error("quarry: \(error)")
        }
    }

    // MARK: used by commands

    /// Asks to leave after the current command.
    func quit() { quitRequested = true }

    /// The in-memory history, oldest first.
    func historyEntries() -> [String] { editor.history() }

    /// Replaces the engine with a fresh one for `options` (a new Lua state).
    /// At the prompt, a call without a model also says how to stop repeating it.
    static func hinted(_ text: String, defaultModel: String?) -> String {
        guard defaultModel == nil, text.contains("'model' is required") else { return text }
        return text + "\nhint: :use MODEL sets the model for calls that name none (Tab completes model ids)"
    }

    func replaceEngine(with options: HostOptions) async throws {
        let fresh = try await makeEngine(options)
        let old = shared.engine.withLock { box -> (any REPLEngine)? in
            let old = box
            box = fresh
            return old
        }
        self.options = options
        shared.modelCache.withLock { $0 = nil }
        accepted.removeAll()
        await old?.shutdown()
    }

    /// The target's model ids (cached).
    func modelIDs() async -> [String] {
        if let cached = shared.modelCache.withLock({ $0 }) { return cached }
        let ids = await engine?.modelIDs() ?? []
        if !ids.isEmpty { shared.modelCache.withLock { $0 = ids } }
        return ids
    }

    private func runCommand(_ line: String) async {
        let words = line.dropFirst().split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let name = words.first else { return }
        guard let command = REPLCommandTable.find(name) else {
            output.error("unknown command :\(name) (try :help)")
            return
        }
        await command.run(self, Array(words.dropFirst()))
    }
}

extension REPLSession {
    /// What other threads touch: the engine (the completer on the editor queue, the
    /// SIGINT queue), whether an evaluation runs, and the cached model ids.
    final class SharedState: Sendable {
        let engine = Mutex<(any REPLEngine)?>(nil)
        let evaluating = Mutex(false)
        let modelCache = Mutex<[String]?>(nil)
        /// Status lines of streams that ended while an input ran (printed when it ends).
        let heldStatusLines = Mutex<[String]>([])
    }
}

/// The answer `blockingWait` waits for, set by its task.
private final class WaitResult<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}

/// Waits for an async operation from a thread that may block (the line editor's queue),
/// giving up after `seconds`.
func blockingWait<T: Sendable>(seconds: Double, _ operation: @escaping @Sendable () async -> T) -> T? {
    let semaphore = DispatchSemaphore(value: 0)
    let result = WaitResult<T>()
    let task = Task {
        let value = await operation()
        result.value.withLock { $0 = value }
        semaphore.signal()
    }
    if semaphore.wait(timeout: .now() + seconds) == .timedOut {
        task.cancel()
        return nil
    }
    return result.value.withLock { $0 }
}
