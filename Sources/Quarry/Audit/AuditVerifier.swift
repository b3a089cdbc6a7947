import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checks an audit log's chain: every record's `hash` matches its content, the first
/// record's `prev` anchors on its run id, and every later record's `prev` is the hash of
/// the line before it. A changed, removed, reordered or inserted record breaks one of
/// these; the first break is reported with its line number.
public enum AuditVerifier {
    /// The result of a check.
    public struct Report: Sendable, Equatable {
        /// Records checked (all of them when `problem` is nil).
        public var records: Int
        /// The first bad record's line (1-based), nil when the chain is intact.
        public var badLine: Int?
        /// Why that record is bad.
        public var problem: String?
        /// Whether the whole log checked out.
        public var isIntact: Bool { problem == nil }
    }

    /// The longest line `verify` and `AuditSummary` read; a longer one is "too long" and is
    /// never held whole in memory. The same bound the writer uses when continuing a log.
    public static let maxLineBytes = AuditWriter.maxLineBytes

    /// Checks the log's bytes.
    public static func verify(_ data: Data, maxLineBytes: Int = maxLineBytes) -> Report {
        let reader = AuditLineReader(data: data, maxLineBytes: maxLineBytes)
        return (try? verify(reader)) ?? Report(records: 0, badLine: 1, problem: "the log cannot be read")
    }

    /// Checks the log at `file`, reading it one line at a time through a bounded buffer and
    /// stopping at the first bad record (memory stays near `maxLineBytes`, whatever the
    /// file's size). Throws when the file cannot be read.
    public static func verify(fileAt file: URL, maxLineBytes: Int = maxLineBytes) throws -> Report {
        try verify(try AuditLineReader(file: file, maxLineBytes: maxLineBytes))
    }

    static func verify(_ reader: AuditLineReader) throws -> Report {
        var previousLine: [UInt8]?
        var number = 0
        while let next = try reader.next() {
            number += 1
            func bad(_ why: String) -> Report { Report(records: number - 1, badLine: number, problem: why) }
            let line: [UInt8]
            switch next {
            case .tooLong:
                return bad("the record is too long (over \(reader.maxLineBytes) bytes)")
            case .incomplete:
                return bad(
                    "the last record is incomplete (no newline at its end: a write was cut short or the file was truncated)"
                )
            case .complete(let bytes):
                line = bytes
            }
            let fields: (runId: String, prev: String)
            switch chainFields(line) {
            case .failure(let problem): return bad(problem.message)
            case .success(let f): fields = f
            }
            if let previousLine {
                if fields.prev != AuditLog.sha256Hex(previousLine) {
                    return bad(
                        "the chain is broken: prev is not the hash of line \(number - 1) (a record was removed, inserted or reordered before this one)"
                    )
                }
            } else if fields.prev != AuditLog.anchor(runId: fields.runId) {
                return bad("the first record does not anchor on its run id (records before it were removed)")
            }
            previousLine = line
        }
        return Report(records: number, badLine: nil, problem: nil)
    }

    /// Why a line is not an audit record.
    struct RecordProblem: Error { var message: String }

    /// A line's run id and `prev` when it is an audit record whose own hash checks out
    /// (the chain to the line before it is the caller's to check).
    static func chainFields(_ line: [UInt8]) -> Result<(runId: String, prev: String), RecordProblem> {
        func bad(_ why: String) -> Result<(runId: String, prev: String), RecordProblem> {
            .failure(RecordProblem(message: why))
        }
        guard let json = try? JSONParser.parse(line), case .object(let members) = json else {
            return bad("not a JSON object")
        }
        func string(_ key: String) -> String? {
            if case .string(let s)? = members.last(where: { $0.0 == key })?.1 { return s }
            return nil
        }
        guard let runId = string("run_id"), let prev = string("prev"), let hash = string("hash") else {
            return bad("not an audit record (run_id, prev or hash is missing)")
        }
        let suffix = Array(AuditChain.hashMarker.utf8) + Array(hash.utf8) + Array("\"}".utf8)
        let start = line.count - suffix.count
        guard hash.utf8.count == 64, start > 0, Array(line[start...]) == suffix else {
            return bad("the hash is not the record's last member")
        }
        if AuditLog.sha256Hex(Array(line[..<start])) != hash {
            return bad("the record was changed: its hash does not match its content")
        }
        return .success((runId, prev))
    }
}

/// Reads a log one line at a time through a fixed-size buffer: a line longer than
/// `maxLineBytes` is reported as `.tooLong` and skipped, never held whole, so a hostile
/// file (50 MB of newlines, one endless line) cannot make a reader's memory grow with it.
final class AuditLineReader {
    enum Line { case complete([UInt8]), incomplete([UInt8]), tooLong }
    private enum Source { case data(Data), file(Int32, String) }

    let maxLineBytes: Int
    private let source: Source
    private var dataOffset = 0
    private var chunk: [UInt8] = []
    private var position = 0
    static let chunkBytes = 64 << 10

    init(data: Data, maxLineBytes: Int) {
        self.source = .data(data)
        self.maxLineBytes = max(1, maxLineBytes)
    }

    init(file: URL, maxLineBytes: Int) throws {
        let fd = open(file.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AuditLogError("cannot read '\(file.path)': \(String(cString: strerror(errno)))") }
        self.source = .file(fd, file.path)
        self.maxLineBytes = max(1, maxLineBytes)
    }

    deinit { if case .file(let fd, _) = source { _ = close(fd) } }

    /// Refills the buffer; false at the end of the input.
    private func fill() throws -> Bool {
        switch source {
        case .data(let data):
            guard dataOffset < data.count else { return false }
            let end = min(data.count, dataOffset + Self.chunkBytes)
            chunk = Array(data[(data.startIndex + dataOffset)..<(data.startIndex + end)])
            dataOffset = end
        case .file(let fd, let path):
            var buffer = [UInt8](repeating: 0, count: Self.chunkBytes)
            var n: Int
            repeat {
                n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            } while n < 0 && errno == EINTR
            guard n >= 0 else { throw AuditLogError("cannot read '\(path)': \(String(cString: strerror(errno)))") }
            guard n > 0 else { return false }
            buffer.removeSubrange(n...)
            chunk = buffer
        }
        position = 0
        return true
    }

    /// The next line (without its newline), nil at the end.
    func next() throws -> Line? {
        var pending: [UInt8] = []
        var tooLong = false
        while true {
            if position >= chunk.count {
                guard try fill() else {
                    if tooLong { return .tooLong }
                    return pending.isEmpty ? nil : .incomplete(pending)
                }
            }
            if let newline = chunk[position...].firstIndex(of: 0x0A) {
                let segment = chunk[position..<newline]
                position = newline + 1
                if tooLong || pending.count + segment.count > maxLineBytes { return .tooLong }
                pending += segment
                return .complete(pending)
            }
            if !tooLong {
                if pending.count + (chunk.count - position) > maxLineBytes {
                    tooLong = true
                    pending = []
                } else {
                    pending += chunk[position...]
                }
            }
            position = chunk.count
        }
    }
}

/// Calls, tokens and errors per principal, model and day, from an audit log.
public struct AuditSummary: Sendable {
    /// One principal's use of one model on one day.
    public struct Row: Sendable, Equatable {
        public var principal: String
        public var model: String
        public var day: String
        /// Calls made (sent, whatever their outcome).
        public var calls: Int
        /// Calls whose final outcome was an error.
        public var errors: Int
        /// Calls the policy refused (not sent).
        public var refused: Int
        public var tokensIn: Int
        public var tokensOut: Int
    }

    /// Rows sorted by day, principal and model.
    public var rows: [Row]
    /// What was not counted and why (a record with a negative token count, say), one
    /// entry per line, at most `maxNotes` of them.
    public var notes: [String]
    /// How many notes are kept (a hostile log cannot grow the list without bound).
    public static let maxNotes = 100

    /// Reads the records of a log (lines that are not records are skipped; verify first).
    public init(_ data: Data, maxLineBytes: Int = AuditVerifier.maxLineBytes) {
        let reader = AuditLineReader(data: data, maxLineBytes: maxLineBytes)
        let read = (try? Self.read(reader)) ?? ([], [])
        rows = read.0
        notes = read.1
    }

    /// Reads the records of the log at `file` one line at a time through a bounded buffer
    /// (lines that are not records are skipped; verify first). Throws when the file cannot
    /// be read.
    public init(contentsOf file: URL, maxLineBytes: Int = AuditVerifier.maxLineBytes) throws {
        let read = try Self.read(try AuditLineReader(file: file, maxLineBytes: maxLineBytes))
        rows = read.0
        notes = read.1
    }

    private static func read(_ reader: AuditLineReader) throws -> ([Row], [String]) {
        var table: [String: Row] = [:]
        var number = 0
        var notes: [String] = []
        while let next = try reader.next() {
            number += 1
            let line: [UInt8]
            switch next {
            case .complete(let bytes), .incomplete(let bytes): line = bytes
            case .tooLong:
                if notes.count < Self.maxNotes {
                    notes.append("line \(number): longer than \(reader.maxLineBytes) bytes; not read")
                }
                continue
            }
            guard let json = try? JSONParser.parse(line), case .object(let members) = json else { continue }
            func value(_ key: String) -> JSONValue? { members.last(where: { $0.0 == key })?.1 }
            func string(_ v: JSONValue?) -> String? { if case .string(let s)? = v { return s }; return nil }
            func integer(_ v: JSONValue?) -> Int { if case .integer(let n)? = v { return Int(clamping: n) }; return 0 }
            var principal = "unknown"
            if case .object(let p)? = value("principal") {
                let key = string(p.last(where: { $0.0 == "key_id" })?.1)
                let source = string(p.last(where: { $0.0 == "source" })?.1)
                principal = [key, source.map { "(\($0))" }].compactMap { $0 }.joined(separator: " ")
                if principal.isEmpty { principal = "unknown" }
                if let role = string(p.last(where: { $0.0 == "role_arn" })?.1) { principal += " as \(role)" }
            }
            let model = string(value("model")) ?? "-"
            let day = String((string(value("time")) ?? "unknown").prefix(10))
            let key = "\(day)\u{1}\(principal)\u{1}\(model)"
            var row =
                table[key]
                ?? Row(
                    principal: principal, model: model, day: day, calls: 0, errors: 0, refused: 0,
                    tokensIn: 0, tokensOut: 0)
            if string(value("kind")) == "refusal" {
                row.refused += 1
            } else {
                row.calls += 1
                if string(value("outcome")) != "success" { row.errors += 1 }
                // A forged record may carry any number: a negative count is not counted,
                // and sums stop at Int.max instead of overflowing.
                let tokensIn = integer(value("tokens_in")), tokensOut = integer(value("tokens_out"))
                if tokensIn < 0 || tokensOut < 0 {
                    if notes.count < Self.maxNotes {
                        notes.append("line \(number): a negative token count; its tokens are not counted")
                    }
                } else {
                    row.tokensIn = Self.saturatingSum(row.tokensIn, tokensIn)
                    row.tokensOut = Self.saturatingSum(row.tokensOut, tokensOut)
                }
            }
            table[key] = row
        }
        let rows = table.values.sorted { ($0.day, $0.principal, $0.model) < ($1.day, $1.principal, $1.model) }
        return (rows, notes)
    }

    /// `a + b`, or `Int.max` when that overflows (both are non-negative).
    static func saturatingSum(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? Int.max : sum
    }

    /// An aligned text table.
    public var text: String {
        let header = ["day", "principal", "model", "calls", "errors", "refused", "tokens_in", "tokens_out"]
        let clean = Self.printable
        let cells = rows.map {
            [
                clean($0.day), clean($0.principal), clean($0.model), String($0.calls), String($0.errors),
                String($0.refused), String($0.tokensIn), String($0.tokensOut),
            ]
        }
        var widths = header.map(\.count)
        for row in cells { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        func format(_ row: [String]) -> String {
            row.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        return ([format(header)] + cells.map(format)).joined(separator: "\n") + "\n"
    }

    /// A JSON array of rows.
    public var json: String {
        let items: [JSONValue] = rows.map { r in
            .object([
                ("day", .string(r.day)), ("principal", .string(r.principal)), ("model", .string(r.model)),
                ("calls", .integer(Int64(r.calls))), ("errors", .integer(Int64(r.errors))),
                ("refused", .integer(Int64(r.refused))), ("tokens_in", .integer(Int64(r.tokensIn))),
                ("tokens_out", .integer(Int64(r.tokensOut))),
            ])
        }
        return JSONWriter.compact.string(.array(items)) + "\n"
    }

    /// A log is data from a file a script partly chose (a refused model's name): control
    /// characters (terminal escapes) and format characters (bidirectional overrides such
    /// as U+202E, which reorder what is shown) become `?`.
    static func printable(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: out.append("?")
            default: out.append(scalar)
            }
        }
        return String(out)
    }

    /// A CSV cell a spreadsheet shows as text: printable (see `printable`), and a leading
    /// `=`, `+`, `-`, `@`, tab or carriage return (which start a formula) prefixed with `'`.
    static func csvCell(_ s: String) -> String {
        let formula = s.unicodeScalars.first.map { "=+-@\t\r".unicodeScalars.contains($0) } ?? false
        return (formula ? "'" : "") + printable(s)
    }

    /// CSV with a header row (RFC 4180 quoting); cells are neutralized (`csvCell`).
    public var csv: String {
        func quote(_ raw: String) -> String {
            let s = Self.csvCell(raw)
            return s.contains(where: { ",\"\n\r".contains($0) })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = "day,principal,model,calls,errors,refused,tokens_in,tokens_out\r\n"
        for r in rows {
            out +=
                [r.day, r.principal, r.model].map(quote).joined(separator: ",")
                + ",\(r.calls),\(r.errors),\(r.refused),\(r.tokensIn),\(r.tokensOut)\r\n"
        }
        return out
    }
}
