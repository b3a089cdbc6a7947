import Foundation
import Testing

@testable import BedrockEmulator

/// Configuration file.
@Suite struct ConfigurationFileTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "emulator-config-\(UUID().uuidString).json"
        ).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("a full file is read over the defaults, keeping test/test")
    func full() throws {
        let path = try write(
            """
            {"port": 4599, "tls": true, "regions": ["eu-central-1"], "latency_per_token_ms": 3,
             "credentials": [{"access_key_id": "AKIAEXAMPLE12345678", "secret_access_key": "s3cret", "session_token": "tok"}],
             "quotas": [{"model": "amazon.nova-lite-v1:0", "requests_per_minute": 10}], "admin_token": "adm"}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try EmulatorConfiguration(contentsOfFile: path)
        #expect(configuration.port == 4599)
        #expect(configuration.tls)
        #expect(configuration.regions == ["eu-central-1"])
        #expect(configuration.latencyPerToken == .milliseconds(3))
        #expect(configuration.credentials.map(\.accessKeyID) == ["test", "AKIAEXAMPLE12345678"])
        #expect(configuration.credentials.last?.sessionToken == "tok")
        #expect(configuration.quotas == [EmulatorQuota(model: "amazon.nova-lite-v1:0", requestsPerMinute: 10)])
        #expect(configuration.adminToken == "adm")
        #expect(!"\(configuration.credentials)".contains("s3cret"))
    }

    @Test("batch settings are read and range-checked (a huge step would trap converting to a duration)")
    func batchSettings() throws {
        let path = try write(
            #"{"batch_step_seconds": 0.25, "batch_minimum_records": 3, "max_active_batch_jobs": 2, "max_stored_object_bytes": 1048576}"#
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try EmulatorConfiguration(contentsOfFile: path)
        #expect(configuration.batchStepDuration == .milliseconds(250))
        #expect(configuration.batchMinimumRecords == 3)
        #expect(configuration.maxActiveBatchJobs == 2)
        #expect(configuration.maxStoredObjectBytes == 1_048_576)
        for (bad, named) in [
            (#"{"batch_step_seconds": 1e300}"#, "batch_step_seconds"),
            (#"{"batch_step_seconds": -1}"#, "batch_step_seconds"),
            (#"{"batch_minimum_records": 0}"#, "batch_minimum_records"),
            (#"{"batch_minimum_records": 50001}"#, "batch_minimum_records"),
            (#"{"max_active_batch_jobs": 0}"#, "max_active_batch_jobs"),
            (#"{"max_stored_object_bytes": -5}"#, "max_stored_object_bytes"),
        ] {
            let badPath = try write(bad)
            defer { try? FileManager.default.removeItem(atPath: badPath) }
            #expect(throws: EmulatorConfigurationError.self) { try EmulatorConfiguration(contentsOfFile: badPath) }
            do { _ = try EmulatorConfiguration(contentsOfFile: badPath) } catch {
                #expect(error.message.contains(named), "\(bad)")
            }
        }
    }

    @Test("connection limits and allowed hosts are read and range-checked")
    func limits() throws {
        let path = try write(
            #"{"idle_timeout_seconds": 1.5, "max_connections": 16, "allowed_hosts": ["bedrock.test"], "max_buffered_body_bytes": 4194304}"#
        )
        defer { try? FileManager.default.removeItem(atPath: path) }
        let configuration = try EmulatorConfiguration(contentsOfFile: path)
        #expect(configuration.idleTimeout == .milliseconds(1500))
        #expect(configuration.maxConnections == 16)
        #expect(configuration.maxBufferedBodyBytes == 4 * 1024 * 1024)
        #expect(configuration.allowedHosts == ["bedrock.test"])
    }

    @Test(
        "bad connection limits and host names name the problem",
        arguments: [
            ("{\"idle_timeout_seconds\": 1e300}", "idle_timeout_seconds must be between"),
            ("{\"idle_timeout_seconds\": 0}", "idle_timeout_seconds must be between"),
            ("{\"max_connections\": 0}", "max_connections must be between"),
            ("{\"max_buffered_body_bytes\": 1024}", "max_buffered_body_bytes must be between"),
            ("{\"max_buffered_body_bytes\": 9223372036854775807}", "max_buffered_body_bytes must be between"),
            ("{\"allowed_hosts\": [\"a b\"]}", "allowed_hosts must be host names"),
        ])
    func invalidLimits(text: String, message: String) throws {
        let path = try write(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try EmulatorConfiguration(contentsOfFile: path)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test(
        "bad files name the problem",
        arguments: [
            ("{\"port\": 70000}", "port must be"),
            ("{\"regions\": []}", "regions must not be empty"),
            ("{\"port\": \"x\"}", "not valid"),
            ("{\"include_test_credentials\": false}", "no credentials"),
            ("{\"quotas\": [{\"requests_per_minute\": 0}]}", "requests_per_minute"),
            ("not json", "not valid"),
            ("{\"admin_token\": \"\"}", "admin_token must be a non-empty string"),
            ("{\"admin_token\": \"with space\"}", "admin_token must be a non-empty string"),
        ])
    func invalid(text: String, message: String) throws {
        let path = try write(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try EmulatorConfiguration(contentsOfFile: path)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test("a missing file is an error naming it")
    func missing() {
        do {
            _ = try EmulatorConfiguration(contentsOfFile: "/nonexistent/emulator.json")
            Issue.record("read a missing file")
        } catch {
            #expect(error.message.contains("/nonexistent/emulator.json"))
        }
    }
}
