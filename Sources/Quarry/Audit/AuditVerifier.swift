import Foundation

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

    /// Checks the log's bytes.
    public static func verify(_ data: Data) -> Report {
        let bytes = Array(data)
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if lines.last == [] { lines.removeLast() } else if !lines.isEmpty {
            return Report(records: lines.count - 1, badLine: lines.count,
                          problem: "the last record is incomplete (no newline at its end: a write was cut short or the file was truncated)")
        }
        var previousLine: [UInt8]?
        for (index, line) in lines.enumerated() {
            let number = index + 1
            func bad(_ why: String) -> Report { Report(records: index, badLine: number, problem: why) }
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
            if let previousLine {
                if prev != AuditLog.sha256Hex(previousLine) {
                    return bad("the chain is broken: prev is not the hash of line \(number - 1) (a record was removed, inserted or reordered before this one)")
                }
            } else if prev != AuditLog.anchor(runId: runId) {
                return bad("the first record does not anchor on its run id (records before it were removed)")
            }
            previousLine = line
        }
        return Report(records: lines.count, badLine: nil, problem: nil)
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
    public var notes: [String] = []
    /// How many notes are kept (a hostile log cannot grow the list without bound).
    public static let maxNotes = 100

    /// Reads the records of a log (lines that are not records are skipped; verify first).
    public init(_ data: Data) {
        var table: [String: Row] = [:]
        var number = 0
        var notes: [String] = []
        for line in Array(data).split(separator: 0x0A, omittingEmptySubsequences: false) {
            number += 1
            guard let json = try? JSONParser.parse(Array(line)), case .object(let members) = json else { continue }
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
            var row = table[key] ?? Row(principal: principal, model: model, day: day, calls: 0, errors: 0, refused: 0,
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
        rows = table.values.sorted { ($0.day, $0.principal, $0.model) < ($1.day, $1.principal, $1.model) }
        self.notes = notes
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
        let cells = rows.map { [clean($0.day), clean($0.principal), clean($0.model), String($0.calls), String($0.errors),
                                String($0.refused), String($0.tokensIn), String($0.tokensOut)] }
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
            .object([("day", .string(r.day)), ("principal", .string(r.principal)), ("model", .string(r.model)),
                     ("calls", .integer(Int64(r.calls))), ("errors", .integer(Int64(r.errors))),
                     ("refused", .integer(Int64(r.refused))), ("tokens_in", .integer(Int64(r.tokensIn))),
                     ("tokens_out", .integer(Int64(r.tokensOut)))])
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
            return s.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = "day,principal,model,calls,errors,refused,tokens_in,tokens_out\r\n"
        for r in rows {
            out += [r.day, r.principal, r.model].map(quote).joined(separator: ",")
                + ",\(r.calls),\(r.errors),\(r.refused),\(r.tokensIn),\(r.tokensOut)\r\n"
        }
        return out
    }
}
