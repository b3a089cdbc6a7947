import Foundation
import Testing

@testable import BedrockRuntime

/// A host name that does not resolve is said in words ("cannot resolve host X"), not as
/// NIO's `SocketAddressError.UnknownHost: … (error -2) …` text, and stays a transport
/// failure (the host's `ConnectionError`). NIO makes that error only from a real lookup,
/// which would leave the machine (the resolver is not on loopback): the errors here
/// carry its exact text, bare and wrapped as NIO's connection errors wrap it.
@Suite struct DNSFailureWordingTests {
    static let nioText =
        "SocketAddressError.UnknownHost: Name or service not known (error -2) for host s3.us-east-1.amazonaws.com, port 443"

    @Test func unknownHostNamesTheHost() throws {
        let errors: [any Error] = [
            TextError(description: Self.nioText),
            TextError(
                description:
                    "NIOConnectionError(host: \"s3.us-east-1.amazonaws.com\", port: 443, dnsAError: Optional(\(Self.nioText)))"
            ),
        ]
        for error in errors {
            let mapped = try #require(TransportErrorMapper.map(error) as? BedrockError)
            #expect(mapped.kind == .transport(.dnsFailure))
            #expect(mapped.message == "cannot resolve host s3.us-east-1.amazonaws.com", "\(mapped.message)")
        }
    }

    struct TextError: Error, CustomStringConvertible { let description: String }
}
