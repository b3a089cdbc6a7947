import Foundation
import TestSupport
import Testing

/// The "Security in Quarry" article names the test behind every claim as
/// `Suite/testName`; this suite fails when one of them is renamed or removed.
@Suite struct SecurityArticleTests {
    static let packageRoot = PackageRoot.url

    /// Every `Suite/testName` code span in the article.
    static func links(in article: String) -> [(suite: String, test: String)] {
        let pattern = /`([A-Z][A-Za-z0-9_]*)\/([a-z][A-Za-z0-9_]*)`/
        return article.matches(of: pattern).map { (String($0.output.1), String($0.output.2)) }
    }

    /// The Swift sources under `Tests/`, by path.
    static func testSources() throws -> [String: String] {
        let tests = packageRoot.appendingPathComponent("Tests")
        var sources: [String: String] = [:]
        let walker = FileManager.default.enumerator(at: tests, includingPropertiesForKeys: nil)
        while let url = walker?.nextObject() as? URL {
            guard url.pathExtension == "swift" else { continue }
            sources[url.path] = try String(contentsOf: url, encoding: .utf8)
        }
        return sources
    }

    /// Whether a file declares `suite` and, in it, a test function named `test`.
    static func declares(_ source: String, suite: String, test: String) -> Bool {
        let suiteDeclared =
            source.contains("struct \(suite) ") || source.contains("struct \(suite){")
            || source.contains("class \(suite) ") || source.contains("class \(suite):")
        guard suiteDeclared else { return false }
        // The function must be a test: an `@Test` attribute above `func name(` (parameterized
        // tests list their arguments in between), with no other function in the way.
        let lines = source.components(separatedBy: "\n")
        for (i, line) in lines.enumerated() where line.contains("func \(test)(") {
            if line.contains("@Test") { return true }
            var j = i - 1
            while j >= max(0, i - 40),
                !lines[j].contains("func ") && !lines[j].contains("}") || lines[j].contains("@Test")
            {
                if lines[j].contains("@Test") { return true }
                j -= 1
            }
        }
        return false
    }

    @Test func everyLinkedTestExists() throws {
        let article = try String(
            contentsOf: Self.packageRoot.appendingPathComponent(
                "Sources/Quarry/Quarry.docc/SecurityInQuarry.md"), encoding: .utf8)
        let links = Self.links(in: article)
        // The article proves its claims: dozens of links, not a handful.
        #expect(links.count >= 40, "only \(links.count) test links found")
        let sources = try Self.testSources()
        // The file named after the suite first, every file only when that is not it: each
        // look is a text search of a whole file, and trying every file for every link held
        // a thread of the shared pool for seconds in a debug build.
        let byFileName = Dictionary(
            sources.map { (URL(fileURLWithPath: $0.key).lastPathComponent, $0.value) }, uniquingKeysWith: { a, _ in a })
        var missing: [String] = []
        for link in links {
            let found =
                byFileName["\(link.suite).swift"].map { Self.declares($0, suite: link.suite, test: link.test) } == true
                || sources.values.contains { Self.declares($0, suite: link.suite, test: link.test) }
            if !found { missing.append("\(link.suite)/\(link.test)") }
        }
        #expect(missing.isEmpty, "the Security in Quarry article links tests that do not exist: \(missing)")
    }

    @Test func theCheckNoticesARenamedTest() throws {
        // The checker itself: a made-up name is reported missing, a real one is found.
        let sources = try Self.testSources()
        #expect(
            sources.values.contains { Self.declares($0, suite: "SecurityArticleTests", test: "everyLinkedTestExists") })
        #expect(
            !sources.values.contains { Self.declares($0, suite: "SecurityArticleTests", test: "everyLinkedTestExistz") }
        )
        #expect(!sources.values.contains { Self.declares($0, suite: "NoSuchSuite", test: "everyLinkedTestExists") })
    }
}
