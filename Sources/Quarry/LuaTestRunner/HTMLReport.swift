import BedrockRuntime
import Foundation

/// `quarry test --report report.html`: one self-contained page (inline CSS and SVG, no
/// scripts or external assets). Per test: its status, a timeline of every Bedrock call's
/// attempts (time on x; a bar per attempt coloured by outcome, waits as dashed lines,
/// injected faults marked ▼, red for client-side and blue for the emulator's), latency
/// percentiles, retries and tokens.
public struct HTMLReport: Sendable {
    /// The run to draw.
    public let summary: TestRunSummary
    /// When the report was made (shown in the header).
    public let generated: Date

    /// A report of `summary`.
    public init(summary: TestRunSummary, generated: Date = Date()) {
        self.summary = summary
        self.generated = generated
    }

    /// Writes the page to `path` (mkstemp in the same directory, then rename: a link
    /// planted at the path is replaced, never written through).
    public func write(to path: String) throws {
        try PrivateFile.replace(path, contents: Array(render().utf8))
    }

    /// The whole page.
    public func render() -> String {
        let all = CallMetricsSummary(summary.results.flatMap(\.calls))
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Quarry test report: \(xml(summary.summaryLine))</title>
            <style>\(Self.css)</style></head><body>
            <header><h1>Quarry resilience report</h1>
            <p class="meta">\(xml(summary.target)) · \(xml(ISO8601DateFormatter().string(from: generated))) · \(summary.duration.reportText)</p>
            <div class="totals">
              <span class="pill passed">\(summary.passed) passed</span>
              <span class="pill failed">\(summary.failed) failed</span>
              <span class="pill skipped">\(summary.skipped) skipped</span>
              <span class="pill">\(all.calls) calls</span><span class="pill">\(all.retries) retries</span>
              <span class="pill">\(all.inputTokens + all.outputTokens) tokens</span>
              \(latencyText(all.latency).map { "<span class=\"pill\">latency \($0)</span>" } ?? "")
            </div>
            \(Self.legend)
            </header><main>

            """
        for error in summary.fileErrors {
            html += """
                <section class="test failed"><h2><span class="badge failed">load error</span> \(xml(error.file))</h2>
                <pre class="message">\(xml(error.message))</pre></section>

                """
        }
        for result in summary.results { html += section(result) }
        html += "</main><footer>\(xml(summary.summaryLine))</footer></body></html>\n"
        return html
    }

    private func latencyText(_ latency: CallMetricsSummary.Latency?) -> String? {
        guard let latency else { return nil }
        func f(_ v: Double) -> String { String(format: v < 10 ? "%.1f" : "%.0f", v) }
        return
            "p50 \(f(latency.p50)) ms · p90 \(f(latency.p90)) ms · p99 \(f(latency.p99)) ms · max \(f(latency.max)) ms"
    }

    private func section(_ result: TestCaseResult) -> String {
        let metrics = CallMetricsSummary(result.calls)
        var facts = [
            "\(result.duration.reportText)", "\(metrics.calls) call\(metrics.calls == 1 ? "" : "s")",
            "\(metrics.retries) retr\(metrics.retries == 1 ? "y" : "ies")",
            "tokens \(metrics.inputTokens) in / \(metrics.outputTokens) out",
        ]
        if !result.injections.isEmpty {
            facts.append("\(result.injections.count) injected fault\(result.injections.count == 1 ? "" : "s")")
        }
        if let latency = latencyText(metrics.latency) { facts.append(latency) }
        let errorCodes = metrics.attemptErrors.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }
        var out = """
            <section class="test \(result.status.rawValue)">
            <h2><span class="badge \(result.status.rawValue)">\(result.status.rawValue)</span> \(xml(result.name))</h2>
            <p class="meta">\(xml(result.file)) · \(facts.map(xml).joined(separator: " · "))</p>

            """
        if !errorCodes.isEmpty {
            out += "<p class=\"meta\">attempt errors: \(xml(errorCodes.joined(separator: ", ")))</p>\n"
        }
        if let message = result.message {
            switch result.status {
            case .passed: break
            case .skipped: out += "<p class=\"reason\">skipped: \(xml(message))</p>\n"
            case .failed: out += "<pre class=\"message\">\(xml(message))</pre>\n"
            }
        }
        if !result.calls.isEmpty || !result.injections.isEmpty { out += timeline(result) }
        out += "</section>\n"
        return out
    }

    /// The SVG timeline of one test: a lane per call (at most 40 drawn).
    func timeline(_ result: TestCaseResult) -> String {
        let calls = Array(result.calls.sorted { $0.started < $1.started }.prefix(40))
        let origin = result.started
        let lastCallEnd =
            calls.map { $0.started.timeIntervalSince(origin) * 1000 + $0.duration.reportMilliseconds }.max() ?? 0
        let lastInjection = result.injections.map { $0.date.timeIntervalSince(origin) * 1000 }.max() ?? 0
        let span = max(1, result.duration.reportMilliseconds, lastCallEnd, lastInjection)
        let width = 980.0, left = 215.0, right = 20.0, lane = 22.0, top = 26.0
        let plot = width - left - right
        let height = top + Double(max(calls.count, 1)) * lane + 24
        func x(_ ms: Double) -> Double { left + max(0, min(ms, span)) / span * plot }
        func f(_ v: Double) -> String { String(format: "%.1f", v) }

        var svg =
            "<svg class=\"timeline\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"attempt timeline\">\n"
        // Axis with five ticks.
        for i in 0...4 {
            let ms = span * Double(i) / 4
            svg +=
                "<line x1=\"\(f(x(ms)))\" y1=\"\(f(top - 6))\" x2=\"\(f(x(ms)))\" y2=\"\(f(height - 20))\" class=\"grid\"/>"
            svg +=
                "<text x=\"\(f(x(ms)))\" y=\"\(f(top - 10))\" class=\"tick\" text-anchor=\"middle\">\(Self.tickText(ms, step: span / 4))</text>\n"
        }
        for (index, call) in calls.enumerated() {
            let y = top + Double(index) * lane
            let label = "\(call.operation) \(call.model.map { Self.shortModel($0) } ?? "") \(call.region)"
            // The whole label, squeezed into the lane's label column when it is long.
            let fit =
                label.count > Self.labelColumnCharacters
                ? " textLength=\"\(f(left - 12))\" lengthAdjust=\"spacingAndGlyphs\"" : ""
            svg +=
                "<text x=\"6\" y=\"\(f(y + 14))\" class=\"label\"\(fit)><title>\(xml(label))</title>\(xml(label))</text>\n"
            for (attempt, attemptStart) in zip(call.attempts, call.attemptStarts) {
                var at = attemptStart.timeIntervalSince(origin) * 1000
                let start = at, end = at + attempt.duration.reportMilliseconds
                let w = max(2, x(end) - x(start))
                let tip = attemptTitle(call, attempt)
                svg +=
                    "<rect x=\"\(f(x(start)))\" y=\"\(f(y + 3))\" width=\"\(f(w))\" height=\"\(f(lane - 8))\" rx=\"2\" class=\"\(Self.outcomeClass(attempt))\"><title>\(xml(tip))</title></rect>"
                at = end
                if let wait = attempt.waitBeforeNext {
                    let waitEnd = at + wait.reportMilliseconds
                    svg +=
                        "<line x1=\"\(f(x(at)))\" y1=\"\(f(y + lane / 2 - 1))\" x2=\"\(f(x(waitEnd)))\" y2=\"\(f(y + lane / 2 - 1))\" class=\"wait\"><title>waited \(xml(wait.reportText)) before attempt \(attempt.number + 1)</title></line>"
                }
                svg += "\n"
            }
        }
        // Injected client faults: a marker at the top of the plot, and a guide line down.
        for injection in result.injections {
            let px = x(injection.date.timeIntervalSince(origin) * 1000)
            svg +=
                "<g class=\"fault\(injection.ruleId == "emulator" ? " server" : "")\"><title>\(xml("injected \(injection.description)"))</title>"
            svg +=
                "<line x1=\"\(f(px))\" y1=\"\(f(top))\" x2=\"\(f(px))\" y2=\"\(f(height - 20))\" class=\"faultline\"/>"
            svg +=
                "<path d=\"M\(f(px - 5)) \(f(top - 4)) L\(f(px + 5)) \(f(top - 4)) L\(f(px)) \(f(top + 4)) Z\"/></g>\n"
        }
        if calls.isEmpty {
            svg += "<text x=\"\(f(left))\" y=\"\(f(top + 14))\" class=\"label\">no Bedrock calls</text>\n"
        }
        svg +=
            "<text x=\"\(f(width - right))\" y=\"\(f(height - 4))\" class=\"tick\" text-anchor=\"end\">time since the test started →</text>\n"
        svg += "</svg>\n"
        if result.calls.count > calls.count {
            svg += "<p class=\"meta\">\(result.calls.count - calls.count) more calls not drawn</p>\n"
        }
        return svg
    }

    private func attemptTitle(_ call: TestCallTrace, _ attempt: AttemptRecord) -> String {
        var parts = ["\(call.operation) attempt \(attempt.number): \(attempt.errorCode ?? "success")"]
        if let status = attempt.httpStatus { parts.append("HTTP \(status)") }
        parts.append(attempt.duration.reportText)
        if let decision = attempt.decision { parts.append(decision) }
        return parts.joined(separator: " · ")
    }

    static func outcomeClass(_ attempt: AttemptRecord) -> String {
        switch attempt.outcome {
        case .success: return "ok"
        case .serviceError:
            let code = attempt.errorCode ?? ""
            return code == "ThrottlingException" || code == "ModelNotReadyException" || attempt.httpStatus == 429
                ? "throttled" : "error"
        case .transportError: return attempt.errorCode?.contains("Timeout") == true ? "timeout" : "transport"
        case .invalidResponse: return "invalid"
        case .cancelled: return "cancelled"
        }
    }

    /// Characters of the label font that fit in the label column at their natural width.
    static let labelColumnCharacters = 30

    /// A model id without its provider prefix (`claude-3-haiku-…` for `anthropic.claude-3-haiku-…`).
    static func shortModel(_ id: String) -> String {
        let name = id.split(separator: ".").dropFirst().joined(separator: ".")
        return name.isEmpty ? id : name
    }

    /// An axis label: whole milliseconds when the ticks are at least 1 ms apart, else
    /// enough decimals that neighbouring ticks differ (a 3 ms axis: 0, 0.8, 1.5, 2.3, 3 ms).
    static func tickText(_ ms: Double, step: Double) -> String {
        if step >= 1 || ms >= 1000 { return Duration.milliseconds(Int64(ms.rounded())).reportText }
        let decimals = step >= 0.1 ? 1 : 2
        return String(format: "%.\(decimals)f ms", ms)
    }

    static let legend = """
        <div class="legend">
          <span><i class="ok"></i>success</span><span><i class="throttled"></i>throttled</span>
          <span><i class="error"></i>service error</span><span><i class="transport"></i>connection error</span>
          <span><i class="timeout"></i>timeout</span><span><i class="invalid"></i>bad/cut stream</span>
          <span><i class="cancelled"></i>cancelled</span><span><b class="waitkey"></b>backoff wait</span>
          <span><b class="faultkey">▼</b>client-injected fault</span><span><b class="faultkey server">▼</b>emulator fault</span>
        </div>
        """

    static let css = """
        :root{--ok:#2e9d5b;--throttled:#e8a33d;--error:#d64545;--transport:#8e5bd6;--timeout:#c2417f;--invalid:#6d7a8a;--cancelled:#b8bec6}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d232b}
        header{background:#1d2733;color:#eef2f6;padding:18px 28px}
        header h1{margin:0 0 4px;font-size:20px}
        header .meta{color:#aab6c3}
        main{padding:16px 28px;max-width:1020px}
        footer{padding:12px 28px 28px;color:#55606c;font-weight:600}
        .meta{color:#55606c;margin:2px 0}
        .totals{margin-top:10px;display:flex;gap:8px;flex-wrap:wrap}
        .pill{background:#2b3848;border-radius:12px;padding:2px 10px}
        .pill.passed{background:var(--ok)}.pill.failed{background:var(--error)}.pill.skipped{background:#6d7a8a}
        .legend{margin-top:10px;display:flex;gap:14px;flex-wrap:wrap;font-size:12px;color:#cfd8e2}
        .legend i{display:inline-block;width:14px;height:10px;border-radius:2px;margin-right:5px;vertical-align:middle}
        .legend i.ok{background:var(--ok)}.legend i.throttled{background:var(--throttled)}.legend i.error{background:var(--error)}
        .legend i.transport{background:var(--transport)}.legend i.timeout{background:var(--timeout)}.legend i.invalid{background:var(--invalid)}
        .legend i.cancelled{background:var(--cancelled)}
        .legend b.waitkey{display:inline-block;width:18px;border-top:2px dashed #9aa5b1;margin-right:5px;vertical-align:middle}
        .legend b.faultkey{color:#ff6b6b;margin-right:4px}
        section.test{background:#fff;border-radius:8px;border-left:5px solid var(--ok);margin:14px 0;padding:10px 16px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
        section.test.failed{border-left-color:var(--error)}section.test.skipped{border-left-color:#9aa5b1}
        section h2{font-size:15px;margin:4px 0}
        .badge{font-size:11px;text-transform:uppercase;letter-spacing:.04em;color:#fff;border-radius:4px;padding:1px 6px;margin-right:6px;vertical-align:1px}
        .badge.passed{background:var(--ok)}.badge.failed{background:var(--error)}.badge.skipped{background:#6d7a8a}
        p.reason{color:#55606c;font-style:italic;margin:4px 0}
        pre.message{background:#fff4f4;border:1px solid #f1c9c9;border-radius:6px;padding:8px;white-space:pre-wrap;font-size:12.5px}
        svg.timeline{display:block;max-width:100%;height:auto;margin:8px 0}
        svg .grid{stroke:#e6e9ee;stroke-width:1}
        svg .tick{font-size:10px;fill:#7a8591}
        svg .label{font-size:11px;fill:#35404c;font-family:ui-monospace,Menlo,monospace}
        svg rect.ok{fill:var(--ok)}svg rect.throttled{fill:var(--throttled)}svg rect.error{fill:var(--error)}
        svg rect.transport{fill:var(--transport)}svg rect.timeout{fill:var(--timeout)}svg rect.invalid{fill:var(--invalid)}
        svg rect.cancelled{fill:var(--cancelled)}
        svg .wait{stroke:#9aa5b1;stroke-width:2;stroke-dasharray:4 3}
        svg .fault path{fill:#ff4d4d}svg .fault.server path{fill:#3d8bff}svg .fault.server .faultline{stroke:#3d8bff}
        .legend b.faultkey.server{color:#6aa8ff}
        svg .faultline{stroke:#ff4d4d;stroke-width:1;stroke-dasharray:2 3;opacity:.55}
        """
}
