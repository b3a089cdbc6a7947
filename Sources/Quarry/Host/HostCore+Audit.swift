import Foundation
import Synchronization

/// What the audit record of one call needs beyond its `CallRecord`: where the script
/// made it, which client settings it used, and the bodies to digest (or include).
struct AuditContext: Sendable {
    var script: String?
    var line: Int?
    var settings: ClientSettings
    var requestBody: [UInt8]?

    init(_ call: LuaHostCall, settings: ClientSettings, requestBody: [UInt8]? = nil) {
        let location = call.callerLocation
        script = location?.script
        line = location?.line
        self.settings = settings
        self.requestBody = requestBody
    }

    /// The JSON bytes of an encodable request or response (nil if it does not encode).
    static func json<T: Encodable>(_ value: T) -> [UInt8]? {
        guard let json = try? JSONValueEncoder().encode(value) else { return nil }
        return JSONWriter.compact.bytes(json)
    }
}

/// Who a client's calls go out as: never a secret.
struct AuditPrincipal: Sendable {
    var keyId: String?
    var source: String?
    var roleArn: String?

    var json: JSONValue {
        var m: [(String, JSONValue)] = []
        m.append(("key_id", keyId.map(JSONValue.string) ?? .null))
        m.append(("source", source.map(JSONValue.string) ?? .null))
        if let roleArn { m.append(("role_arn", .string(roleArn))) }
        return .object(m)
    }
}

extension HostCore {
    /// Whether calls may go out: false once the audit log failed to take a record (the
    /// host fails closed rather than make calls it cannot account for).
    func checkAuditable() throws(ScriptError) {
        if let failure = auditor?.failure {
            throw ScriptError(
                code: .auditLogFailed, message: "the audit log cannot be written, so no more calls are made: \(failure)"
            )
        }
    }

    /// Resolves (once per client settings) who calls with `settings` go out as.
    func prepareAuditPrincipal(_ settings: ClientSettings) async {
        guard auditor != nil, auditPrincipals.get(settings) == nil else { return }
        var principal = AuditPrincipal()
        let identity: CallerIdentity
        if let client = try? client(settings) {
            identity = await target.identity(using: client, profile: settings.profile)
        } else {
            identity = await target.identity(profile: settings.profile)
        }
        principal.keyId = identity.accessKeyId
        principal.source = identity.source
        // A role is named only when the profile's chain made the credentials (keys in the
        // environment win over a profile's role_arn, and then no role was assumed).
        if principal.source?.hasPrefix("profile:") == true {
            principal.roleArn = target.roleArn(profile: settings.profile)
        }
        auditPrincipals.set(settings, principal)
    }

    /// Writes the record of a finished call (success or failure). Batch operations name
    /// the `resource` they touched (`s3://bucket/key`, a job id) and the host they went to.
    func audit(
        _ record: CallRecord, _ context: AuditContext, responseBody: [UInt8]?, resource: String? = nil,
        endpointHost: String? = nil
    ) {
        guard let auditor else { return }
        var m = head(
            kind: "call", started: record.started, context: context, auditor: auditor, endpointHost: endpointHost)
        m.append(("operation", .string(record.operation)))
        if let resource { m.append(("resource", .string(resource))) }
        m.append(("model", record.model.map(JSONValue.string) ?? .null))
        m.append(
            (
                "attempts",
                .array(
                    record.attempts.map { a in
                        var entry: [(String, JSONValue)] = [
                            ("number", .integer(Int64(a.number))),
                            ("request_id", a.requestId.map(JSONValue.string) ?? .null),
                            ("outcome", .string(a.outcome.rawValue)),
                        ]
                        entry.append(("code", a.errorCode.map(JSONValue.string) ?? .null))
                        entry.append(("status", a.httpStatus.map { JSONValue.integer(Int64($0)) } ?? .null))
                        return .object(entry)
                    })
            ))
        m.append(("outcome", .string(record.errorCode ?? "success")))
        m.append(("tokens_in", record.inputTokens.map { JSONValue.integer(Int64($0)) } ?? .null))
        m.append(("tokens_out", record.outputTokens.map { JSONValue.integer(Int64($0)) } ?? .null))
        let ms =
            record.duration.components.seconds * 1000 + record.duration.components.attoseconds / 1_000_000_000_000_000
        m.append(("latency_ms", .integer(ms)))
        m.append(("policy_rule", .null))
        appendContent(&m, request: context.requestBody, response: responseBody, auditor: auditor)
        auditor.append(m)
    }

    /// Writes the record of a call the policy refused before it was sent.
    func auditRefusal(_ error: ScriptError, operation: String, model: String?, context: AuditContext) {
        guard let auditor, error.code == .policyViolation else { return }
        var m = head(kind: "refusal", started: Date(), context: context, auditor: auditor)
        m.append(("operation", .string(operation)))
        m.append(("model", model.map(JSONValue.string) ?? .null))
        m.append(("attempts", .array([])))
        m.append(("outcome", .string(error.code.rawValue)))
        m.append(("tokens_in", .null))
        m.append(("tokens_out", .null))
        m.append(("latency_ms", .integer(0)))
        m.append(("policy_rule", .string(Self.policyRule(error.message))))
        m.append(("policy_message", .string(error.message)))
        appendContent(&m, request: context.requestBody, response: nil, auditor: auditor)
        auditor.append(m)
    }

    /// The policy rule a refusal's message names.
    static func policyRule(_ message: String) -> String {
        if message.contains("call budget") { return "callBudget" }
        if message.contains("token budget") { return "tokenBudget" }
        if message.hasPrefix("model ") || message.contains("model '") { return "allowedModels" }
        if message.contains("region") { return "allowedRegions" }
        if message.contains("endpoint") { return "allowedEndpoints" }
        if message.contains("profile") { return "allowedProfiles" }
        return "policy"
    }

    private func head(
        kind: String, started: Date, context: AuditContext, auditor: AuditWriter, endpointHost: String? = nil
    ) -> [(String, JSONValue)] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let settings = context.settings
        let principal = auditPrincipals.get(settings) ?? AuditPrincipal(source: "unresolved")
        var host: JSONValue = .null
        if let endpointHost {
            host = .string(endpointHost)
        } else if let client = try? client(settings) {
            host = .string(client.configuration.endpoint.host)
        }
        return [
            ("v", .integer(1)),
            ("kind", .string(kind)),
            ("time", .string(formatter.string(from: started))),
            ("run_id", .string(auditor.runId)),
            ("script", context.script.map(JSONValue.string) ?? .null),
            ("line", context.line.map { JSONValue.integer(Int64($0)) } ?? .null),
            ("principal", principal.json),
            ("region", .string(settings.region ?? target.region)),
            ("endpoint_host", host),
        ]
    }

    private func appendContent(
        _ m: inout [(String, JSONValue)], request: [UInt8]?, response: [UInt8]?, auditor: AuditWriter
    ) {
        m.append(("content", .bool(auditor.log.includeContent)))
        m.append(("request_sha256", request.map { JSONValue.string(AuditLog.sha256Hex($0)) } ?? .null))
        m.append(("response_sha256", response.map { JSONValue.string(AuditLog.sha256Hex($0)) } ?? .null))
        if auditor.log.includeContent {
            m.append(("request", request.map { JSONValue.string(String(decoding: $0, as: UTF8.self)) } ?? .null))
            m.append(("response", response.map { JSONValue.string(String(decoding: $0, as: UTF8.self)) } ?? .null))
        }
    }
}

/// Principals resolved per client settings.
final class AuditPrincipalCache: @unchecked Sendable {
    private let lock = Mutex(())
    private var values: [ClientSettings: AuditPrincipal] = [:]
    func get(_ s: ClientSettings) -> AuditPrincipal? { lock.withLock { _ in values[s] } }
    func set(_ s: ClientSettings, _ p: AuditPrincipal) { lock.withLock { _ in values[s] = p } }
}
