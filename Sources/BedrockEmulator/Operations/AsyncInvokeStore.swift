import BedrockWire
import Foundation
import NIOConcurrencyHelpers

/// StartAsyncInvoke / GetAsyncInvoke / ListAsyncInvokes: jobs complete at once (the
/// emulator has no S3 to write to), with the service's shapes, idempotency tokens and
/// pagination.
final class AsyncInvokeStore: Sendable {
    private struct Job {
        var arn: String
        var modelArn: String
        var token: String?
        var bodyHash: UInt64
        var submitted: Date
        var output: JSONValue
        var status: String
    }

    private let jobs = NIOLockedValueBox<[Job]>([])

    private static func timestamp(_ date: Date) -> JSONValue {
        .string(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
    }

    func start(_ body: JSONValue, model: ModelDescriptor, region: String) throws(ServiceError) -> JSONValue {
        guard let output = body["outputDataConfig"], let uri = output["s3OutputDataConfig"]?["s3Uri"]?.stringValue else {
            throw .validation("1 validation error detected: Value null at 'outputDataConfig' failed to satisfy constraint: Member must not be null")
        }
        guard uri.hasPrefix("s3://") else {
            throw .constraint("outputDataConfig.s3OutputDataConfig.s3Uri", value: uri, "Member must satisfy regular expression pattern: s3://[a-z0-9][\\.\\-a-z0-9]{1,61}[a-z0-9](/.*)?")
        }
        guard body["modelInput"] != nil else {
            throw .validation("1 validation error detected: Value null at 'modelInput' failed to satisfy constraint: Member must not be null")
        }
        let token = body["clientRequestToken"]?.stringValue
        let hash = StableHash.of(body.serialized)
        let outcome: Result<JSONValue, ServiceError> = jobs.withLockedValue { jobs in
            if let token, let existing = jobs.first(where: { $0.token == token }) {
                guard existing.bodyHash == hash else {
                    return .failure(ServiceError(.conflict, "The request conflicts with a previous request that used the same clientRequestToken."))
                }
                return .success(["invocationArn": .string(existing.arn)])
            }
            var rng = SeededGenerator(seed: hash ^ UInt64(jobs.count + 1))
            let id = String((0..<12).map { _ in Array("abcdefghijklmnopqrstuvwxyz0123456789")[Int(rng.next() % 36)] })
            let arn = "arn:aws:bedrock:\(region):123456789012:async-invoke/\(id)"
            jobs.append(Job(arn: arn, modelArn: "arn:aws:bedrock:\(region)::foundation-model/\(model.id)", token: token,
                            bodyHash: hash, submitted: Date(), output: output, status: "Completed"))
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
        return .object(members)
    }

    func get(arn: String) throws(ServiceError) -> JSONValue {
        guard let job = jobs.withLockedValue({ $0.first { $0.arn == arn } }) else {
            throw .validation("The specified invocation ARN \(arn) does not exist.")
        }
        return summary(job)
    }

    func list(query: [(String, String)]) throws(ServiceError) -> JSONValue {
        var all = jobs.withLockedValue { $0 }
        var maxResults = 1000
        var start = 0
        var descending = true
        for (name, value) in query {
            switch name {
            case "statusEquals":
                guard ["InProgress", "Completed", "Failed"].contains(value) else {
                    throw .constraint("statusEquals", value: value, "Member must satisfy enum value set: [InProgress, Completed, Failed]")
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
        return .object(result)
    }
}
