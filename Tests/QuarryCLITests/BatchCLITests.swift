import Foundation
import Testing

/// `--allow-bucket` and `--allow-role` through the real `quarry` binary.
@Suite struct BatchCLITests {
    static let role = "arn:aws:iam::123456789012:role/BatchRole"

    @Test func badBucketAndRoleRulesAreUsageErrors() throws {
        let bucket = try QuarryProcess.run(
            ["--quiet", "--allow-bucket", "Not_A_Bucket/x", "-e", "return 1"], environment: HostCLITests.noAWS)
        #expect(bucket.status == 2)
        #expect(bucket.stderr.contains("--allow-bucket"), "\(bucket.stderr)")
        let dots = try QuarryProcess.run(
            ["--quiet", "--allow-bucket", "batch-out/a/../b", "-e", "return 1"], environment: HostCLITests.noAWS)
        #expect(dots.status == 2)
        #expect(dots.stderr.contains("--allow-bucket"), "\(dots.stderr)")
        let role = try QuarryProcess.run(
            ["--quiet", "--allow-role", "BatchRole", "-e", "return 1"], environment: HostCLITests.noAWS)
        #expect(role.status == 2)
        #expect(role.stderr.contains("--allow-role"), "\(role.stderr)")
    }

    @Test func givenFlagsApplyOnTheEmulatorToo() throws {
        let script = """
            local records = {} for i = 1, 100 do records[i] = {messages = 'x'} end
            local ok, e = pcall(bedrock.batch, {model = 'amazon.nova-micro-v1:0', records = records,
                                output = 's3://batch-out/other/', role_arn = '\(Self.role)'})
            print(e.code .. ': ' .. e.message)
            """
        let r = try QuarryProcess.run(
            ["--quiet", "--allow-bucket", "batch-out/results", "--allow-role", Self.role, "-e", script],
            environment: HostCLITests.noAWS)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("PolicyViolation: bucket 'batch-out'"), "\(r.stdout)")
        #expect(r.stdout.contains("batch-out/results"), "\(r.stdout)")
    }
}
