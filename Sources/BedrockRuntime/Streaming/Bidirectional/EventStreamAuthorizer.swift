import BedrockWire
import Foundation
import NIOHTTP1

/// An authorizer that can also authorize a request whose body is a stream of signed
/// events (InvokeModelWithBidirectionalStream).
///
/// SigV4 signs the request with `X-Amz-Content-SHA256: STREAMING-AWS4-HMAC-SHA256-EVENTS`
/// and returns the signer that chains every event's signature from the request's;
/// a bearer token authorizes the request alone, and its events go unsigned.
public protocol EventStreamRequestAuthorizer: RequestAuthorizer {
    /// Authorizes `request` for an event-stream body sent at `date`; returns the signer
    /// for its events, or nil when events are sent unsigned.
    func authorizeEventStream(_ request: inout OutgoingRequest, at date: Date) async throws -> SigV4EventSigner?
}

extension SigV4Authorizer: EventStreamRequestAuthorizer {
    public func authorizeEventStream(_ request: inout OutgoingRequest, at date: Date) async throws -> SigV4EventSigner?
    {
        let (creds, signature) = try await sign(&request, payload: .signedEvents, at: date)
        return SigV4EventSigner(
            credentials: creds, region: signer.region, service: signer.service,
            seedSignature: signature)
    }
}

extension BearerTokenAuthorizer: EventStreamRequestAuthorizer {
    public func authorizeEventStream(_ request: inout OutgoingRequest, at date: Date) async throws -> SigV4EventSigner?
    {
        try await authorize(&request, at: date)
        return nil
    }
}

extension UnsignedAuthorizer: EventStreamRequestAuthorizer {
    public func authorizeEventStream(_ request: inout OutgoingRequest, at date: Date) async throws -> SigV4EventSigner?
    {
        nil
    }
}

extension BedrockAuthorizer: EventStreamRequestAuthorizer {
    public func authorizeEventStream(_ request: inout OutgoingRequest, at date: Date) async throws -> SigV4EventSigner?
    {
        if let bearerToken {
            return try await BearerTokenAuthorizer(token: bearerToken).authorizeEventStream(&request, at: date)
        }
        return try await SigV4Authorizer(region: region, provider: credentials).authorizeEventStream(&request, at: date)
    }
}
