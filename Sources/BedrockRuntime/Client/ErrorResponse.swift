/// A non-2xx answer read into the service's error. The one reader of error bodies:
/// the request pipeline and bidirectional streams both use it.
enum ErrorResponse {
    /// Reads `response`'s body under `watchdog` (each chunk is progress), keeping at
    /// most `limit` bytes (`ResponseLimits.maxErrorBodyBytes`; the rest is discarded,
    /// not an error), and parses it with the status and headers into the service's error.
    static func read(
        _ response: IncomingResponse, watchdog: ProgressWatchdog, limit: Int, format: ServiceErrorFormat = .json
    ) async throws -> BedrockError {
        var body: [UInt8] = []
        for try await chunk in response.body {
            watchdog.touch()
            body.append(contentsOf: chunk.readableBytesView.prefix(max(0, limit - body.count)))
            if body.count >= limit { break }
        }
        switch format {
        case .json: return ServiceErrorParser.parse(status: response.status, headers: response.headers, body: body)
        case .s3XML: return ServiceErrorParser.parseS3(status: response.status, headers: response.headers, body: body)
        }
    }

    /// What a failed attempt threw, as a `BedrockError`: the transport's failures get
    /// their client codes (`ConnectionReset`, `ConnectTimeout`, ...).
    static func failure(from error: any Error) -> BedrockError {
        (TransportErrorMapper.map(error) as? BedrockError)
            ?? BedrockError(kind: .transport(.other), message: "transport error: \(error)")
    }
}
