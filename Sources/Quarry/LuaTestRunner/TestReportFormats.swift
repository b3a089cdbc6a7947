import Foundation

/// The output formats of `quarry test`.
public enum TestOutputFormat: String, Sendable, CaseIterable {
    /// Readable lines per file and test, failures repeated at the end.
    case summary
    /// Test Anything Protocol, version 13.
    case tap
    /// JUnit XML, as CI systems read it.
    case junit
}

/// Writes the readable summary: a line per test as it finishes, then the failures,
/// then `N passed, N failed`.
public struct SummaryFormatter: Sendable {
    /// A formatter.
    public init() {}

    /// The line for one finished test (control characters in names and messages
    /// escaped: messages may quote service errors and model output).
    public func line(for result: TestCaseResult) -> String {
        TerminalText.escaped(rawLine(for: result))
    }

    private func rawLine(for result: TestCaseResult) -> String {
        switch result.status {
        case .passed: return "  ✓ \(result.name) (\(result.duration.reportText))"
        case .skipped: return "  - \(result.name) (skipped\(result.message.map { ": \($0)" } ?? ""))"
        case .failed:
            let detail = (result.message ?? "failed").split(separator: "\n", omittingEmptySubsequences: false)
                .map { "      " + $0 }.joined(separator: "\n")
            return "  ✗ \(result.name) (\(result.duration.reportText))\n" + detail
        }
    }

    /// The whole summary of a finished run, as `--output` writes it: each file's lines,
    /// then the closing block.
    public func document(for summary: TestRunSummary) -> String {
        var out = ""
        var file: String?
        for result in summary.results {
            if result.file != file {
                file = result.file
                out += TerminalText.escaped(result.file) + "\n"
            }
            out += line(for: result) + "\n"
        }
        return out + footer(for: summary)
    }

    /// The closing block: every failure again, then timing and the summary line.
    public func footer(for summary: TestRunSummary) -> String {
        var lines: [String] = []
        let failures = summary.results.filter { $0.status == .failed }
        if !failures.isEmpty || !summary.fileErrors.isEmpty {
            lines.append("")
            lines.append("Failures:")
            for error in summary.fileErrors { lines.append("  \(error.file): \(error.message)") }
            for failure in failures {
                lines.append("  \(failure.file): \(failure.name)")
                for part in (failure.message ?? "").split(separator: "\n") { lines.append("      \(part)") }
            }
        }
        lines.append("")
        // A file that did not load counts as one failure (as in TAP and JUnit), so the
        // numbers of this line add up to those of the summary line.
        let ran = summary.results.count, unloaded = summary.fileErrors.count
        let files = unloaded == 0 ? "" : " and \(unloaded) file\(unloaded == 1 ? "" : "s") that did not load"
        lines.append(
            "Ran \(ran) test\(ran == 1 ? "" : "s")\(files) in \(summary.duration.reportText) against \(summary.target)")
        lines.append(summary.summaryLine)
        return TerminalText.escaped(lines.joined(separator: "\n")) + "\n"
    }
}

/// Writes TAP version 13: `ok N - name`, `not ok N - name` with a YAML block, `# SKIP`.
public struct TAPFormatter: Sendable {
    /// A formatter.
    public init() {}

    /// The whole TAP document for a finished run; the last line is `# N passed, N failed`.
    public func document(for summary: TestRunSummary) -> String {
        var lines = ["TAP version 13", "1..\(summary.results.count + summary.fileErrors.count)"]
        var number = 0
        for error in summary.fileErrors {
            number += 1
            lines.append("not ok \(number) - \(escape(error.file)) (file did not load)")
            lines.append(contentsOf: yaml(message: error.message, duration: nil))
        }
        for result in summary.results {
            number += 1
            let name = "\(escape(result.file)): \(escape(result.name))"
            switch result.status {
            case .passed: lines.append("ok \(number) - \(name)")
            case .skipped: lines.append("ok \(number) - \(name) # SKIP \(escape(result.message ?? ""))")
            case .failed:
                lines.append("not ok \(number) - \(name)")
                lines.append(contentsOf: yaml(message: result.message ?? "failed", duration: result.duration))
            }
        }
        lines.append("# \(summary.summaryLine)")
        return lines.joined(separator: "\n") + "\n"
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "#", with: "\\#").replacingOccurrences(of: "\n", with: " ")
    }

    private func yaml(message: String, duration: Duration?) -> [String] {
        var lines = ["  ---", "  message: |"]
        lines += message.split(separator: "\n", omittingEmptySubsequences: false).map { "    \($0)" }
        if let duration { lines.append("  duration_ms: \(Int(duration.reportMilliseconds.rounded()))") }
        lines.append("  ...")
        return lines
    }
}

/// Writes JUnit XML: one `<testsuite>` per file; `<failure>` for a failed expectation,
/// `<error>` for a runtime error, limit or timeout, `<skipped/>` with its reason, and the
/// test's own output in `<system-out>`.
public struct JUnitFormatter: Sendable {
    /// A formatter.
    public init() {}

    /// The XML document for a finished run.
    public func document(for summary: TestRunSummary) -> String {
        var files: [String] = []
        var byFile: [String: [TestCaseResult]] = [:]
        for result in summary.results {
            if byFile[result.file] == nil { files.append(result.file) }
            byFile[result.file, default: []].append(result)
        }
        for error in summary.fileErrors where byFile[error.file] == nil {
            files.append(error.file)
            byFile[error.file] = []
        }
        var out = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        let errors = summary.results.count { $0.status == .failed && $0.failedByError } + summary.fileErrors.count
        out +=
            #"<testsuites name="quarry test" tests="\#(summary.results.count + summary.fileErrors.count)" failures="\#(summary.failed - errors)" skipped="\#(summary.skipped)" time="\#(seconds(summary.duration))" errors="\#(errors)">"#
            + "\n"
        for file in files {
            let results = byFile[file] ?? []
            let loadErrors = summary.fileErrors.filter { $0.file == file }
            let failures = results.count { $0.status == .failed && !$0.failedByError }
            let errors = results.count { $0.status == .failed && $0.failedByError } + loadErrors.count
            let time = results.reduce(Duration.zero) { $0 + $1.duration }
            out +=
                #"  <testsuite name="\#(xml(file))" tests="\#(results.count + loadErrors.count)" failures="\#(failures)" skipped="\#(results.count { $0.status == .skipped })" time="\#(seconds(time))" errors="\#(errors)">"#
                + "\n"
            for error in loadErrors {
                out += #"    <testcase classname="\#(xml(suiteName(file)))" name="(load)" time="0">"# + "\n"
                out += #"      <error message="the file did not load">\#(xml(error.message))</error>"# + "\n"
                out += "    </testcase>\n"
            }
            for result in results {
                out +=
                    #"    <testcase classname="\#(xml(suiteName(file)))" name="\#(xml(result.name))" time="\#(seconds(result.duration))">"#
                var body = ""
                switch result.status {
                case .passed: break
                case .skipped:
                    body += #"      <skipped message="\#(xml(result.message ?? "skipped"))"/>"# + "\n"
                case .failed:
                    let first = (result.message ?? "failed").split(separator: "\n").first.map(String.init) ?? "failed"
                    let element = result.failedByError ? "error" : "failure"
                    let type = result.errorCode ?? (result.failedByError ? "Error" : "AssertionFailure")
                    body +=
                        #"      <\#(element) message="\#(xml(first))" type="\#(xml(type))">\#(xml(result.message ?? ""))</\#(element)>"#
                        + "\n"
                }
                if !result.output.isEmpty { body += "      <system-out>\(xml(result.output))</system-out>\n" }
                out += body.isEmpty ? "</testcase>\n" : "\n" + body + "    </testcase>\n"
            }
            out += "  </testsuite>\n"
        }
        out += "</testsuites>\n"
        return out
    }

    private func suiteName(_ file: String) -> String {
        ((file as NSString).lastPathComponent as NSString).deletingPathExtension
    }

    private func seconds(_ duration: Duration) -> String {
        String(format: "%.3f", duration.reportMilliseconds / 1000)
    }
}

/// Escapes text for XML and HTML content and attribute values. Control and
/// bidirectional characters are first shown as visible escapes (`TerminalText`): the
/// document may be printed to a terminal, and messages may quote a server's text; any
/// left that XML 1.0 cannot carry are dropped.
func xml(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in TerminalText.escaped(text).unicodeScalars {
        switch scalar {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        case "\n", "\t", "\r": out.unicodeScalars.append(scalar)
        default:
            if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) { continue }
            out.unicodeScalars.append(scalar)
        }
    }
    return out
}
