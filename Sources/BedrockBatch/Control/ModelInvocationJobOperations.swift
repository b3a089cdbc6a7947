import BedrockRuntime
import BedrockWire
import Foundation

extension BedrockBatchClient {
    /// Starts a batch inference job (`POST /model-invocation-job`). A missing
    /// `clientRequestToken` is filled with a UUID so retries are idempotent.
    public func createModelInvocationJob(_ request: CreateModelInvocationJobRequest, options: CallOptions = .none)
        async throws -> BedrockResult<CreateModelInvocationJobResponse>
    {
        var request = request
        if request.clientRequestToken == nil { request.clientRequestToken = UUID().uuidString.lowercased() }
        let response = try await control.send(try Self.createOperation(request), options: options)
        return BedrockResult(
            output: try Self.decode(CreateModelInvocationJobResponse.self, response, operation: Self.create),
            attempts: response.attempts, requestId: response.requestId)
    }

    /// Describes one job (`GET /model-invocation-job/{jobIdentifier}`); the identifier
    /// is the job's ARN or id.
    public func getModelInvocationJob(jobIdentifier: String, options: CallOptions = .none) async throws
        -> BedrockResult<ModelInvocationJob>
    {
        let response = try await control.send(try Self.getOperation(jobIdentifier), options: options)
        return BedrockResult(
            output: try Self.decode(ModelInvocationJob.self, response, operation: Self.get),
            attempts: response.attempts, requestId: response.requestId)
    }

    /// Lists jobs, one page (`GET /model-invocation-jobs?…`).
    public func listModelInvocationJobs(
        _ request: ListModelInvocationJobsRequest = ListModelInvocationJobsRequest(), options: CallOptions = .none
    ) async throws -> BedrockResult<ListModelInvocationJobsResponse> {
        let response = try await control.send(try Self.listOperation(request), options: options)
        return BedrockResult(
            output: try Self.decode(ListModelInvocationJobsResponse.self, response, operation: Self.list),
            attempts: response.attempts, requestId: response.requestId)
    }

    /// Asks a job to stop (`POST /model-invocation-job/{jobIdentifier}/stop`).
    public func stopModelInvocationJob(jobIdentifier: String, options: CallOptions = .none) async throws
        -> BedrockResult<Void>
    {
        let response = try await control.send(try Self.stopOperation(jobIdentifier), options: options)
        return BedrockResult(output: (), attempts: response.attempts, requestId: response.requestId)
    }

    // MARK: Request building (botocore's REST-JSON bindings)

    static let create = "CreateModelInvocationJob"
    static let get = "GetModelInvocationJob"
    static let list = "ListModelInvocationJobs"
    static let stop = "StopModelInvocationJob"

    static func createOperation(_ r: CreateModelInvocationJobRequest) throws -> OperationRequest {
        try nonEmpty(r.jobName, "jobName", create)
        try nonEmpty(r.roleArn, "roleArn", create)
        try nonEmpty(r.modelId, "modelId", create)
        return try .json(name: create, path: "/model-invocation-job", input: r, excluding: [])
    }

    static func getOperation(_ identifier: String) throws -> OperationRequest {
        try nonEmpty(identifier, "jobIdentifier", get)
        return OperationRequest(
            name: get, method: .GET, path: "/model-invocation-job/\(URIEncoding.encode(identifier))")
    }

    static func stopOperation(_ identifier: String) throws -> OperationRequest {
        try nonEmpty(identifier, "jobIdentifier", stop)
        return OperationRequest(
            name: stop, method: .POST, path: "/model-invocation-job/\(URIEncoding.encode(identifier))/stop")
    }

    static func listOperation(_ r: ListModelInvocationJobsRequest) throws -> OperationRequest {
        var query: [(name: String, value: String)] = []
        func add(_ name: String, _ value: String?) {
            if let value { query.append((name, URIEncoding.encode(value))) }
        }
        add("submitTimeAfter", r.submitTimeAfter.map(ISO8601Text.format))
        add("submitTimeBefore", r.submitTimeBefore.map(ISO8601Text.format))
        add("statusEquals", r.statusEquals?.rawValue)
        add("nameContains", r.nameContains)
        if let m = r.maxResults {
            guard (1...1000).contains(m) else {
                throw BedrockError.invalidRequest("\(list): maxResults must be between 1 and 1000, got \(m)")
            }
            add("maxResults", String(m))
        }
        add("nextToken", r.nextToken)
        add("sortBy", r.sortBy)
        add("sortOrder", r.sortOrder)
        return OperationRequest(name: list, method: .GET, path: "/model-invocation-jobs", query: query)
    }

    static func nonEmpty(_ value: String, _ name: String, _ operation: String) throws {
        if value.isEmpty { throw BedrockError.invalidRequest("\(operation): \(name) must not be empty") }
    }
}
