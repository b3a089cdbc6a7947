import BedrockWire
import Foundation
import Testing

/// Chained event-stream signatures: a known answer computed independently (Python's
/// hmac/hashlib), and the signer and verifier run against each other.
@Suite struct SigV4EventSigningTests {
    static let credentials = SigV4Credentials(
        accessKeyId: "AKIDEXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let seed = "44db740f62cf5a833f9a344728b6ce953aa87d61ec1769fe2b161b38f118d1b1"
    static let eventTime = Date(timeIntervalSince1970: 1_718_886_896.789)  // 2024-06-20T12:34:56.789Z

    @Test func signaturesMatchAnIndependentComputation() {
        var signer = SigV4EventSigner(credentials: Self.credentials, region: "us-east-1", seedSignature: Self.seed)
        let first = signer.sign(payload: Array("hello".utf8), at: Self.eventTime)
        #expect(first.dateMilliseconds == 1_718_886_896_789)
        #expect(first.signatureHex == "90e08caa2692ba41edc2e56cd65d8c3d51e386aa22f04f047e1a7b471405385b")
        let end = signer.sign(payload: [UInt8](), at: Self.eventTime)
        #expect(end.signatureHex == "255edf9691f0cc0c292b4b352f4a2c28438890ae34ec02bd7f867e268382c2f2")
        #expect(signer.priorSignature == end.signatureHex)
    }

    /// A request signed for event payloads, verified, then its events checked in order.
    func verifiedStream() throws -> (SigV4SignedRequest, SigV4EventVerifier) {
        let url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/invoke-with-bidirectional-stream"
        let signed = try SigV4Signer(region: "us-east-1").sign(
            SigV4Request(
                method: "POST", url: url, headers: [("Content-Type", "application/vnd.amazon.eventstream")],
                payload: .signedEvents),
            with: Self.credentials, at: Self.eventTime)
        let request = SigV4ReceivedRequest(
            method: "POST", requestTarget: "/model/m/invoke-with-bidirectional-stream",
            headers: [("host", "bedrock-runtime.us-east-1.amazonaws.com")] + signed.headers,
            bodySHA256: nil)
        let verifier = SigV4Verifier { $0 == "AKIDEXAMPLE" ? Self.credentials : nil }
        let verified = try verifier.verify(request, now: Self.eventTime)
        #expect(verified.hasSignedEventPayload)
        #expect(verified.signature == signed.signature)
        return (signed, verified.eventVerifier())
    }

    @Test func verifierAcceptsAChainInOrder() throws {
        let (signed, start) = try verifiedStream()
        var verifier = start
        var signer = SigV4EventSigner(
            credentials: Self.credentials, region: "us-east-1", seedSignature: signed.signature)
        let payloads: [[UInt8]] = [Array("one".utf8), Array(repeating: 0xAB, count: 4096), Array("three".utf8), []]
        for (index, payload) in payloads.enumerated() {
            let time = Self.eventTime.addingTimeInterval(Double(index))
            let signature = signer.sign(payload: payload, at: time)
            try verifier.verify(
                payload: payload, dateMilliseconds: signature.dateMilliseconds,
                signature: signature.signature, now: time)
        }
        #expect(verifier.priorSignature == signer.priorSignature)
    }

    @Test func tamperedReorderedOrStaleEventsAreRejected() throws {
        let (signed, start) = try verifiedStream()
        var signer = SigV4EventSigner(
            credentials: Self.credentials, region: "us-east-1", seedSignature: signed.signature)
        let first = signer.sign(payload: Array("one".utf8), at: Self.eventTime)
        let second = signer.sign(payload: Array("two".utf8), at: Self.eventTime)

        var tampered = start
        let error = #expect(throws: SigV4VerificationError.self) {
            try tampered.verify(
                payload: Array("ONE".utf8), dateMilliseconds: first.dateMilliseconds,
                signature: first.signature, now: Self.eventTime)
        }
        #expect(error?.kind == .invalidSignature)

        var reordered = start
        #expect(throws: SigV4VerificationError.self) {
            try reordered.verify(
                payload: Array("two".utf8), dateMilliseconds: second.dateMilliseconds,
                signature: second.signature, now: Self.eventTime)
        }

        var redated = start
        #expect(throws: SigV4VerificationError.self) {
            try redated.verify(
                payload: Array("one".utf8), dateMilliseconds: first.dateMilliseconds + 1,
                signature: first.signature, now: Self.eventTime)
        }

        var stale = start
        let staleError = #expect(throws: SigV4VerificationError.self) {
            try stale.verify(
                payload: Array("one".utf8), dateMilliseconds: first.dateMilliseconds,
                signature: first.signature, now: Self.eventTime.addingTimeInterval(600))
        }
        #expect(staleError?.kind == .signatureExpired)
        // A failure does not advance the chain: the right event still verifies.
        try stale.verify(
            payload: Array("one".utf8), dateMilliseconds: first.dateMilliseconds,
            signature: first.signature, now: Self.eventTime)
    }
}
