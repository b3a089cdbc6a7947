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

    /// Reads the records of a log (lines that are not records are skipped; verify first).
    public init(_ data: Data) {
        var table: [String: Row] = [:]
        for line in Array(data).split(separator: 0x0A) {
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
                row.tokensIn += integer(value("tokens_in"))
                row.tokensOut += integer(value("tokens_out"))
            }
            table[key] = row
        }
        rows = table.values.sorted { ($0.day, $0.principal, $0.model) < ($1.day, $1.principal, $1.model) }
    }

    /// An aligned text table.
    public var text: String {
        let header = ["day", "principal", "model", "calls", "errors", "refused", "tokens_in", "tokens_out"]
        // A log is data from a file: control characters (terminal escapes) never reach the screen.
        func clean(_ s: String) -> String {
            String(s.unicodeScalars.map { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) ? "?" : Character($0) })
        }
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

    /// CSV with a header row (RFC 4180 quoting).
    public var csv: String {
        func quote(_ s: String) -> String {
            s.contains(where: { ",\"\n\r".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = "day,principal,model,calls,errors,refused,tokens_in,tokens_out\r\n"
        for r in rows {
            out += [r.day, r.principal, r.model].map(quote).joined(separator: ",")
                + ",\(r.calls),\(r.errors),\(r.refused),\(r.tokensIn),\(r.tokensOut)\r\n"
        }
        return out
    }
}
