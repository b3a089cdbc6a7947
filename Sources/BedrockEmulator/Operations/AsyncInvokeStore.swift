import BedrockWire
import Foundation
import Synchronization

/// StartAsyncInvoke / GetAsyncInvoke / ListAsyncInvokes: jobs complete at once (the
/// emulator has no S3 to write to), with the service's shapes, idempotency tokens and
/// pagination.
///
/// Bounded: at most `capacity` jobs and about `byteCapacity` bytes are kept (the
/// oldest completed jobs are forgotten first — every emulated job completes at once);
/// a job's `outputDataConfig` may be at most ``maxOutputConfigBytes`` serialized and
/// its `clientRequestToken` at most 256 characters, as in the service. Jobs are
/// indexed by ARN and by client token, so a start never scans the store.
final class AsyncInvokeStore: Sendable {
    private struct Job {
        var arn: String
        var modelArn: String
        var token: String?
        var bodyHash: UInt64
        var submitted: Date
        var output: JSONValue
        var status: String
        var bytes: Int
    }

    private struct Store {
        var byArn: [String: Job] = [:]
        var arnByToken: [String: String] = [:]
        /// ARNs oldest first; entries before `start` are gone.
        var order: [String] = []
        var start = 0
        var bytes = 0
        var serial: UInt64 = 0
    }

    /// The largest `outputDataConfig` kept, serialized (the service's own limits —
    /// an S3 URI of 1,024 characters, a KMS key id of 2,048 — fit well within it).
    static let maxOutputConfigBytes = 8 * 1024

    /// The most jobs kept.
    let capacity: Int
    /// The most bytes (approximate) kept.
    let byteCapacity: Int
    private let store = Mutex(Store())

    init(capacity: Int = 1000, byteCapacity: Int = 16 * 1024 * 1024) {
        self.capacity = max(1, capacity)
        self.byteCapacity = max(Self.maxOutputConfigBytes * 2, byteCapacity)
    }

    /// Jobs kept now.
    var count: Int { store.withLock { $0.byArn.count } }

    private static func timestamp(_ date: Date) -> JSONValue {
        .string(ISO8601Text.formatWithFractionalSeconds(date))
    }

    func start(_ body: JSONValue, model: ModelDescriptor, region: String) throws(ServiceError) -> JSONValue {
        guard let output = body["outputDataConfig"], let uri = output["s3OutputDataConfig"]?["s3Uri"]?.stringValue
        else {
            throw .validation(
                "1 validation error detected: Value null at 'outputDataConfig' failed to satisfy constraint: Member must not be null"
            )
        }
        let outputBytes = output.serialized.count
        guard outputBytes <= Self.maxOutputConfigBytes else {
            throw .validation(
                "1 validation error detected: Value at 'outputDataConfig' failed to satisfy constraint: "
                    + "Member must have a serialized length less than or equal to \(Self.maxOutputConfigBytes) bytes (got \(outputBytes))"
            )
        }
        guard uri.hasPrefix("s3://"), uri.utf8.count <= 1024 else {
            throw .constraint(
                "outputDataConfig.s3OutputDataConfig.s3Uri", value: RequestLog.cut(uri),
                "Member must satisfy regular expression pattern: s3://[a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9](/.*)?")
        }
        guard body["modelInput"] != nil else {
            throw .validation(
                "1 validation error detected: Value null at 'modelInput' failed to satisfy constraint: Member must not be null"
            )
        }
        let token = body["clientRequestToken"]?.stringValue
        if let token, token.isEmpty || token.count > 256 {
            throw .constraint(
                "clientRequestToken", value: RequestLog.cut(token), "Member must have length between 1 and 256")
        }
        let hash = StableHash.of(body.serialized)
        let modelArn = "arn:aws:bedrock:\(region)::foundation-model/\(model.id)"
        let outcome: Result<JSONValue, ServiceError> = store.withLock { store in
            if let token, let arn = store.arnByToken[token], let existing = store.byArn[arn] {
                guard existing.bodyHash == hash else {
                    return .failure(
                        ServiceError(
                            .conflict,
                            "The request conflicts with a previous request that used the same clientRequestToken."))
                }
                return .success(["invocationArn": .string(existing.arn)])
            }
            store.serial += 1
            var rng = SeededGenerator(seed: hash ^ store.serial)
            let id = String((0..<12).map { _ in Array("abcdefghijklmnopqrstuvwxyz0123456789")[Int(rng.next() % 36)] })
            let arn = "arn:aws:bedrock:\(region):123456789012:async-invoke/\(id)"
            let bytes = 256 + arn.utf8.count + modelArn.utf8.count + (token?.utf8.count ?? 0) + outputBytes
            store.byArn[arn] = Job(
                arn: arn, modelArn: modelArn, token: token, bodyHash: hash, submitted: Date(),
                output: output, status: "Completed", bytes: bytes)
            if let token { store.arnByToken[token] = arn }
            store.order.append(arn)
            store.bytes += bytes
            while store.byArn.count > capacity || (store.bytes > byteCapacity && store.byArn.count > 1) {
                let oldest = store.order[store.start]
                store.start += 1
                guard let gone = store.byArn.removeValue(forKey: oldest) else { continue }
                store.bytes -= gone.bytes
                if let token = gone.token, store.arnByToken[token] == oldest { store.arnByToken[token] = nil }
            }
            if store.start > 64 && store.start >= store.order.count - store.start {
                store.order.removeFirst(store.start)
                store.start = 0
            }
            return .success(["invocationArn": .string(arn)])
        }
        return try outcome.get()
    }

    private func summary(_ job: Job) -> JSONValue {
        var members: [String: JSONValue] = [
            "invocationArn": .string(job.arn), "modelArn": .string(job.modelArn), "status": .string(job.status),
            "submitTime": Self.timestamp(job.submitted), "lastModifiedTime": Self.timestamp(job.submitted),
            "endTime": Self.timestamp(job.submitted), "outputDataConfig": job.output,
        ]
        if let token = job.token { members["clientRequestToken"] = .string(token) }
        return JSONValue(members)
    }

    func get(arn: String) throws(ServiceError) -> JSONValue {
        guard let job = store.withLock({ $0.byArn[arn] }) else {
            throw .validation("The specified invocation ARN \(RequestLog.cut(arn)) does not exist.")
        }
        return summary(job)
    }

    func list(query: [(String, String)]) throws(ServiceError) -> JSONValue {
        var all = store.withLock { store in store.order[store.start...].compactMap { store.byArn[$0] } }
        var maxResults = 1000
        var start = 0
        var descending = true
        for (name, value) in query {
            switch name {
            case "statusEquals":
                guard ["InProgress", "Completed", "Failed"].contains(value) else {
                    throw .constraint(
                        "statusEquals", value: value,
                        "Member must satisfy enum value set: [InProgress, Completed, Failed]")
                }
                all.removeAll { $0.status != value }
            case "maxResults":
                guard let number = Int(value), (1...1000).contains(number) else {
                    throw .constraint("maxResults", value: value, "Member must have value between 1 and 1000")
                }
                maxResults = number
            case "nextToken":
                guard let offset = Int(value), offset >= 0 else { throw .validation("The nextToken is invalid.") }
                start = offset
            case "sortOrder": descending = value != "Ascending"
            default: break
            }
        }
        if descending { all.reverse() }
        let page = Array(all.dropFirst(start).prefix(maxResults))
        var result: [String: JSONValue] = ["asyncInvokeSummaries": .array(page.map(summary))]
        if start + page.count < all.count { result["nextToken"] = .string(String(start + page.count)) }
        return JSONValue(result)
    }
}
