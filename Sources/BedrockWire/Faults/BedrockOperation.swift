/// The bedrock-runtime operations and the Bedrock control plane's batch inference
/// operations, named as the services name them: the one list the client, the emulator
/// and fault rules share.
public enum BedrockOperation: String, Sendable, CaseIterable, Codable {
    case converse = "Converse"
    case converseStream = "ConverseStream"
    case invokeModel = "InvokeModel"
    case invokeModelWithResponseStream = "InvokeModelWithResponseStream"
    case invokeModelWithBidirectionalStream = "InvokeModelWithBidirectionalStream"
    case countTokens = "CountTokens"
    case applyGuardrail = "ApplyGuardrail"
    case invokeGuardrailChecks = "InvokeGuardrailChecks"
    case startAsyncInvoke = "StartAsyncInvoke"
    case getAsyncInvoke = "GetAsyncInvoke"
    case listAsyncInvokes = "ListAsyncInvokes"
    // The control plane (service `bedrock`, endpoint `bedrock.{region}…`).
    case createModelInvocationJob = "CreateModelInvocationJob"
    case getModelInvocationJob = "GetModelInvocationJob"
    case listModelInvocationJobs = "ListModelInvocationJobs"
    case stopModelInvocationJob = "StopModelInvocationJob"

    /// Whether the response is an event stream (the only operations stream faults hit).
    public var isStreaming: Bool {
        self == .converseStream || self == .invokeModelWithResponseStream || self == .invokeModelWithBidirectionalStream
    }
}
