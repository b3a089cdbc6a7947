import Foundation
import NIOHTTP1

/// Reads a service error from a non-2xx answer, the way the AWS SDKs do.
///
/// The code comes from `x-amzn-ErrorType` (cut at `:`), else the body's `__type` or
/// `code`, else the HTTP status. The message is the body's `message` (or `Message`);
/// ModelError's `originalStatusCode` and `resourceName` are kept.
enum ServiceErrorParser {
    static func parse(status: Int, headers: HTTPHeaders, body: [UInt8]) -> BedrockError {
        let requestId = headers.requestId
        let json = try? JSONParser.parse(body)
        var codeName = headers.first(name: "x-amzn-ErrorType").flatMap { $0.isEmpty ? nil : $0 }
        if codeName == nil {
            codeName = json?["__type"]?.stringValue ?? json?["code"]?.stringValue ?? json?["Code"]?.stringValue
        }
        let code: ServiceErrorCode = codeName.map { ServiceErrorCode(wireName: $0) } ?? fromStatus(status)
        var message =
            json?["message"]?.stringValue ?? json?["Message"]?.stringValue ?? json?["errorMessage"]?.stringValue
        if message == nil {
            let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            message = text.isEmpty ? "HTTP \(status) with no error message" : "HTTP \(status): \(text)"
        }
        return BedrockError(
            kind: .service(code), message: message ?? "", httpStatus: status, requestId: requestId,
            originalStatusCode: json?["originalStatusCode"]?.intValue,
            resourceName: json?["resourceName"]?.stringValue)
    }

    /// Reads S3's XML error (`<Error><Code>NoSuchKey</Code><Message>…`); a body with
    /// no code (HEAD answers, proxies) gets the status's code.
    static func parseS3(status: Int, headers: HTTPHeaders, body: [UInt8]) -> BedrockError {
        let text = String(decoding: body, as: UTF8.self)
        let code = XMLElements.text(of: "Code", in: text).flatMap { $0.isEmpty ? nil : $0 }
        var message = XMLElements.text(of: "Message", in: text) ?? ""
        if message.isEmpty {
            let shown = String(text.prefix(300)).trimmingCharacters(in: .whitespacesAndNewlines)
            message = shown.isEmpty ? "HTTP \(status) with no error message" : "HTTP \(status): \(shown)"
        }
        return BedrockError(
            kind: .service(code.map { ServiceErrorCode(wireName: $0) } ?? fromStatus(status)), message: message,
            httpStatus: status, requestId: headers.requestId,
            resourceName: XMLElements.text(of: "Key", in: text) ?? XMLElements.text(of: "BucketName", in: text))
    }

    /// The code implied by a status when the answer names none.
    static func fromStatus(_ status: Int) -> ServiceErrorCode {
        switch status {
        case 403: .known(.accessDenied)
        case 404: .known(.resourceNotFound)
        case 408: .known(.modelTimeout)
        case 429: .known(.throttling)
        case 500: .known(.internalServer)
        case 503: .known(.serviceUnavailable)
        default: .unknown("HTTP\(status)")
        }
    }

    /// `x-amz-retry-after` (milliseconds) as a duration, when present and sane.
    static func retryAfter(_ headers: HTTPHeaders) -> Duration? {
        guard let text = headers.first(name: "x-amz-retry-after"),
            let ms = Int(text.trimmingCharacters(in: .whitespaces)), ms >= 0
        else {
            return nil
        }
        return .milliseconds(ms)
    }
}
