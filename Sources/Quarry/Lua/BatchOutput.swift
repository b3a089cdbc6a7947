import BedrockBatch
import Foundation
import Synchronization

/// Where one `job:results()` entry comes from.
enum BatchOutputSlot: Sendable {
    /// A line of output object `object` (an index into `BatchOutputIndex.keys`), bytes `start..<end`.
    case line(object: Int, start: Int, end: Int)
    /// A submitted record (0-based) with no line in the output.
    case missing(record: Int)
}

/// What a job's handle keeps of its output between pages: the objects read (key and
/// size) and one slot per entry — a few integers per record, never parsed values.
struct BatchOutputIndex: Sendable {
    var keys: [String]
    var sizes: [Int]
    var slots: [BatchOutputSlot]
}

/// Reads a finished job's output for `job:results()`, bounded: one output object's
/// bytes are held at a time (at most what the host's calls in flight may hold, twice
/// the sandbox's memory), entries are located by a scan that parses nothing, and each
/// page parses only its own lines, stopping before what they would take as Lua values
/// passes what the sandbox's memory has left. Parsing every line up front held
/// gigabytes for a few hundred megabytes of output under a 64 MiB sandbox.
///
/// Host memory: the object held (at most `objectLimit`, twice the sandbox's memory) and,
/// while an object is fetched, up to three more copies of it (the transport's buffer,
/// the response body, the bytes kept), plus one page's parsed JSON and Lua values (each
/// about the page's estimate, at most what the sandbox has left), on top of the sandbox
/// and the process (~45 MB): about 4 × the object + 2 × the sandbox's memory, and the
/// allocator keeps some of it after. Measured under `--max-memory 16`: 130 MB peak for
/// one 31 MB object of Converse lines, 300 MB over eight such objects.
///
/// A line that is not JSON, or whose output holds a string longer than a Lua string
/// from the host may be, is an error entry for its record; a service
/// `errorMessage` is cut to `maxServiceText` bytes before it is scrubbed.
struct BatchOutputReader {
    let core: HostCore
    let job: BatchJob
    let context: AuditContext
    static let function = "job:results"

    /// The most bytes one output object may have: what the host's clients may hold in flight.
    var objectLimit: Int {
        min(
            BatchBindings.maxResultBytes,
            QuarryTarget.maxInFlightBytesForScripts(memoryBytes: core.policy.limits.memoryBytes))
    }

    /// The job's index, made on first use.
    func index() async throws -> BatchOutputIndex {
        if let done = job.outputIndex.withLock({ $0 }) { return done }
        let made = try await build()
        job.outputIndex.withLock { $0 = made }
        return made
    }

    /// Lists the job's `.jsonl.out` objects (every listed key checked first) and scans
    /// each once for where its lines lie.
    private func build() async throws -> BatchOutputIndex {
        let client = try core.batchClient()
        guard let output = job.output else {
            throw ScriptError(
                code: .validationError,
                message: "job:results: this job handle has no output folder (give bedrock.batch_job its 'output')")
        }
        let described = try await client.getModelInvocationJob(jobIdentifier: job.id).output
        let status = try BatchJob.checkedStatus(described, id: job.id, function: Self.function)
        guard status.isTerminal else {
            throw ScriptError(
                code: .validationError,
                message: "job:results: job \(job.id) is \(status.rawValue); wait for it first (job:wait())")
        }
        let folder = try S3URI(bucket: output.bucket, key: output.folderPrefix + job.id + "/")
        let listed = try await BatchBindings.audited(
            core, "ListObjectsV2", model: nil, context, resource: folder.uri
        ) {
            (try await list(client, folder), [], nil)
        }
        var names = listed.map(\.key).filter { Self.endsWith($0, ".jsonl.out") }
        if let input = job.input?.key.split(separator: "/").last, job.recordCount != nil {
            let wanted = folder.key + input + ".out"
            names = names.filter { $0.utf8.elementsEqual(wanted.utf8) }
        }
        // No output object at all: the job wrote nothing (stopped or failed before its
        // first record), which no entry can say. Records missing from output that exists
        // are `MissingRecord` entries instead.
        guard !names.isEmpty else {
            let why =
                status == .stopped
                ? "was stopped before it wrote any results" : "ended \(status.rawValue) without writing any results"
            throw ScriptError(
                code: "NoResults", message: "job:results: job \(job.id) \(why) (nothing under \(folder.uri))")
        }
        names.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }

        var sizes: [Int] = []
        var slots: [BatchOutputSlot] = []
        var byRecord: [BatchOutputSlot?] = Array(repeating: nil, count: job.recordCount ?? 0)
        var total = 0
        let limit = objectLimit
        for (number, key) in names.enumerated() {
            job.held.withLock { $0 = nil }  // one object at a time
            let bytes = try await fetch(folder.bucket, key, limit: limit)
            total += bytes.count
            guard total <= BatchBindings.maxResultBytes else {
                throw ScriptError(
                    code: .limitExceeded,
                    message:
                        "job:results: the job's output passes \(BatchBindings.maxResultBytes) bytes; read it in parts from S3"
                )
            }
            sizes.append(bytes.count)
            try Self.forEachLine(bytes) { start, end throws(ScriptError) in
                let slot = BatchOutputSlot.line(object: number, start: start, end: end)
                if let count = job.recordCount {
                    if let record = Self.recordIndex(bytes[start..<end]), record < count, byRecord[record] == nil {
                        byRecord[record] = slot
                    }
                } else {
                    guard slots.count < BatchBindings.maximumRecords else {
                        throw ScriptError(
                            code: .limitExceeded,
                            message:
                                "job:results: the job's output has more than \(BatchBindings.maximumRecords) lines, more than a job has records"
                        )
                    }
                    slots.append(slot)
                }
            }
            job.held.withLock { $0 = (number, bytes) }
        }
        if job.recordCount != nil {
            slots = byRecord.enumerated().map { $0.element ?? .missing(record: $0.offset) }
        }
        return BatchOutputIndex(keys: names, sizes: sizes, slots: slots)
    }

    /// The most objects a job's output folder may list: a job writes one `.jsonl.out` per
    /// input file and a manifest; a listing that goes on is refused, not held.
    static let maxListedObjects = 10_000

    /// Lists the job's folder page by page. Keys the service names are outside data:
    /// each must be a plain key inside the job's own folder (checked as each page
    /// arrives, before any object is read), and at most `maxListedObjects` are kept.
    private func list(_ client: BedrockBatchClient, _ folder: S3URI) async throws -> [S3Object] {
        var request = ListObjectsV2Request(bucket: folder.bucket, prefix: folder.key)
        var seen: Set<String> = []
        var objects: [S3Object] = []
        for _ in 0..<BedrockBatchClient.maxListPages {
            let page = try await client.listObjectsV2(request).output
            for object in page.contents {
                guard object.key.utf8.starts(with: folder.key.utf8), BatchKey.isPlain(object.key) else {
                    throw ScriptError(
                        code: "InvalidResponse",
                        message:
                            "job:results: the listing of \(folder.uri) names '\(HostPolicy.printable(object.key))', which is not a plain key inside it; nothing was read"
                    )
                }
            }
            objects += page.contents
            guard objects.count <= Self.maxListedObjects else {
                throw ScriptError(
                    code: .limitExceeded,
                    message:
                        "job:results: \(folder.uri) lists more than \(Self.maxListedObjects) objects, more than a job writes; nothing was read"
                )
            }
            guard page.isTruncated, let token = page.nextContinuationToken, !token.isEmpty else { return objects }
            guard seen.insert(token).inserted else {
                throw ScriptError(
                    code: "InvalidResponse",
                    message: "job:results: ListObjectsV2 returned the same continuation token twice")
            }
            request.continuationToken = token
        }
        throw ScriptError(
            code: .limitExceeded,
            message:
                "job:results: the listing of \(folder.uri) was still truncated after \(BedrockBatchClient.maxListPages) pages"
        )
    }

    /// One object, whole, at most `limit` bytes.
    private func fetch(_ bucket: String, _ key: String, limit: Int) async throws -> [UInt8] {
        let client = try core.batchClient()
        let object = try await BatchBindings.audited(
            core, "GetObject", model: nil, context, resource: "s3://\(bucket)/\(key)"
        ) {
            let r = try await client.getObject(bucket: bucket, key: key)
            return (r.output.body, r.attempts, r.requestId)
        }
        guard object.count <= limit else {
            throw ScriptError(
                code: .limitExceeded,
                message:
                    "job:results: s3://\(bucket)/\(HostPolicy.printable(key)) has \(object.count) bytes, more than \(limit) (twice the sandbox's memory); read it in parts from S3"
            )
        }
        return Array(object)
    }

    /// The bytes of object `number`: the one held, or read again (and checked unchanged).
    private func object(_ index: BatchOutputIndex, _ number: Int) async throws -> [UInt8] {
        if let held = job.held.withLock({ $0 }), held.object == number { return held.bytes }
        guard let output = job.output else {
            throw ScriptError(code: .validationError, message: "job:results: this job handle has no output folder")
        }
        job.held.withLock { $0 = nil }
        let bytes = try await fetch(output.bucket, index.keys[number], limit: objectLimit)
        guard bytes.count == index.sizes[number] else {
            throw ScriptError(
                code: "InvalidResponse",
                message:
                    "job:results: s3://\(output.bucket)/\(HostPolicy.printable(index.keys[number])) changed while its results were read"
            )
        }
        job.held.withLock { $0 = (number, bytes) }
        return bytes
    }

    /// The entries from `first` (1-based) on: at most `BatchBindings.resultsPage`, and
    /// no more than `budget` bytes of estimated Lua values (at least one entry, or an
    /// error naming the entry too large for what the sandbox has left).
    func page(_ index: BatchOutputIndex, first: Int, budget: Int) async throws -> ([LuaValue], Bool) {
        var out: [LuaValue] = []
        var spent = 0
        var counted = 0
        var at = first - 1
        while at < index.slots.count, out.count < BatchBindings.resultsPage {
            switch index.slots[at] {
            case .missing(let record):
                out.append(Self.missingEntry(record))
                spent += 256
                counted += 8
            case .line(let number, let start, let end):
                let bytes = try await object(index, number)
                guard end <= bytes.count else {
                    throw ScriptError(
                        code: "InvalidResponse", message: "job:results: the job's output changed while read")
                }
                let line = bytes[start..<end]
                let (cost, items) = Self.estimate(line, converse: job.converse)
                if spent + cost > budget || counted + items > Self.pageItems {
                    guard out.isEmpty else { return (out, true) }
                    if items > Self.pageItems {
                        throw ScriptError(
                            code: .limitExceeded,
                            message:
                                "job:results: entry \(at + 1) has about \(items) values, more than one page of results may carry (\(Self.pageItems)); read it from S3 instead"
                        )
                    }
                    throw ScriptError(
                        code: .limitExceeded,
                        message:
                            "job:results: entry \(at + 1) is \(line.count) bytes of JSON, about \(cost) bytes as Lua values: more than the sandbox's memory has left (\(budget) bytes); read it from S3 instead"
                    )
                }
                spent += cost
                counted += items
                do {
                    let value = try JSONParser.parse(line)
                    if line.count > Self.maxStringBytes,
                        let long = Self.oversizedString(in: value, converse: job.converse)
                    {
                        out.append(Self.tooLargeEntry(at + 1, line, bytes: long))
                    } else {
                        out.append(entry(at + 1, value))
                    }
                } catch {
                    out.append(Self.invalidLineEntry(at + 1, line, key: index.keys[number], problem: error.description))
                }
            }
            at += 1
        }
        return (out, at < index.slots.count)
    }

    /// The most table elements one page's lines may hold: what one crossing carries
    /// (`LuaConversionLimits.maxItems`), less the entries' own fields.
    static let pageItems = LuaConversionLimits().maxItems - 10 * BatchBindings.resultsPage

    // MARK: Lines

    static func endsWith(_ text: String, _ suffix: String) -> Bool {
        text.utf8.count >= suffix.utf8.count && text.utf8.suffix(suffix.utf8.count).elementsEqual(suffix.utf8)
    }

    /// Calls `body` with the bounds of each non-empty line of `bytes`.
    static func forEachLine(_ bytes: [UInt8], _ body: (Int, Int) throws(ScriptError) -> Void) throws(ScriptError) {
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            if end > start { try body(start, end) }
            start = end + 1
        }
    }

    /// What a line would take at least as Lua values: its bytes, plus a slot per value
    /// and a table per object or array (counted outside strings, without parsing).
    static func estimatedLuaBytes(_ line: ArraySlice<UInt8>) -> Int { estimate(line).bytes }

    /// What a line would take as Lua values — bytes (its own, plus a slot per value and a
    /// table per object or array) and table elements (at least as many as it has) —
    /// counted outside strings, without parsing. For a Converse job the entry also holds
    /// `text`, the output's text blocks joined: counted as the line's bytes again (no
    /// text is longer than the JSON it came from), so a page never passes the budget it
    /// was given (under-counting it let a page hit the hard memory cap).
    static func estimate(_ line: ArraySlice<UInt8>, converse: Bool = false) -> (bytes: Int, items: Int) {
        var cost = line.count + 64 + (converse ? line.count + 64 : 0)
        var items = 1
        JSONStructure.forEachByteOutsideStrings(line) { byte in
            switch byte {
            case UInt8(ascii: "\""): cost += 24
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                cost += 64
                items += 1
            case UInt8(ascii: ","):
                cost += 16
                items += 1
            case UInt8(ascii: ":"): cost += 16
            default: break
            }
            return true
        }
        return (cost, items)
    }

    /// The 0-based record a line is for: its top-level `"recordId"` when it is one of
    /// ours (`R` and 8 digits), found by a scan that skips nested values unparsed.
    static func recordIndex(_ line: ArraySlice<UInt8>) -> Int? {
        guard let id = topLevelString("recordId", in: line), id.count == 9, id.first == UInt8(ascii: "R"),
            id.dropFirst().allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let number = Int(String(decoding: id.dropFirst(), as: UTF8.self)), number >= 1
        else { return nil }
        return number - 1
    }

    /// The value of top-level member `key` of the JSON object `line`, when it is a string
    /// without escapes.
    static func topLevelString(_ key: String, in line: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        let name = Array(key.utf8)
        let end = line.endIndex
        let quote = UInt8(ascii: "\"")
        let backslash = UInt8(ascii: "\\")
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        /// The end of the string starting after `from`'s quote (index of its closing quote).
        func stringEnd(_ from: Int) -> (Int, Bool)? {
            var j = from
            var escapes = false
            while j < end {
                if line[j] == backslash {
                    escapes = true
                    j += 2
                    continue
                }
                if line[j] == quote { return (j, escapes) }
                j += 1
            }
            return nil
        }
        var depth = 0
        var keyPosition = false
        var i = line.startIndex
        while i < end {
            let byte = line[i]
            switch byte {
            case quote:
                guard let (close, escapes) = stringEnd(i + 1) else { return nil }
                if depth == 1, keyPosition, !escapes, line[(i + 1)..<close].elementsEqual(name) {
                    var k = close + 1
                    while k < end, isSpace(line[k]) { k += 1 }
                    guard k < end, line[k] == UInt8(ascii: ":") else { return nil }
                    k += 1
                    while k < end, isSpace(line[k]) { k += 1 }
                    guard k < end, line[k] == quote, let (valueEnd, valueEscapes) = stringEnd(k + 1), !valueEscapes
                    else { return nil }
                    return line[(k + 1)..<valueEnd]
                }
                keyPosition = false
                i = close + 1
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                keyPosition = byte == UInt8(ascii: "{") && depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                keyPosition = false
            case UInt8(ascii: ","):
                keyPosition = depth == 1
            default:
                if !isSpace(byte) { keyPosition = false }
            }
            i += 1
        }
        return nil
    }

    // MARK: Entries

    static func missingEntry(_ record: Int) -> LuaValue {
        let id = BatchBindings.recordId(record)
        return .map([
            "index": .integer(Int64(record + 1)), "record_id": .string(id),
            "error": .map([
                "code": .string("MissingRecord"), "message": .string("the job's output has no line for \(id)"),
            ]),
        ])
    }

    /// The entry for a line that is not JSON (bad UTF-8, nesting past the parser's
    /// limit, …): an error entry in its place, so one bad line does not end the results
    /// of every other record. Its `record_id` is the line's own when a scan finds one.
    static func invalidLineEntry(_ index: Int, _ line: ArraySlice<UInt8>, key: String, problem: String) -> LuaValue {
        var m: [String: LuaValue] = ["index": .integer(Int64(index))]
        if let record = recordIndex(line) { m["record_id"] = .string(BatchBindings.recordId(record)) }
        m["error"] = .map([
            "code": .string("InvalidLine"),
            "message": .string(
                "the job's output \(HostPolicy.printable(key)) has a line for this entry that is not JSON: \(problem)"),
        ])
        return .map(m)
    }

    /// The longest string a Lua value from the host may hold (`LuaConversionLimits`).
    static let maxStringBytes = LuaConversionLimits().maxStringBytes

    /// The length of a string an entry made from `line` would hold past `maxStringBytes`
    /// (in its output, or its joined text for a Converse job), if any. An `errorMessage`
    /// is cut (`truncated`), so it is not counted.
    static func oversizedString(in line: JSONValue, converse: Bool) -> Int? {
        func longest(_ value: JSONValue) -> Int {
            switch value {
            case .string(let s): return s.utf8.count
            case .array(let items): return items.map(longest).max() ?? 0
            case .object(let members):
                return max(members.map { $0.0.utf8.count }.max() ?? 0, members.map { longest($0.1) }.max() ?? 0)
            default: return 0
            }
        }
        guard let output = member("modelOutput", of: line) else { return nil }
        var size = longest(output)
        if converse, case .array(let blocks)? = output["output"]?["message"]?["content"] {
            size = max(size, blocks.reduce(0) { $0 + ($1["text"]?.stringValue?.utf8.count ?? 0) })
        }
        return size > maxStringBytes ? size : nil
    }

    /// The entry for a line whose values cannot cross into Lua (a string past the limit).
    static func tooLargeEntry(_ index: Int, _ line: ArraySlice<UInt8>, bytes: Int) -> LuaValue {
        var m: [String: LuaValue] = ["index": .integer(Int64(index))]
        if let record = recordIndex(line) { m["record_id"] = .string(BatchBindings.recordId(record)) }
        m["error"] = .map([
            "code": .string("EntryTooLarge"),
            "message": .string(
                "this entry's output holds a string of \(bytes) bytes, more than a Lua string from the host may hold (\(maxStringBytes)); read it from S3 instead"
            ),
        ])
        return .map(m)
    }

    /// The longest service text an entry carries (an `errorMessage`): longer text is cut
    /// to this many bytes, with `…(N bytes)` naming its length, before it is scrubbed, so
    /// a huge message neither stops the script (a Lua string has a limit) nor takes
    /// seconds to scrub.
    static let maxServiceText = 64 << 10

    /// `text` cut to `maxServiceText` bytes (on a character boundary) with its length noted.
    static func truncated(_ text: String) -> String {
        let count = text.utf8.count
        guard count > maxServiceText else { return text }
        var kept = Array(text.utf8.prefix(maxServiceText))
        while let last = kept.last, last & 0xC0 == 0x80 { kept.removeLast() }  // continuation bytes
        if let last = kept.last, last >= 0xC0 { kept.removeLast() }  // a lead byte cut from its character
        return String(decoding: kept, as: UTF8.self) + "…(\(count) bytes)"
    }

    /// The first top-level member named `key`: the one the index's scan and the Lua form
    /// of an object both take when a line repeats a key.
    static func member(_ key: String, of value: JSONValue) -> JSONValue? {
        guard case .object(let members) = value else { return nil }
        return members.first { $0.0 == key }?.1
    }

    private func entry(_ index: Int, _ line: JSONValue) -> LuaValue {
        var m: [String: LuaValue] = ["index": .integer(Int64(index))]
        if let id = Self.member("recordId", of: line)?.stringValue { m["record_id"] = .string(id) }
        if let output = Self.member("modelOutput", of: line), output != .null {
            m["output"] = LuaJSON.lua(from: output)
            if job.converse, case .array(let blocks)? = output["output"]?["message"]?["content"] {
                m["text"] = .string(blocks.compactMap { $0["text"]?.stringValue }.joined())
            }
        }
        if let error = Self.member("error", of: line), error != .null {
            var e: [String: LuaValue] = ["code": .string("RecordError")]
            if let code = error["errorCode"]?.intValue { e["status"] = .integer(Int64(code)) }
            let text =
                error["errorMessage"]?.stringValue ?? String(decoding: JSONWriter.compact.bytes(error), as: UTF8.self)
            e["message"] = .string(ServiceTextScrubber.scrub(Self.truncated(text)))
            m["error"] = .map(e)
        }
        return .map(m)
    }
}
