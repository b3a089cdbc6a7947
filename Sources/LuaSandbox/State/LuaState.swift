import CLua
import CLuaShim

/// A coroutine the host scheduler drives (a script's main body, or one branch of a
/// host-side `parallel`). It is a registry reference; release it when done.
public struct LuaCoroutine: Sendable, Hashable {
    /// Its registry reference.
    public let id: Int32
}

/// What the scheduler resumes a coroutine with.
public enum LuaResumeInput: Sendable {
    /// Values: the first resume's arguments, or the results of the host call it awaits.
    case values([LuaValue])
    /// Make the awaited host call raise this value.
    case error(LuaValue)
}

/// Where a resumed coroutine stopped.
public enum LuaResumeOutcome: Sendable {
    /// The coroutine's function returned these values.
    case finished([LuaValue])
    /// A host function suspended it (possibly inside the script's own coroutines, which
    /// pass the suspension through); resume it later with the request's results.
    case suspended(request: any Sendable)
    /// The script called `coroutine.yield` outside any coroutine of its own.
    case yielded([LuaValue])
    /// It raised an error or tripped a limit; the coroutine is dead.
    case failed(LuaError)
}

/// One sandboxed Lua state. Thread-confined: use it only on its sandbox's Lua thread
/// (inside `LuaSandbox.withState` or a host function). Every method is safe against
/// Lua errors: operations that can raise run in protected C helpers.
public final class LuaState {
    let sandbox: OpaquePointer
    let L: OpaquePointer
    private let callbacks: Callbacks
    private var functions: [Int64: (name: String, body: LuaHostFunction)] = [:]
    private var nextFunctionID: Int64 = 1
    private var handles: [Int64: (handle: LuaHandle, object: any Sendable)] = [:]
    private var nextHandleID: Int64 = 1
    private var pendingRequests: [Int64: any Sendable] = [:]
    private var nextRequestID: Int64 = 1
    private var coroutines: [Int32: OpaquePointer] = [:]
    /// Where `print`/`write` bytes go: exactly the bytes the script wrote (Lua strings
    /// are bytes; nothing is repaired into UTF-8 here).
    private var output: ([UInt8]) -> Void
    /// The memory cap of the current run (values crossing the boundary count against it).
    private var memoryCap: Int
    /// A limit tripped on the Swift side of the boundary (crossing budget, log output):
    /// sticky for the run like the C core's trips.
    private var hostTrip: (kind: LuaLimitKind, message: String)?
    /// Told when a run starts (its limits) and ends (nil), for the sandbox's backstop.
    var onRun: ((LuaLimits?) -> Void)?

    /// Limits for host-function arguments (functions allowed, as references).
    public var argumentLimits: LuaConversionLimits = {
        var l = LuaConversionLimits()
        l.allowFunctions = true
        return l
    }()
    /// The error code for a host function's argument that cannot cross (an array with
    /// holes, a userdata), by function name: the error is then an error table (`code`,
    /// `message`, `where`) like the function's own errors; nil keeps a plain string.
    public var argumentErrorCode: ((_ function: String) -> String?)?
    /// Advice added to the message when a host function's argument cannot cross (e.g.
    /// what to do about too many table elements), by function name and problem; nil
    /// for none.
    public var argumentErrorHint: ((_ function: String, _ problem: String) -> String?)?
    /// Limits for values coming back from finished, yielded or failed coroutines.
    public var resultLimits = LuaConversionLimits()

    /// The metatable name of host error tables: `tostring` gives `code: message`.
    public static let errorMetatable = "quarry.error"

    /// Creates a state with the safe library subset; `output` receives `print` output
    /// as text (invalid UTF-8 shown as U+FFFD).
    public convenience init(limits: LuaLimits = LuaLimits(), output: @escaping (String) -> Void = { _ in })
        throws(LuaError)
    {
        try self.init(limits: limits, byteOutput: Self.textOutput(output))
    }

    /// Creates a state with the safe library subset; `byteOutput` receives the exact
    /// bytes of `print` and `write` output.
    public init(limits: LuaLimits = LuaLimits(), byteOutput: @escaping ([UInt8]) -> Void) throws(LuaError) {
        let callbacks = Callbacks()
        var error: UnsafePointer<CChar>?
        var cLimits = limits.cValue
        guard
            let sb = quarry_sandbox_new(
                &cLimits,
                { ctx, bytes, len in
                    guard let ctx, let bytes else { return }
                    let state = Unmanaged<Callbacks>.fromOpaque(ctx).takeUnretainedValue().state
                    state?.output(Array(UnsafeRawBufferPointer(start: bytes, count: len)))
                },
                { ctx, L, id, nargs in
                    guard let ctx, let L else { return }
                    Unmanaged<Callbacks>.fromOpaque(ctx).takeUnretainedValue().state?.dispatch(L, id: id, nargs: nargs)
                }, Unmanaged.passUnretained(callbacks).toOpaque(), &error)
        else {
            throw LuaError.state(error.map { String(cString: $0) } ?? "cannot create the Lua state")
        }
        self.sandbox = sb
        self.L = quarry_sandbox_state(sb)
        self.callbacks = callbacks
        self.output = byteOutput
        self.memoryCap = limits.memoryBytes
        callbacks.state = self
        quarry_sandbox_begin(sb, &cLimits)
        // `error_metatable.lua` beside this file, embedded at build time.
        try defineMetatable(
            LuaState.errorMetatable, source: String(decoding: PackageResources.error_metatable_lua, as: UTF8.self))
    }

    deinit {
        quarry_sandbox_free(sandbox)
    }

    /// Replaces where `print` output goes.
    public func setOutput(_ output: @escaping (String) -> Void) { self.output = Self.textOutput(output) }

    /// Replaces where `print` output goes, as the exact bytes written.
    public func setByteOutput(_ output: @escaping ([UInt8]) -> Void) { self.output = output }

    /// A byte sink that hands text (invalid UTF-8 as U+FFFD) to `output`.
    static func textOutput(_ output: @escaping (String) -> Void) -> ([UInt8]) -> Void {
        { output(String(decoding: $0, as: UTF8.self)) }
    }

    /// The sandbox pointer for cross-thread interrupts.
    var interruptTarget: OpaquePointer { sandbox }

    // MARK: runs

    /// Starts a run: new limits, fresh budget, deadline, output and host-call counts.
    public func beginRun(_ limits: LuaLimits) {
        var c = limits.cValue
        quarry_sandbox_begin(sandbox, &c)
        memoryCap = limits.memoryBytes
        hostTrip = nil
        isRunning = true
        onRun?(limits)
    }

    /// Whether a run is in progress (between `beginRun` and `endRun`).
    public private(set) var isRunning = false

    /// Trips a limit from the host's side (e.g. the host's own output counter): the
    /// script gets `message` as an error now, and every later host call of the run fails
    /// the same way; the run ends with this limit even if the script catches the error.
    public func tripLimit(_ kind: LuaLimitKind, _ message: String) {
        if hostTrip == nil && quarry_sandbox_trip(sandbox) == 0 { hostTrip = (kind, message) }
    }

    /// Bytes one crossing may carry now: what is left under the memory cap (at least
    /// 64 KiB, so error messages and small results still cross at the cap).
    public var crossingBudget: Int { max(memoryCap - memoryInUse, 64 << 10) }

    private func budgeted(_ limits: LuaConversionLimits) -> LuaConversionLimits {
        var l = limits
        l.maxTotalBytes = min(l.maxTotalBytes, crossingBudget)
        return l
    }

    /// Turns a conversion error that hit the crossing budget into a sticky trip.
    private func noteConversion(_ error: LuaConversionError) -> LuaError {
        if let kind = error.limit {
            // One wording for the memory limit: the state's cap, as the allocator says it.
            let message =
                error.crossingBudget.map {
                    LuaLimits.memoryCapMessage(memoryCap, LuaConversionError.crossingDetail($0))
                }
                ?? error.problem
            tripLimit(kind, message)
            return .limit(kind, hostTrip?.message ?? message)
        }
        return .conversion(error)
    }

    /// Ends a run and reports what it used; reclaims memory if a limit tripped.
    @discardableResult
    public func endRun() -> LuaRunReport {
        let report = currentReport
        quarry_sandbox_end(sandbox)
        pendingRequests.removeAll()
        isRunning = false
        onRun?(nil)
        return report
    }

    /// What the current run has used so far.
    public var currentReport: LuaRunReport {
        var trip = LuaLimitKind(trip: quarry_sandbox_trip(sandbox))
        var message = quarry_sandbox_trip_message(sandbox).map { String(cString: $0) }
        if trip == nil, let hostTrip {
            trip = hostTrip.kind
            message = hostTrip.message
        }
        return LuaRunReport(
            trippedLimit: trip,
            tripMessage: message,
            instructionsUsed: quarry_sandbox_instructions_used(sandbox),
            peakMemoryBytes: Int(quarry_sandbox_memory_peak(sandbox)),
            hostCalls: quarry_sandbox_host_calls_used(sandbox))
    }

    /// A function that removes the metatable of its table argument, even a locked one
    /// (read-only proxies keep theirs): for host-held code that restores the environment
    /// between runs, so a script's `__index`/`__newindex` on `_G` or a module table never
    /// sees the next script. Never give it to scripts.
    public func metatableClearer() throws(LuaError) -> LuaValue {
        guard lua_checkstack(L, 1) != 0 else { throw LuaError.state("Lua stack exhausted") }
        lua_pushcclosure(L, quarry_clear_metatable, 0)
        let ref = quarry_ref(L, -1)
        lua_settop(L, -2)
        if ref == LUA_NOREF { throw LuaError.state("not enough memory for the metatable clearer") }
        return .function(.lua(ref: ref))
    }

    /// Bytes the state holds now.
    public var memoryInUse: Int { Int(quarry_sandbox_memory_used(sandbox)) }

    /// Turns the budget hooks off or on (for measuring their overhead; never for scripts).
    public func setHooksEnabled(_ enabled: Bool) { quarry_sandbox_set_hooks(sandbox, enabled ? 1 : 0) }

    // MARK: chunks and coroutines

    /// Compiles a text chunk (binary chunks are refused) into a function reference.
    public func load(_ source: String, name: String = "=chunk") throws(LuaError) -> LuaValue {
        try load(bytes: Array(source.utf8), name: name)
    }

    /// Compiles a text chunk given as its exact bytes (a Lua source file is bytes: a string
    /// literal may hold any byte, valid UTF-8 or not) into a function reference.
    public func load(bytes source: [UInt8], name: String = "=chunk") throws(LuaError) -> LuaValue {
        guard lua_checkstack(L, 2) != 0 else { throw LuaError.state("Lua stack exhausted") }
        let status = source.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) {
                quarry_lua_load_text(L, $0.baseAddress, $0.count, name)
            }
        }
        if status != LUA_OK {
            let message = popMessage(L)
            throw LuaError.syntax(message)
        }
        let ref = quarry_ref(L, -1)
        lua_settop(L, -2)
        if ref == LUA_NOREF { throw LuaError.state("not enough memory to keep the chunk") }
        return .function(.lua(ref: ref))
    }

    /// Creates a coroutine that will run `function` (a `.function` value).
    public func newCoroutine(_ function: LuaValue) throws(LuaError) -> LuaCoroutine {
        guard case .function = function else { throw LuaError.state("a coroutine needs a function") }
        try push([function])
        var thread: OpaquePointer?
        let ref = quarry_new_coroutine(L, &thread)
        guard ref != LUA_NOREF, let thread else { throw LuaError.state("not enough memory for a coroutine") }
        coroutines[ref] = thread
        return LuaCoroutine(id: ref)
    }

    /// Resumes a coroutine (first start included) and says where it stopped.
    public func resume(_ coroutine: LuaCoroutine, with input: LuaResumeInput = .values([])) -> LuaResumeOutcome {
        guard let co = coroutines[coroutine.id] else { return .failed(.state("unknown or released coroutine")) }
        let values: [LuaValue]
        var marker = false
        switch input {
        case .values(let v): values = v
        case .error(let e): values = [e]; marker = true
        }
        do {
            try push(values)
        } catch {
            // A host result that cannot cross (too many table elements, nested too deep)
            // is the script's error to catch, as an argument that cannot cross is; a
            // tripped limit (memory) still ends the run.
            guard case .conversion(let problem) = error, !marker else { return .failed(error) }
            return resume(
                coroutine, with: .error(.string("the host's result cannot reach the script: \(problem)")))
        }
        var nargs = Int32(values.count)
        if marker {
            quarry_push_error_marker(L)  // the checkstack in push left room
            lua_rotate(L, -2, 1)
            nargs += 1
        }
        guard lua_checkstack(co, nargs + 1) != 0 else {
            lua_settop(L, -nargs - 1)
            return .failed(.state("coroutine stack exhausted"))
        }
        lua_xmove(L, co, nargs)
        var nres: Int32 = 0
        var suspended: Int32 = 0
        var requestID: Int64 = 0
        let status = quarry_resume(sandbox, co, nargs, &nres, &suspended, &requestID)
        if suspended != 0 {
            guard let request = pendingRequests.removeValue(forKey: requestID) else {
                return .failed(.state("host request \(requestID) is unknown"))
            }
            return .suspended(request: request)
        }
        guard lua_checkstack(L, nres + 4) != 0 else {
            return .failed(.state("Lua stack exhausted"))
        }
        lua_xmove(co, L, nres)
        let base = lua_gettop(L) - nres
        defer { lua_settop(L, base) }
        if status == LUA_OK || status == LUA_YIELD {
            if let trip = tripError() { return .failed(trip) }
            var reader = makeReader(limits: budgeted(resultLimits))
            do throws(LuaConversionError) {
                var results: [LuaValue] = []
                for i in 0..<nres {
                    results.append(try reader.read(at: base + 1 + i, path: nres == 1 ? "result" : "result \(i + 1)"))
                }
                return status == LUA_OK ? .finished(results) : .yielded(results)
            } catch {
                return .failed(noteConversion(error))
            }
        }
        if let trip = tripError() { return .failed(trip) }
        return .failed(runtimeError(at: base + 1, location: Self.errorLocation(in: co)))
    }

    /// A function that writes its string and number arguments to the output with no
    /// separators (the host's `write`), counted against the output limit like `print`.
    public func outputWriter() throws(LuaError) -> LuaValue {
        guard lua_checkstack(L, 1) != 0 else { throw LuaError.state("Lua stack exhausted") }
        lua_pushcclosure(L, quarry_io_write, 0)
        let ref = quarry_ref(L, -1)
        lua_settop(L, -2)
        if ref == LUA_NOREF { throw LuaError.state("not enough memory for the writer") }
        return .function(.lua(ref: ref))
    }

    /// Releases a coroutine.
    public func release(_ coroutine: LuaCoroutine) {
        if coroutines.removeValue(forKey: coroutine.id) != nil { quarry_unref(L, coroutine.id) }
    }

    /// Releases a Lua function reference.
    public func release(_ function: LuaValue) {
        if case .function(.lua(let ref)) = function { quarry_unref(L, ref) }
    }

    /// Runs a chunk to completion synchronously in a fresh coroutine under the current
    /// run's limits. For host set-up code and tests; a host call that suspends fails.
    public func execute(_ source: String, name: String = "=chunk") throws(LuaError) -> [LuaValue] {
        let function = try load(source, name: name)
        defer { release(function) }
        let co = try newCoroutine(function)
        defer { release(co) }
        switch resume(co) {
        case .finished(let values): return values
        case .failed(let error): throw error
        case .suspended: throw LuaError.state("\(name): a host call suspended outside the scheduler")
        case .yielded: throw LuaError.runtime(message: "\(name): attempt to yield from outside a coroutine", value: nil)
        }
    }

    // MARK: host API

    /// Registers a host function; put the returned value in a global or module table.
    public func register(_ name: String, _ body: @escaping LuaHostFunction) -> LuaValue {
        let id = nextFunctionID
        nextFunctionID += 1
        functions[id] = (name, body)
        return .function(.host(id: id, name: name))
    }

    /// Sets a global; with `readOnly`, tables (and tables inside them) become read-only
    /// to scripts (a proxy with a locked metatable; `rawset` refuses it too).
    public func setGlobal(_ name: String, _ value: LuaValue, readOnly: Bool = false) throws(LuaError) {
        let bytes = try encode(value, root: name)
        let status = bytes.withUnsafeBufferPointer {
            quarry_set_global(L, name, $0.baseAddress, $0.count, readOnly ? 1 : 0)
        }
        if status != LUA_OK { throw LuaError.state("cannot set global \(name): \(popMessage(L))") }
    }

    /// Makes a global table read-only to scripts (as `setGlobal(readOnly:)` does), after
    /// Lua set-up code has filled it; with `deep`, the tables inside it too.
    public func freezeGlobal(_ name: String, deep: Bool = true) throws(LuaError) {
        if quarry_freeze_global(L, name, deep ? 1 : 0) != LUA_OK {
            throw LuaError.state("cannot freeze global \(name): \(popMessage(L))")
        }
    }

    /// Defines a handle type: its allow-listed methods (each called with the handle first).
    public func defineHandleType(_ typeName: String, methods: [String: LuaHostFunction]) throws(LuaError) {
        var table: [String: LuaValue] = [:]
        for (method, body) in methods { table[method] = register("\(typeName):\(method)", body) }
        let bytes = try encode(.map(table), root: typeName)
        let status = bytes.withUnsafeBufferPointer { quarry_define_handle_type(L, typeName, $0.baseAddress, $0.count) }
        if status != LUA_OK { throw LuaError.state("cannot define handle type \(typeName): \(popMessage(L))") }
    }

    /// Makes a handle for a host object; `tostring` shows `TypeName<label>`.
    public func makeHandle(type typeName: String, label: String, object: any Sendable) -> LuaValue {
        let id = nextHandleID
        nextHandleID += 1
        let handle = LuaHandle(typeName: typeName, id: id, label: label)
        handles[id] = (handle, object)
        return .handle(handle)
    }

    /// The host object behind a handle.
    public func object(for handle: LuaHandle) -> (any Sendable)? { handles[handle.id]?.object }

    /// Defines a named metatable from Lua source returning a table (e.g. a `__tostring`),
    /// usable as `.tagged(metatable: name, ...)`. It gets a locked `__metatable`; `__gc` is refused.
    public func defineMetatable(_ name: String, source: String) throws(LuaError) {
        let function = try load(source, name: "=metatable " + name)
        defer { release(function) }
        try push([function])
        if quarry_define_metatable(L, name) != LUA_OK {
            throw LuaError.state("cannot define metatable \(name): \(popMessage(L))")
        }
    }

    /// The string keys reachable at a dotted path (`""` = globals, `"string"`,
    /// `"client"` for a handle's methods), sorted, for tab completion.
    public func keys(atPath path: String) -> [String] {
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        guard quarry_list_keys(L, path) == LUA_OK, lua_type(L, -1) == LUA_TTABLE else { return [] }
        var keys: [String] = []
        let n = lua_rawlen(L, -1)
        guard n > 0, lua_checkstack(L, 2) != 0 else { return [] }
        for i in 1...n {
            if lua_rawgeti(L, -1, lua_Integer(i)) == LUA_TSTRING, let s = lua_tolstring(L, -1, nil) {
                keys.append(String(cString: s))
            }
            lua_settop(L, -2)
        }
        return keys.sorted()
    }

    // MARK: internals

    private func makeReader(limits: LuaConversionLimits) -> LuaValueReader {
        LuaValueReader(L: L, limits: limits) { [handles] id in handles[id]?.handle }
    }

    private func encode(_ value: LuaValue, root: String) throws(LuaError) -> [UInt8] {
        do {
            return try LuaValueEncoder.encodeList([value], limits: budgeted(argumentLimits), root: root)
        } catch {
            throw noteConversion(error)
        }
    }

    /// Pushes values onto the main thread in a protected call.
    private func push(_ values: [LuaValue]) throws(LuaError) {
        let bytes: [UInt8]
        do {
            bytes = try LuaValueEncoder.encodeList(values, limits: budgeted(argumentLimits))
        } catch {
            throw noteConversion(error)
        }
        var count: Int32 = 0
        let status = bytes.withUnsafeBufferPointer { quarry_push_values(L, $0.baseAddress, $0.count, &count) }
        if status != LUA_OK {
            if let trip = tripError() { lua_settop(L, -2); throw trip }
            throw LuaError.state("cannot pass values to Lua: \(popMessage(L))")
        }
    }

    private func tripError() -> LuaError? {
        guard let kind = LuaLimitKind(trip: quarry_sandbox_trip(sandbox)) else {
            return hostTrip.map { .limit($0.kind, $0.message) }
        }
        let message = quarry_sandbox_trip_message(sandbox).map { String(cString: $0) } ?? kind.rawValue
        return .limit(kind, message)
    }

    /// The error at `index` as a `LuaError`. An error value that is not a string (an
    /// error table, a host error without `where`) gets `location`, the script line that
    /// raised it, in front of its message, as Lua puts it in front of a string error; a
    /// table without `__tostring` reads as `code: message`.
    private func runtimeError(at index: Int32, location: String? = nil) -> LuaError {
        let isString = lua_type(L, index) == LUA_TSTRING
        var described: String?
        if quarry_describe(L, index) != 0 {
            described = String(cString: lua_tolstring(L, -1, nil))
            lua_settop(L, -2)
        }
        // An error value is kept whatever its shape: holes and functions must not cost
        // the app the error's code (`ParallelFailure`, `{code=…, retry=function() end}`).
        var limits = budgeted(resultLimits)
        limits.keepSparseTables = true
        limits.placeholders = true
        var reader = makeReader(limits: limits)
        let value = try? reader.read(at: index, path: "error")
        var fields: [String: LuaValue]?
        switch value {
        case .map(let m)?: fields = m
        case .tagged(_, .map(let m))?: fields = m
        default: break
        }
        if described == nil || described?.hasPrefix("(error object is a ") == true, let fields {
            let code = fields["code"].flatMap(Self.plainText)
            let text = fields["message"].flatMap(Self.plainText)
            if let code, let text {
                described = "\(code): \(text)"
            } else if let text {
                described = text
            } else if let code {
                described = code
            }
        }
        var message = described ?? "(error object is a \(String(cString: lua_typename(L, lua_type(L, index)))) value)"
        if !isString, fields?["where"] == nil, let location { message = "\(location): \(message)" }
        return .runtime(message: message, value: value)
    }

    /// A string or number field as text.
    private static func plainText(_ value: LuaValue) -> String? {
        switch value {
        case .string(let s): s
        case .bytes(let b): String(decoding: b, as: UTF8.self)
        case .integer(let n): String(n)
        case .number(let d): String(d)
        default: nil
        }
    }

    /// Where a failed coroutine raised its error: the innermost Lua frame with a line
    /// that is not the host's own code (chunks named `=[quarry…`), as `script:line`.
    /// The stack of a coroutine that failed is not unwound, so its frames are still there.
    static func errorLocation(in co: OpaquePointer) -> String? {
        var ar = lua_Debug()
        var level: Int32 = 0
        while level < 64, lua_getstack(co, level, &ar) != 0 {
            level += 1
            guard lua_getinfo(co, "Sl", &ar) != 0, ar.currentline > 0, let source = ar.source else { continue }
            let name = String(cString: source)
            if name.hasPrefix("=[quarry") { continue }
            let trimmed = name.hasPrefix("@") || name.hasPrefix("=") ? String(name.dropFirst()) : "[string]"
            return "\(trimmed):\(ar.currentline)"
        }
        return nil
    }

    private func popMessage(_ L: OpaquePointer) -> String {
        var message = "unknown error"
        if quarry_describe(L, -1) != 0 {
            message = String(cString: lua_tolstring(L, -1, nil))
            lua_settop(L, -2)
        }
        lua_settop(L, -2)
        return message
    }

    /// Runs a host function for the C trampoline: read, call, reply. Never raises.
    fileprivate func dispatch(_ thread: OpaquePointer, id: Int64, nargs: Int32) {
        guard let entry = functions[id] else {
            replyError(.string("internal error: unknown host function \(id)"))
            return
        }
        if let hostTrip {
            replyError(.string(hostTrip.message))
            return
        }
        var reader = LuaValueReader(L: thread, limits: budgeted(argumentLimits)) { [handles] id in handles[id]?.handle }
        var arguments: [LuaValue] = []
        do throws(LuaConversionError) {
            for i in 0..<nargs {
                arguments.append(try reader.read(at: i + 1, path: "argument \(i + 1)"))
            }
        } catch {
            for ref in reader.references { quarry_unref(thread, ref) }
            if error.limit != nil {
                _ = noteConversion(error)
                replyError(.string("\(entry.name): \(hostTrip?.message ?? error.problem)"))
            } else if let code = argumentErrorCode?(entry.name) {
                replyError(
                    .tagged(
                        metatable: Self.errorMetatable,
                        .map([
                            "code": .string(code),
                            "message": .string(
                                "\(entry.name): \(error.description)"
                                    + (argumentErrorHint?(entry.name, error.problem).map { "; \($0)" } ?? "")),
                            "retryable": .boolean(false),
                        ])))
            } else {
                replyError(.string("\(entry.name): \(error.description)"))
            }
            return
        }
        let retained = RetainedReferences()
        let call = LuaHostCall(
            state: self, name: entry.name, arguments: arguments,
            canSuspend: lua_isyieldable(thread) != 0, retained: retained,
            thread: thread)
        let result = entry.body(call)
        for ref in reader.references where !retained.refs.contains(ref) { quarry_unref(thread, ref) }
        if let hostTrip {
            // The function itself tripped a limit (e.g. the output limit).
            replyError(.string(hostTrip.message))
            return
        }
        switch result {
        case .values(let values):
            do {
                let bytes = try LuaValueEncoder.encodeList(
                    values, limits: budgeted(argumentLimits), root: "\(entry.name) result")
                bytes.withUnsafeBufferPointer {
                    quarry_sandbox_reply(sandbox, Int32(QUARRY_REPLY_RETURN.rawValue), $0.baseAddress, $0.count)
                }
            } catch {
                if error.limit != nil {
                    _ = noteConversion(error)
                    replyError(.string("\(entry.name): \(hostTrip?.message ?? error.problem)"))
                } else {
                    replyError(.string("\(entry.name): \(error.description)"))
                }
            }
        case .error(let value):
            replyError(value)
        case .suspend(let request):
            guard call.canSuspend else {
                replyError(
                    .string(
                        "\(entry.name) cannot wait here: it was called where Lua cannot yield "
                            + "(a metamethod, a sort comparator or a gsub callback)"))
                return
            }
            let requestID = nextRequestID
            nextRequestID += 1
            pendingRequests[requestID] = request
            quarry_sandbox_reply_suspend(sandbox, requestID)
        }
    }

    private func replyError(_ value: LuaValue) {
        let bytes =
            (try? LuaValueEncoder.encodeList([value], limits: argumentLimits, root: "error"))
            ?? (try? LuaValueEncoder.encodeList([.string("host error could not be converted")])) ?? []
        bytes.withUnsafeBufferPointer {
            quarry_sandbox_reply(sandbox, Int32(QUARRY_REPLY_ERROR.rawValue), $0.baseAddress, $0.count)
        }
    }
}

/// The C callbacks' context: points back to the state (set once it exists).
private final class Callbacks {
    unowned(unsafe) var state: LuaState?
}
