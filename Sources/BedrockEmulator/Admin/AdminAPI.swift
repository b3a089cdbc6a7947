import BedrockWire
import Crypto
import Foundation

/// The admin HTTP API under `/_quarry/`, for fault rules and what the emulator saw.
/// Every call but `health` needs `x-quarry-admin-token`; Bedrock credentials do not
/// reach it. Bodies with fields it does not know are refused, naming the field.
///
/// - `GET /_quarry/health` → `{"status":"ok"}`, without the token (a readiness probe
///   that says nothing else)
/// - `GET /_quarry/models` → the model catalog
/// - `POST /_quarry/faults` (a ``FaultRule`` as JSON) → `201 {"id": …}`
/// - `GET /_quarry/faults` → `{"faults": [{id, rule, hits}]}`
/// - `DELETE /_quarry/faults` clears, `DELETE /_quarry/faults/{id}` removes one
/// - `POST /_quarry/responses` (a ``ScriptedReply``) → `201 {"id": …}`; `GET` lists,
///   `DELETE` clears, `DELETE /_quarry/responses/{id}` removes one
/// - `GET /_quarry/requests` → `{"requests": […]}`, `DELETE /_quarry/requests` clears
struct AdminAPI {
    let service: EmulatorService

    static let tokenHeader = "x-quarry-admin-token"

    /// Compares the SHA-256 digests of the two tokens in constant time, so the time a
    /// wrong guess takes says nothing about how much of it was right. An empty expected
    /// token never matches.
    static func tokensMatch(_ given: String, _ expected: String) -> Bool {
        guard !expected.isEmpty else { return false }
        let a = Array(SHA256.hash(data: Data(given.utf8))), b = Array(SHA256.hash(data: Data(expected.utf8)))
        var difference: UInt8 = 0
        for i in 0..<min(a.count, b.count) { difference |= a[i] ^ b[i] }
        return difference == 0 && a.count == b.count
    }

    func handle(_ request: EmulatorRequest, segments: [String], requestID: String) -> EmulatorResponse {
        if request.method == "GET", segments == ["health"] {
            return service.json(["status": "ok"], requestID: requestID)
        }
        guard let token = request.headers.first(name: Self.tokenHeader), Self.tokensMatch(token, service.adminToken)
        else {
            return service.errorResponse(
                ServiceError(
                    name: "AccessDeniedException", status: 403,
                    message: "The admin API needs the \(Self.tokenHeader) header with the emulator's admin token."),
                requestID: requestID)
        }
        switch (request.method, segments) {
        case ("GET", ["models"]):
            let models: [JSONValue] = service.configuration.catalog.models.map {
                [
                    "modelId": .string($0.id), "modelName": .string($0.name), "providerName": .string($0.provider),
                    "family": .string($0.family.rawValue), "maxOutputTokens": .int($0.maxOutputTokens),
                    "toolUse": .bool($0.supportsToolUse), "reasoning": .bool($0.supportsReasoning),
                ]
            }
            return service.json(["models": .array(models)], requestID: requestID)
        case ("POST", ["faults"]):
            if let problem = UnknownFields.problem(
                in: (try? JSONParser.parse(Array(request.body.readableBytesView))),
                known: UnknownFields.faultRule, what: "The fault rule")
            {
                return bad(problem, requestID)
            }
            let rule: FaultRule
            do {
                rule = try JSONValueDecoder().decode(FaultRule.self, from: request.body.readableBytesView)
            } catch {
                return bad(
                    "The fault rule is not valid JSON of the documented shape: \(Self.describe(error))", requestID)
            }
            do {
                let id = try service.faults.add(rule)
                return service.json(["id": .string(id)], requestID: requestID, status: 201)
            } catch {
                return bad(error.description, requestID)
            }
        case ("GET", ["faults"]):
            let faults = service.faults.active.map { fault -> JSONValue in
                let rule = (try? JSONValueEncoder().encode(fault.rule)) ?? .null
                return ["id": .string(fault.id), "rule": rule, "hits": .int(fault.hits)]
            }
            return service.json(["faults": .array(faults)], requestID: requestID)
        case ("DELETE", ["faults"]):
            service.faults.clear()
            return service.json(["cleared": true], requestID: requestID)
        case ("DELETE", let path) where path.count == 2 && path[0] == "faults":
            guard service.faults.remove(id: path[1]) else {
                return service.errorResponse(
                    ServiceError(.resourceNotFound, "No fault rule with id \(path[1])."), requestID: requestID)
            }
            return service.json(["removed": .string(path[1])], requestID: requestID)
        case ("POST", ["responses"]):
            if let problem = UnknownFields.replyProblem(
                in: (try? JSONParser.parse(Array(request.body.readableBytesView))), what: "The scripted reply")
            {
                return bad(problem, requestID)
            }
            let reply: ScriptedReply
            do {
                reply = try JSONValueDecoder().decode(ScriptedReply.self, from: request.body.readableBytesView)
            } catch {
                return bad(
                    "The scripted reply is not valid JSON of the documented shape: \(Self.describe(error))", requestID)
            }
            do {
                return service.json(["id": .string(try service.replies.add(reply))], requestID: requestID, status: 201)
            } catch {
                return bad(error.description, requestID)
            }
        case ("GET", ["responses"]):
            let replies = service.replies.active.map { active -> JSONValue in
                let reply = (try? JSONValueEncoder().encode(active.reply)) ?? .null
                return ["id": .string(active.id), "reply": reply, "hits": .int(active.hits)]
            }
            return service.json(["responses": .array(replies)], requestID: requestID)
        case ("DELETE", ["responses"]):
            service.replies.clear()
            return service.json(["cleared": true], requestID: requestID)
        case ("DELETE", let path) where path.count == 2 && path[0] == "responses":
            guard service.replies.remove(id: path[1]) else {
                return service.errorResponse(
                    ServiceError(.resourceNotFound, "No scripted reply with id \(path[1])."), requestID: requestID)
            }
            return service.json(["removed": .string(path[1])], requestID: requestID)
        case ("GET", ["requests"]):
            // Dates as ISO-8601 text, as JSONValueEncoder writes them.
            let body = (try? JSONValueEncoder().encode(service.log.all)) ?? []
            return service.json(["requests": body], requestID: requestID)
        case ("DELETE", ["requests"]):
            service.log.clear()
            return service.json(["cleared": true], requestID: requestID)
        default:
            return service.errorResponse(
                ServiceError(
                    name: "UnknownOperationException", status: 404,
                    message: "Unknown admin call \(request.method) /_quarry/\(segments.joined(separator: "/"))"),
                requestID: requestID)
        }
    }

    private func bad(_ message: String, _ requestID: String) -> EmulatorResponse {
        service.errorResponse(.validation(message), requestID: requestID)
    }

    /// A decoding failure in the user's terms: the field's path and what it needs.
    static func describe(_ error: any Error) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0 + 1)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        func kind(_ type: Any.Type) -> String {
            switch type {
            case is String.Type: "a string"
            case is Int.Type, is Int64.Type, is UInt64.Type: "an integer"
            case is Double.Type: "a number"
            case is Bool.Type: "true or false"
            default: "\(type)".hasPrefix("Array") ? "a list" : "an object"
            }
        }
        switch error {
        case DecodingError.typeMismatch(let type, let context):
            return "\(path(context.codingPath)) must be \(kind(type))"
        case DecodingError.valueNotFound(let type, let context):
            return "\(path(context.codingPath)) must be \(kind(type)), not null"
        case DecodingError.keyNotFound(let key, let context):
            let at = path(context.codingPath)
            return "\(at.isEmpty ? "" : at + ".")\(key.stringValue) is required"
        case DecodingError.dataCorrupted(let context):
            return context.debugDescription
        default:
            return String(describing: error)
        }
    }
}
