import BedrockRuntime
import Foundation
import Testing

@testable import Quarry

/// The HTML report: self-contained, one timeline per test with a bar per attempt
/// coloured by outcome, waits, injected faults, and escaped names.
@Suite struct HTMLReportTests {
    static func sample() -> TestRunSummary {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let attempts = [
            AttemptRecord(
                number: 1, outcome: .serviceError, errorCode: "ThrottlingException", httpStatus: 429,
                duration: .milliseconds(20), waitBeforeNext: .milliseconds(100),
                retryDecision: .retry(after: .milliseconds(100), reason: "throttling")),
            AttemptRecord(
                number: 2, outcome: .transportError, errorCode: "ConnectionReset",
                duration: .milliseconds(5), waitBeforeNext: .milliseconds(50),
                retryDecision: .retry(after: .milliseconds(50), reason: "connection reset")),
            AttemptRecord(number: 3, outcome: .success, httpStatus: 200, duration: .milliseconds(40)),
        ]
        let call = TestCallTrace(
            operation: "Converse", model: "anthropic.claude-3-haiku-20240307-v1:0", region: "us-east-1",
            started: start.addingTimeInterval(0.01), duration: .milliseconds(215), attempts: attempts,
            errorCode: nil, inputTokens: 12, outputTokens: 34)
        let injection = FaultInjection(
            ruleId: "client-fault-1", operation: "Converse", model: call.model, region: "us-east-1",
            effect: "ThrottlingException", date: start.addingTimeInterval(0.011))
        let passed = TestCaseResult(
            file: "storm_test.lua", name: "storm <survives> & recovers", status: .passed,
            started: start, duration: .milliseconds(250), calls: [call], injections: [injection])
        let failed = TestCaseResult(
            file: "storm_test.lua", name: "gives up", status: .failed,
            message: "storm_test.lua:9: expected <1>", started: start, duration: .milliseconds(3))
        return TestRunSummary(
            results: [passed, failed], duration: .seconds(1), target: "emulator at http://127.0.0.1:1")
    }

    @Test("bars per attempt coloured by outcome, waits, fault markers, percentiles and tokens")
    func content() {
        let html = HTMLReport(summary: Self.sample()).render()
        #expect(html.contains("1 passed, 1 failed"))
        #expect(html.components(separatedBy: "<rect ").count - 1 == 3)
        #expect(html.contains("class=\"throttled\""))
        #expect(html.contains("class=\"transport\""))
        #expect(html.contains("class=\"ok\""))
        #expect(html.components(separatedBy: "class=\"wait\"").count - 1 == 2)
        #expect(html.contains("<g class=\"fault\"><title>injected client-fault-1: ThrottlingException on Converse"))
        #expect(html.contains("2 retries"))
        #expect(html.contains("tokens 12 in / 34 out"))
        #expect(html.contains("p50 215 ms"))
        #expect(html.contains("attempt errors: ConnectionReset ×1, ThrottlingException ×1"))
        #expect(html.contains("storm &lt;survives&gt; &amp; recovers"))
        #expect(html.contains("expected &lt;1&gt;"))
        #expect(
            !html.contains("<script") && !html.contains(" src=") && !html.contains("<link") && !html.contains("url("))
    }

    @Test("attempt bars sit at their time on the axis")
    func geometry() throws {
        let summary = Self.sample()
        let svg = HTMLReport(summary: summary).timeline(try #require(summary.results.first))
        // 250 ms span over 745 px starting at x = 215: the first attempt starts at 10 ms.
        #expect(svg.contains("<rect x=\"244.8\""))
        // The third attempt starts after 20 + 100 + 5 + 50 ms (185 ms from the test start).
        #expect(svg.contains("<rect x=\"766.3\""))
    }
    @Test("a skipped test shows its reason, not an error box (issue 18 §5)")
    func skippedIsNotAnError() {
        let skipped = TestCaseResult(file: "a_test.lua", name: "later", status: .skipped, message: "needs AWS")
        let html = HTMLReport(summary: TestRunSummary(results: [skipped], duration: .seconds(1), target: "emulator"))
            .render()
        #expect(html.contains("skipped: needs AWS"))
        #expect(!html.contains("<pre class=\"message\">needs AWS"))
    }

    @Test("timeline labels are whole and a 3 ms axis has distinct ticks (issue 18 §5)")
    func labelsAndShortAxes() throws {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let model = "anthropic.claude-3-5-sonnet-20240620-v1:0"
        let call = TestCallTrace(
            operation: "ConverseStream", model: model, region: "ap-southeast-2",
            started: start, duration: .milliseconds(2),
            attempts: [AttemptRecord(number: 1, outcome: .success, httpStatus: 200, duration: .milliseconds(2))],
            errorCode: nil, inputTokens: 1, outputTokens: 1)
        let result = TestCaseResult(
            file: "a_test.lua", name: "quick", status: .passed, started: start,
            duration: .milliseconds(3), calls: [call])
        let svg = HTMLReport(summary: TestRunSummary(results: [result], duration: .seconds(1), target: "emulator"))
            .timeline(result)
        #expect(svg.contains("ConverseStream claude-3-5-sonnet-20240620-v1:0 ap-southeast-2</text>"), "\(svg)")
        let ticks = svg.components(separatedBy: "class=\"tick\" text-anchor=\"middle\">").dropFirst()
            .map { String($0.prefix { $0 != "<" }) }
        #expect(ticks.count == 5)
        #expect(Set(ticks).count == 5, "\(ticks)")
        #expect(ticks.first == "0.0 ms" && ticks.last == "3.0 ms", "\(ticks)")
    }
}
