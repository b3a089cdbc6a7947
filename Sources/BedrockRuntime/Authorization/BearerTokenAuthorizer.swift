import Foundation

/// Authorizes every attempt with a Bedrock API key (`Authorization: Bearer …`), as
/// botocore does when `AWS_BEARER_TOKEN_BEDROCK` is set (even when keys exist).
public struct BearerTokenAuthorizer: RequestAuthorizer {
    private let token: BearerToken

    public init(token: BearerToken) { self.token = token }

    public func authorize(_ request: inout OutgoingRequest, at date: Date) async throws {
        request.headers.remove(name: "Authorization")
        request.headers.add(name: "Authorization", value: token.authorizationHeader)
    }
}
