import Foundation

/// The auth branch's authorizer plugs into the client's signing seam: a bearer
/// token when one is configured, else SigV4 with the authorizer's credentials.
extension BedrockAuthorizer: RequestAuthorizer {
    public func authorize(_ request: inout OutgoingRequest, at date: Date) async throws {
        if let bearerToken {
            try await BearerTokenAuthorizer(token: bearerToken).authorize(&request, at: date)
        } else {
            try await SigV4Authorizer(region: region, provider: credentials).authorize(&request, at: date)
        }
    }
}
