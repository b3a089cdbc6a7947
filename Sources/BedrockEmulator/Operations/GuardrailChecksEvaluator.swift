import BedrockWire

/// InvokeGuardrailChecks with deterministic, explainable scoring, so a test can say
/// in advance what each check returns:
///
/// - **contentFilter**: per requested category, the number of that category's words
///   (`contentWords`, whole words, case-insensitive) found in all messages;
///   `severityScore = min(1, 0.4 × hits)` — 0 with no hit, 0.4 with one, 1 from three.
/// - **promptAttack**: per requested category, the number of its phrases
///   (`attackPhrases`, case-insensitive substrings) found in `USER` and `SYSTEM`
///   messages; `severityScore = 0` with none, else `min(1, 0.6 + 0.2 × (hits − 1))`.
/// - **sensitiveInformation**: shapes found by scanning each text block: `EMAIL`
///   (local@domain.tld), `PHONE` (10–15 digits, optional `+`, groups split by one
///   space, `-`, `.` or parentheses), `CREDIT_DEBIT_CARD_NUMBER` (13–19 digits that
///   pass the Luhn check), `US_SOCIAL_SECURITY_NUMBER` (`ddd-dd-dddd`), `IP_ADDRESS`
///   (dotted quad), `URL` (`http://` or `https://`), `AWS_ACCESS_KEY` (`AKIA`/`ASIA` +
///   16 upper-case letters or digits). Offsets count characters (Unicode scalars) in
///   the block's text, end exclusive. Other entity types are accepted and never found.
/// - **usage**: `textUnits = ⌈characters / 1000⌉` (at least 1) for each requested check.
struct GuardrailChecksEvaluator: Sendable {
    static let contentCategories = ["VIOLENCE", "HATE", "SEXUAL", "MISCONDUCT", "INSULTS"]
    static let attackCategories = ["JAILBREAK", "PROMPT_INJECTION", "PROMPT_LEAKAGE"]
    static let entityTypes: Set<String> = [
        "ADDRESS", "AGE", "AWS_ACCESS_KEY", "AWS_SECRET_KEY", "CA_HEALTH_NUMBER", "CA_SOCIAL_INSURANCE_NUMBER",
        "CREDIT_DEBIT_CARD_CVV", "CREDIT_DEBIT_CARD_EXPIRY", "CREDIT_DEBIT_CARD_NUMBER", "DRIVER_ID", "EMAIL",
        "INTERNATIONAL_BANK_ACCOUNT_NUMBER", "IP_ADDRESS", "LICENSE_PLATE", "MAC_ADDRESS", "NAME", "PASSWORD", "PHONE",
        "PIN", "SWIFT_CODE", "UK_NATIONAL_HEALTH_SERVICE_NUMBER", "UK_NATIONAL_INSURANCE_NUMBER",
        "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER", "URL", "USERNAME", "US_BANK_ACCOUNT_NUMBER", "US_BANK_ROUTING_NUMBER",
        "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER", "US_PASSPORT_NUMBER", "US_SOCIAL_SECURITY_NUMBER",
        "VEHICLE_IDENTIFICATION_NUMBER",
    ]

    /// The words each content-filter category counts.
    static let contentWords: [String: Set<String>] = [
        "VIOLENCE": ["kill", "murder", "bomb", "weapon", "shoot", "stab", "assault"],
        "HATE": ["hate", "inferior", "vermin", "subhuman"],
        "SEXUAL": ["sexual", "explicit", "nude", "porn"],
        "MISCONDUCT": ["steal", "hack", "fraud", "launder", "smuggle", "counterfeit"],
        "INSULTS": ["idiot", "stupid", "moron", "loser", "dumb"],
    ]

    /// The phrases each prompt-attack category counts.
    static let attackPhrases: [String: [String]] = [
        "PROMPT_INJECTION": [
            "ignore previous instructions", "ignore all previous instructions", "ignore the above",
            "disregard the above", "disregard your instructions", "new instructions:",
        ],
        "JAILBREAK": [
            "do anything now", "developer mode", "without any restrictions", "pretend you have no rules",
            "jailbreak",
        ],
        "PROMPT_LEAKAGE": [
            "system prompt", "reveal your instructions", "repeat the text above", "print your instructions",
        ],
    ]

    /// Stops listing entities after this many (and says `truncated`).
    static let maximumEntities = 100

    func invoke(body: JSONValue) throws(ServiceError) -> JSONValue {
        guard let messages = body["messages"]?.arrayValue else { throw Self.null("messages") }
        guard !messages.isEmpty else {
            throw .constraint("messages", value: "[]", "Member must have length greater than or equal to 1")
        }
        guard let checks = body["checks"], checks.objectValue != nil else { throw Self.null("checks") }

        // (role, [text per block]) per message, validated as the service's model says.
        var texts: [(role: String, blocks: [String])] = []
        for (index, message) in messages.enumerated() {
            guard let role = message["role"]?.stringValue else { throw Self.null("messages.\(index + 1).member.role") }
            guard ["USER", "ASSISTANT", "SYSTEM"].contains(role) else {
                throw .constraint(
                    "messages.\(index + 1).member.role", value: role,
                    "Member must satisfy enum value set: [USER, ASSISTANT, SYSTEM]")
            }
            guard let content = message["content"]?.arrayValue else {
                throw Self.null("messages.\(index + 1).member.content")
            }
            var blocks: [String] = []
            for (blockIndex, block) in content.enumerated() {
                guard let text = block["text"]?.stringValue else {
                    throw .validation(
                        "messages.\(index + 1).member.content.\(blockIndex + 1): a content block must set 'text' (a string)."
                    )
                }
                blocks.append(text)
            }
            texts.append((role, blocks))
        }

        let contentFilter = try categories(
            checks["contentFilter"], listKey: "categories", itemKey: "category",
            allowed: Self.contentCategories, path: "checks.contentFilter")
        let promptAttack = try categories(
            checks["promptAttack"], listKey: "categories", itemKey: "category",
            allowed: Self.attackCategories, path: "checks.promptAttack")
        let entities = try categories(
            checks["sensitiveInformation"], listKey: "entities", itemKey: "type",
            allowed: Self.entityTypes.sorted(), path: "checks.sensitiveInformation")
        guard contentFilter != nil || promptAttack != nil || entities != nil else {
            throw .validation("checks must set at least one of contentFilter, promptAttack or sensitiveInformation.")
        }

        let characters = texts.reduce(0) { $0 + $1.blocks.reduce(0) { $0 + $1.unicodeScalars.count } }
        let units: JSONValue = ["textUnits": .int(max(1, (characters + 999) / 1000))]
        var results: [String: JSONValue] = [:]
        var usage: [String: JSONValue] = [:]

        if let contentFilter {
            let words = texts.flatMap { $0.blocks.flatMap(Self.words) }
            results["contentFilter"] = [
                "results": .array(
                    contentFilter.map { category in
                        let list = Self.contentWords[category] ?? []
                        let hits = words.filter { list.contains($0) }.count
                        return ["category": .string(category), "severityScore": .double(min(1, 0.4 * Double(hits)))]
                    })
            ]
            usage["contentFilter"] = units
        }
        if let promptAttack {
            let prompts = texts.filter { $0.role != "ASSISTANT" }.flatMap { $0.blocks.map { $0.lowercased() } }
            results["promptAttack"] = [
                "results": .array(
                    promptAttack.map { category in
                        let hits = (Self.attackPhrases[category] ?? []).reduce(0) { count, phrase in
                            count + prompts.filter { $0.contains(phrase) }.count
                        }
                        let score = hits == 0 ? 0 : min(1, 0.6 + 0.2 * Double(hits - 1))
                        return ["category": .string(category), "severityScore": .double(score)]
                    })
            ]
            usage["promptAttack"] = units
        }
        if let entities {
            let wanted = Set(entities)
            var found: [JSONValue] = []
            var truncated = false
            for (messageIndex, message) in texts.enumerated() {
                for (contentIndex, text) in message.blocks.enumerated() {
                    for entity in SensitiveShapeScanner.scan(text) where wanted.contains(entity.type) {
                        guard found.count < Self.maximumEntities else { truncated = true; break }
                        found.append([
                            "type": .string(entity.type), "confidenceScore": .double(entity.confidence),
                            "beginOffset": .int(entity.begin), "endOffset": .int(entity.end),
                            "messageIndex": .int(messageIndex), "contentIndex": .int(contentIndex),
                        ])
                    }
                }
            }
            results["sensitiveInformation"] = ["results": .array(found), "truncated": .bool(truncated)]
            usage["sensitiveInformation"] = units
        }
        return ["results": JSONValue(results), "usage": JSONValue(usage)]
    }

    private static func null(_ path: String) -> ServiceError {
        .validation(
            "1 validation error detected: Value null at '\(path)' failed to satisfy constraint: Member must not be null"
        )
    }

    /// The requested names of one check (nil when the check is absent), validated.
    private func categories(
        _ config: JSONValue?, listKey: String, itemKey: String, allowed: [String],
        path: String
    ) throws(ServiceError) -> [String]? {
        guard let config, config != .null else { return nil }
        guard let list = config[listKey]?.arrayValue else { throw Self.null("\(path).\(listKey)") }
        var names: [String] = []
        for (index, item) in list.enumerated() {
            guard let name = item[itemKey]?.stringValue else {
                throw Self.null("\(path).\(listKey).\(index + 1).member.\(itemKey)")
            }
            guard allowed.contains(name) else {
                throw .constraint(
                    "\(path).\(listKey).\(index + 1).member.\(itemKey)", value: name,
                    "Member must satisfy enum value set: [\(allowed.joined(separator: ", "))]")
            }
            if !names.contains(name) { names.append(name) }
        }
        return names
    }

    /// Lower-cased words (letters and digits) of a text.
    static func words(_ text: String) -> [String] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)
    }
}

/// Finds the shapes of sensitive data in a text by scanning its Unicode scalars once
/// per shape (linear in the text's length).
enum SensitiveShapeScanner {
    struct Entity: Equatable {
        let type: String
        let confidence: Double
        let begin: Int
        let end: Int
    }

    static func scan(_ text: String) -> [Entity] {
        let scalars = Array(text.unicodeScalars)
        var found = emails(scalars) + urls(scalars) + numbers(scalars) + accessKeys(scalars)
        found.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        return found
    }

    private static func isASCIIAlnum(_ s: Unicode.Scalar) -> Bool {
        (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9")
    }

    private static func isDigit(_ s: Unicode.Scalar) -> Bool { s >= "0" && s <= "9" }

    static func emails(_ s: [Unicode.Scalar]) -> [Entity] {
        var out: [Entity] = []
        var index = 0
        while index < s.count {
            defer { index += 1 }
            guard s[index] == "@" else { continue }
            var start = index
            while start > 0, isASCIIAlnum(s[start - 1]) || "._%+-".unicodeScalars.contains(s[start - 1]) { start -= 1 }
            var end = index + 1
            while end < s.count, isASCIIAlnum(s[end]) || s[end] == "." || s[end] == "-" { end += 1 }
            while end > index + 1, s[end - 1] == "." || s[end - 1] == "-" { end -= 1 }
            let domain = s[(index + 1)..<end]
            guard start < index, let dot = domain.lastIndex(of: "."), dot > index + 1,
                end - dot - 1 >= 2,
                s[(dot + 1)..<end].allSatisfy({ ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") })
            else { continue }
            out.append(Entity(type: "EMAIL", confidence: 0.99, begin: start, end: end))
            index = end - 1
        }
        return out
    }

    static func urls(_ s: [Unicode.Scalar]) -> [Entity] {
        var out: [Entity] = []
        var index = 0
        let prefixes = [Array("https://".unicodeScalars), Array("http://".unicodeScalars)]
        while index < s.count {
            guard
                let prefix = prefixes.first(where: { p in
                    index + p.count <= s.count && Array(s[index..<(index + p.count)]) == p
                })
            else {
                index += 1
                continue
            }
            var end = index + prefix.count
            while end < s.count, !s[end].properties.isWhitespace, !"\"'<>)".unicodeScalars.contains(s[end]) { end += 1 }
            while end > index + prefix.count, ".,;:!?".unicodeScalars.contains(s[end - 1]) { end -= 1 }
            if end > index + prefix.count { out.append(Entity(type: "URL", confidence: 0.95, begin: index, end: end)) }
            index = max(end, index + 1)
        }
        return out
    }

    static func accessKeys(_ s: [Unicode.Scalar]) -> [Entity] {
        var out: [Entity] = []
        guard s.count >= 20 else { return out }
        var index = 0
        while index + 20 <= s.count {
            let head = String(String.UnicodeScalarView(s[index..<(index + 4)]))
            let boundaryBefore = index == 0 || !isASCIIAlnum(s[index - 1])
            let boundaryAfter = index + 20 == s.count || !isASCIIAlnum(s[index + 20])
            if boundaryBefore, boundaryAfter, head == "AKIA" || head == "ASIA",
                s[(index + 4)..<(index + 20)].allSatisfy({ ($0 >= "A" && $0 <= "Z") || isDigit($0) })
            {
                out.append(Entity(type: "AWS_ACCESS_KEY", confidence: 0.99, begin: index, end: index + 20))
                index += 20
            } else {
                index += 1
            }
        }
        return out
    }

    /// Runs of digits joined by single separators, classified by their shape.
    static func numbers(_ s: [Unicode.Scalar]) -> [Entity] {
        var out: [Entity] = []
        var index = 0
        while index < s.count {
            let startsRun =
                isDigit(s[index])
                || ((s[index] == "+" || s[index] == "(") && index + 1 < s.count && isDigit(s[index + 1]))
            guard startsRun, index == 0 || !(isASCIIAlnum(s[index - 1]) || s[index - 1] == ".") else {
                index += 1; continue
            }
            var end = index + 1
            while end < s.count {
                if isDigit(s[end]) { end += 1; continue }
                // One separator between digits (")" may be followed by a space: "(555) 123").
                let separator = s[end]
                guard " -.()".unicodeScalars.contains(separator) else { break }
                var next = end + 1
                if separator == ")", next < s.count, s[next] == " " { next += 1 }
                if separator != "(", separator != ")", next + 1 < s.count, s[next] == "(" { next += 1 }  // "+1 (555)"
                guard next < s.count, isDigit(s[next]) else { break }
                end = next
            }
            let run = Array(s[index..<end])
            if let entity = classify(run, begin: index) { out.append(entity) }
            index = end
        }
        return out
    }

    private static func classify(_ run: [Unicode.Scalar], begin: Int) -> Entity? {
        let text = String(String.UnicodeScalarView(run))
        let digits = run.filter(isDigit).map { Int($0.value - 48) }
        let groups = text.split(separator: ".", omittingEmptySubsequences: false)
        if groups.count == 4,
            groups.allSatisfy({
                !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) && Int($0).map { $0 <= 255 } ?? false
            })
        {
            return Entity(type: "IP_ADDRESS", confidence: 0.9, begin: begin, end: begin + run.count)
        }
        let dashed = text.split(separator: "-", omittingEmptySubsequences: false).map(\.count)
        if dashed == [3, 2, 4], digits.count == 9 {
            return Entity(type: "US_SOCIAL_SECURITY_NUMBER", confidence: 0.95, begin: begin, end: begin + run.count)
        }
        if (13...19).contains(digits.count), run.first != "+", luhn(digits) {
            return Entity(type: "CREDIT_DEBIT_CARD_NUMBER", confidence: 0.99, begin: begin, end: begin + run.count)
        }
        if (10...15).contains(digits.count) {
            return Entity(type: "PHONE", confidence: 0.9, begin: begin, end: begin + run.count)
        }
        return nil
    }

    /// The Luhn checksum card numbers carry.
    static func luhn(_ digits: [Int]) -> Bool {
        var sum = 0
        for (offset, digit) in digits.reversed().enumerated() {
            if offset % 2 == 1 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return sum % 10 == 0
    }
}
