import BedrockWire
import Foundation

/// SigV4 canonicalisation, signer and verifier. The input is a request: method, path
/// and query, header lines (`name: value`) and a body, split at NUL bytes.
/// - the verifier, given the request as sent (any `Authorization` it carries), returns
///   a typed answer (no trap);
/// - the request signed by `SigV4Signer` verifies with `SigV4Verifier`;
/// - a request that verifies re-signs, from what the verifier saw, to the same
///   signature;
/// - canonicalising a path or query twice gives what once does (idempotent), and
///   percent-decoding what `percentEncode` wrote gives back the bytes.
public enum SigV4FuzzTarget {
    static let credentials = SigV4Credentials(
        accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let signingTime = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z, the suite's date
    static let host = "bedrock-runtime.us-east-1.amazonaws.com"

    public static func fuzzOne(_ data: [UInt8]) throws(FuzzFinding) {
        let parts = fields(data, count: 4)
        let method = String(lossy: parts[0]).isEmpty ? "POST" : String(lossy: parts[0])
        let target = String(lossy: parts[1])
        let headers: [(name: String, value: String)] = String(lossy: parts[2]).split(separator: "\n").compactMap {
            (line: Substring) -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (name: String(line[..<colon]), value: String(line[line.index(after: colon)...]))
        }
        let body = parts[3]
        let verifier = SigV4Verifier(regions: ["us-east-1"], allowedClockSkew: 300) { id in
            id == credentials.accessKeyId ? credentials : nil
        }

        // The request as sent: whatever it carries, the verifier answers with a typed error or a caller.
        // The clock reads the request's own X-Amz-Date, so a seed signed at any time verifies.
        let now =
            headers.first { $0.name.lowercased() == "x-amz-date" }
            .flatMap { SigV4Timestamp(amzDate: $0.value.trimmingCharacters(in: .whitespaces))?.date } ?? signingTime
        let asSent = SigV4ReceivedRequest(
            method: method, requestTarget: target, headers: headers,
            bodySHA256: SigV4ReceivedRequest.sha256Hex(ofBody: body))
        if let verified = try? verifier.verify(asSent, now: now) {
            try resigns(verified, method: method, target: target, headers: headers, body: body)
        }

        // Idempotence of the canonical forms.
        let path = String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        _ = SigV4Canonicalization.canonicalURI(rawPath: path)
        _ = SigV4Canonicalization.crtCanonicalQuery(rawQuery: String(target.drop { $0 != "?" }.dropFirst()))
        let dotless = SigV4Canonicalization.removeDotSegments(path)
        guard SigV4Canonicalization.removeDotSegments(dotless) == dotless else {
            throw FuzzFinding("sigv4", "removeDotSegments is not idempotent on \(path.debugDescription)")
        }
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)
        let encoded = SigV4Canonicalization.percentEncode(String(lossy: body), keeping: unreserved)
        guard SigV4Canonicalization.percentDecode(encoded) == Array(String(lossy: body).utf8) else {
            throw FuzzFinding(
                "sigv4", "percentDecode(percentEncode(x)) != x for \(String(lossy: body).debugDescription)")
        }

        // Signed by the signer: must verify, and re-sign to the same signature.
        let urlString = "https://\(host)" + (target.hasPrefix("/") ? target : "/" + target)
        guard let url = try? SigV4URL(urlString) else { return }
        let request = SigV4Request(method: method, url: urlString, headers: headers, payload: .body(body))
        guard let signed = try? SigV4Signer(region: "us-east-1").sign(request, with: credentials, at: signingTime)
        else { return }
        var sent = signed.headers
        if !sent.contains(where: { $0.name.lowercased() == "host" }) { sent.append(("host", url.signingHost)) }
        let sentTarget = url.rawPath + (url.rawQuery.isEmpty ? "" : "?" + url.rawQuery)
        let received = SigV4ReceivedRequest(
            method: method, rawPath: url.rawPath, rawQuery: url.rawQuery,
            headers: sent, bodySHA256: SigV4ReceivedRequest.sha256Hex(ofBody: body))
        let verified: SigV4VerifiedRequest
        do {
            verified = try verifier.verify(received, now: signingTime)
        } catch {
            // Headers whose values the wire cannot carry (CR/LF, NUL) or names that are not
            // tokens are the caller's problem, not a disagreement.
            if sent.contains(where: { !isToken($0.name) || !wireSafe($0.value) }) || !isToken(method)
                || !wireSafe(sentTarget)
            {
                return
            }
            // A payload hash the caller declared that is not the body's is rightly refused
            // (the signer signs the declared value, as botocore does; AWS checks it).
            if let declared = sent.first(where: { $0.name.lowercased() == "x-amz-content-sha256" })?.value,
                declared.utf8.count == 64,
                declared.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0 | 0x20) }),
                declared.lowercased() != SigV4ReceivedRequest.sha256Hex(ofBody: body)
            {
                return
            }
            // A session token the key does not have is rightly refused.
            if error.errorType == "UnrecognizedClientException",
                headers.contains(where: { $0.name.lowercased() == "x-amz-security-token" })
            {
                return
            }
            throw FuzzFinding(
                "sigv4",
                "a request signed by SigV4Signer did not verify: \(error.message)\ncanonical request:\n\(signed.canonicalRequest)"
            )
        }
        guard verified.signature == signed.signature else {
            throw FuzzFinding("sigv4", "verified with a different signature than signed")
        }
        try resigns(verified, method: method, target: sentTarget, headers: sent, body: body)
    }

    /// A verified request, signed again by the signer from what the verifier saw, gets
    /// the same signature (when it matched botocore's canonicalisation, which the signer uses).
    static func resigns(
        _ verified: SigV4VerifiedRequest, method: String, target: String,
        headers: [(name: String, value: String)], body: [UInt8]
    ) throws(FuzzFinding) {
        guard verified.canonicalization == .botocore else { return }
        let signedNames = Set(verified.signedHeaders)
        // Only the headers it signed, minus what the signer sets itself.
        let kept = headers.filter {
            let name = $0.name.lowercased()
            return signedNames.contains(name) && name != "authorization"
        }
        let request = SigV4Request(
            method: method, url: "https://\(host)\(target.hasPrefix("/") ? "" : "/")\(target)",
            headers: kept,
            payload: verified.payloadHash == SigV4ReceivedRequest.sha256Hex(ofBody: body)
                ? .body(body) : .sha256Hex(verified.payloadHash))
        guard
            let again = try? SigV4Signer(region: verified.region, service: verified.service)
                .sign(request, with: credentials, at: verified.timestamp.date)
        else { return }
        // The signer signs every header it is given (bar botocore's unsigned list) and may
        // add host/x-amz-date: only a like-for-like header set is comparable.
        guard again.signedHeaders == verified.signedHeaders.joined(separator: ";") else { return }
        guard again.signature == verified.signature else {
            throw FuzzFinding(
                "sigv4", "a verified request re-signed to a different signature\n\(again.canonicalRequest)")
        }
    }

    /// True when `text` is an HTTP token (RFC 9110 `tchar`s): what a header name or a
    /// method must be. The signer is only ever given such names by the client.
    static func isToken(_ text: String) -> Bool {
        !text.isEmpty
            && text.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                    || "!#$%&'*+-.^_`|~".utf8.contains(c)
            }
    }

    /// True when `text` can travel in an HTTP/1.1 request line or header as is.
    static func wireSafe(_ text: String) -> Bool {
        !text.utf8.contains { $0 < 0x20 || $0 == 0x7F }
    }
}
