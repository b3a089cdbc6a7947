import Foundation
import Testing

/// Issue 23 row 3, after its audit: a `credential_process` helper still running when
/// `quarry` ends (here at the script's deadline) is killed with its process group, not
/// left behind.
@Suite struct CredentialProcessExitTests {
    /// Whether `pid` is a live process (a zombie waiting to be reaped is not).
    static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    @Test func aHelperStillRunningDiesWithQuarry() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quarry-cp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pidFile = dir.appendingPathComponent("pid").path
        let helper = dir.appendingPathComponent("helper.sh")
        try "echo $$ > '\(pidFile)'\nexec sleep 100\n".write(to: helper, atomically: true, encoding: .utf8)
        let config = dir.appendingPathComponent("config")
        try "[default]\nregion = us-east-1\ncredential_process = /bin/sh \(helper.path)\n"
            .write(to: config, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment.filter {
            !$0.key.hasPrefix("AWS_") && !$0.key.hasPrefix("QUARRY_")
        }
        environment["HOME"] = dir.path
        environment["AWS_CONFIG_FILE"] = config.path
        environment["AWS_SHARED_CREDENTIALS_FILE"] = dir.appendingPathComponent("none").path
        environment["AWS_EC2_METADATA_DISABLED"] = "true"

        let result = try QuarryProcess.run(
            [
                "--quiet", "--target", "aws", "--endpoint", "http://127.0.0.1:9",
                "--max-seconds", "2", "-e",
                "bedrock.converse{model='amazon.nova-micro-v1:0', messages='hi'}",
            ],
            environment: environment)
        let pid = try #require(
            Int32(
                (try? String(contentsOfFile: pidFile, encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""),
            "the helper never started: \(result.stderr)")
        defer { kill(pid, SIGKILL) }
        #expect(result.status != 0, "\(result.stderr)")
        // The group is killed as quarry exits; allow a moment for the kill to land.
        let deadline = Date().addingTimeInterval(3)
        while Self.isRunning(pid) && Date() < deadline { usleep(50_000) }
        #expect(
            !Self.isRunning(pid), "the credential helper outlived quarry (status \(result.status): \(result.stderr))")
    }
}
