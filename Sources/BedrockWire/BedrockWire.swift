/// Wire formats shared by the Bedrock client and the emulator: SigV4, the AWS
/// event-stream codec and the service's error shapes.
public enum BedrockWire {
    /// The name Bedrock Runtime signs requests with (the endpoint prefix is `bedrock-runtime`).
    public static let signingName = "bedrock"
}
