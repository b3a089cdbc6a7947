import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a headers section, checking every length against the bytes that remain.
enum HeaderParser {
    /// Every header of a section, in wire order.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<[EventStreamHeader], EventStreamDecodingError.Reason> {
        var collector = HeaderCollector()
        return walk(bytes, &collector).map { collector.headers }
    }

    /// Checks a section as `parse` does and returns where the routing headers' values
    /// lie, without making a string or an array (the decoder's path for every message).
    @inline(__always)
    static func check(_ bytes: UnsafeRawBufferPointer) -> Result<RawRoutingHeaders, EventStreamDecodingError.Reason> {
        var router = RoutingCollector()
        return walk(bytes, &router).map { router.routing }
    }

    /// Whether `bytes` are UTF-8 (ASCII is checked without making a string).
    @inline(__always)
    static func isUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let n = bytes.count
        var high: UInt64 = 0
        if n >= 8 {
            // Whole words, then one last word overlapping the tail.
            var i = 0
            while i + 8 <= n {
                high |= bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                i += 8
            }
            if i < n { high |= bytes.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) }
            high &= 0x8080_8080_8080_8080
        } else if n >= 4 {
            let word =
                bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
                | bytes.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
            high = UInt64(word & 0x8080_8080)
        } else {
            for byte in bytes { high |= UInt64(byte & 0x80) }
        }
        return high == 0 || String(validating: bytes, as: UTF8.self) != nil
    }

    /// Checks every header and shows each to `visitor`: lengths and types against the
    /// bytes that remain, names as UTF-8 and unique, string values as UTF-8.
    @inline(__always)
    private static func walk<Visitor: HeaderVisitor>(_ bytes: UnsafeRawBufferPointer, _ visitor: inout Visitor)
        -> Result<Void, EventStreamDecodingError.Reason>
    {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: NameSet.inlineCapacity) { starts in
            var names = NameSet(section: bytes, starts: starts)
            return walk(bytes, &visitor, &names)
        }
    }

    @inline(__always)
    private static func walk<Visitor: HeaderVisitor>(
        _ bytes: UnsafeRawBufferPointer, _ visitor: inout Visitor,
        _ names: inout NameSet
    )
        -> Result<Void, EventStreamDecodingError.Reason>
    {
        let end = bytes.count
        var i = 0
        while i < end {
            let nameLength = Int(bytes[i])
            let nameStart = i + 1
            guard nameLength <= end - nameStart else {
                return .failure(.headerNameOverrun(offset: i, nameLength: nameLength, remaining: end - nameStart))
            }
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[nameStart..<(nameStart + nameLength)])
            guard isUTF8(nameBytes) else { return .failure(.invalidHeaderNameUTF8(offset: i)) }
            @inline(__always) func name() -> String {
                InternedStrings.string(nameBytes) ?? String(decoding: nameBytes, as: UTF8.self)
            }
            guard names.insert(nameAt: i) else { return .failure(.duplicateHeader(headerName: name())) }
            i = nameStart + nameLength
            guard i < end else {
                return .failure(.headerValueOverrun(headerName: name(), needed: 1, remaining: 0))
            }
            let typeID = bytes[i]
            i += 1
            let size: Int
            switch typeID {
            case 0, 1: size = 0
            case 2: size = 1
            case 3: size = 2
            case 4: size = 4
            case 5, 8: size = 8
            case 9: size = 16
            case 6, 7:
                guard 2 <= end - i else {
                    return .failure(.headerValueOverrun(headerName: name(), needed: 2, remaining: end - i))
                }
                size = Int(bytes.loadUnaligned(fromByteOffset: i, as: UInt16.self).bigEndian)
                i += 2
            default:
                return .failure(.unknownHeaderType(typeID: typeID, headerName: name()))
            }
            guard size <= end - i else {
                return .failure(.headerValueOverrun(headerName: name(), needed: size, remaining: end - i))
            }
            let value = UnsafeRawBufferPointer(rebasing: bytes[i..<(i + size)])
            i += size
            if typeID == 7, !isUTF8(value) { return .failure(.invalidStringUTF8(headerName: name())) }
            visitor.visit(name: nameBytes, typeID: typeID, value: value, valueOffset: i - size)
        }
        return .success(())
    }
}

/// The names seen so far in one headers section, to refuse a repeated one: the first
/// few are kept as offsets and compared byte for byte (no allocation on the usual
/// path of two or three headers); past those, a set keeps a hostile section of
/// thousands of one-byte names linear.
struct NameSet {
    static let inlineCapacity = 16
    private let section: UnsafeRawBufferPointer
    private let starts: UnsafeMutableBufferPointer<Int>
    private var count = 0
    private var overflow: Set<[UInt8]> = []

    init(section: UnsafeRawBufferPointer, starts: UnsafeMutableBufferPointer<Int>) {
        self.section = section
        self.starts = starts
    }

    /// The name whose length byte is at `offset` (already checked to fit); false when
    /// an earlier header has the same name.
    @inline(__always)
    mutating func insert(nameAt offset: Int) -> Bool {
        let name = Self.name(in: section, at: offset)
        for k in 0..<min(count, starts.count) where Self.name(in: section, at: starts[k]).elementsEqual(name) {
            return false
        }
        if count < starts.count {
            starts[count] = offset
        } else if !overflow.insert(Array(name)).inserted {
            return false
        }
        count += 1
        return true
    }

    @inline(__always)
    private static func name(in section: UnsafeRawBufferPointer, at offset: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: section[(offset + 1)..<(offset + 1 + Int(section[offset]))])
    }
}

/// What `HeaderParser.walk` shows each checked header to.
protocol HeaderVisitor {
    /// One checked header: its name's bytes (UTF-8), wire type and value bytes, and
    /// where the value starts in the section.
    mutating func visit(name: UnsafeRawBufferPointer, typeID: UInt8, value: UnsafeRawBufferPointer, valueOffset: Int)
}

/// Builds the header array.
struct HeaderCollector: HeaderVisitor {
    var headers: [EventStreamHeader] = []

    mutating func visit(
        name nameBytes: UnsafeRawBufferPointer, typeID: UInt8, value bytes: UnsafeRawBufferPointer, valueOffset: Int
    ) {
        let value: EventStreamHeaderValue
        switch typeID {
        case 0: value = .bool(true)
        case 1: value = .bool(false)
        case 2: value = .byte(Int8(bitPattern: bytes[0]))
        case 3: value = .short(Int16(bitPattern: bytes.loadUnaligned(as: UInt16.self).bigEndian))
        case 4: value = .int(Int32(bitPattern: bytes.loadUnaligned(as: UInt32.self).bigEndian))
        case 5: value = .long(Int64(bitPattern: bytes.loadUnaligned(as: UInt64.self).bigEndian))
        case 8: value = .timestamp(milliseconds: Int64(bitPattern: bytes.loadUnaligned(as: UInt64.self).bigEndian))
        case 6: value = .bytes(Array(bytes))
        case 7: value = .string(InternedStrings.string(bytes) ?? String(decoding: bytes, as: UTF8.self))
        default:
            var uuid = UUIDBytes.zero
            withUnsafeMutableBytes(of: &uuid) { $0.copyMemory(from: bytes) }
            value = .uuid(UUID(uuid: uuid))
        }
        let name = InternedStrings.string(nameBytes) ?? String(decoding: nameBytes, as: UTF8.self)
        headers.append(EventStreamHeader(name: name, value: value))
    }
}

/// Where the values of the first `:message-type`, `:event-type`, `:exception-type` and
/// `:content-type` headers lie in their headers section, as offsets: the result depends
/// only on the section's bytes, so one result serves every section with the same bytes
/// (`HeaderSectionMemo`).
@usableFromInline
struct RawRoutingHeaders: Sendable {
    /// A value's place in the section.
    @usableFromInline
    struct Span: Sendable {
        @usableFromInline var start: UInt32 = 0
        @usableFromInline var count: UInt32 = 0
    }
    @usableFromInline var messageType = Span()
    @usableFromInline var eventType = Span()
    @usableFromInline var exceptionType = Span()
    @usableFromInline var contentType = Span()
    /// Which of the four were met (the first of each name counts) and which are strings.
    @usableFromInline var seen: UInt8 = 0
    @usableFromInline var strings: UInt8 = 0

    init() {}

    /// The bytes of one routing value (bit 1, 2, 4 or 8) in `section`, the headers
    /// section this result was found in (or one with the same bytes); nil when absent
    /// or not a string.
    @inlinable @inline(__always)
    func string(_ bit: UInt8, _ span: Span, in section: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard strings & bit != 0 else { return nil }
        let start = Int(span.start)
        return UnsafeRawBufferPointer(rebasing: section[start..<(start + Int(span.count))])
    }

    /// The text of one routing value, nil when absent or not a string.
    @inline(__always)
    func text(_ bit: UInt8, _ span: Span, in section: UnsafeRawBufferPointer) -> String? {
        guard let bytes = string(bit, span, in: section) else { return nil }
        return InternedStrings.string(bytes) ?? String(decoding: bytes, as: UTF8.self)
    }

    /// The owned form, for a message that outlives the bytes of `section`.
    func owned(in section: UnsafeRawBufferPointer) -> RoutingHeaders {
        var r = RoutingHeaders()
        r.messageType = text(1, messageType, in: section)
        r.eventType = text(2, eventType, in: section)
        r.exceptionType = text(4, exceptionType, in: section)
        r.contentType = text(8, contentType, in: section)
        return r
    }
}

/// Notes the routing headers, matching names by their bytes.
struct RoutingCollector: HeaderVisitor {
    var routing = RawRoutingHeaders()

    @inline(__always)
    mutating func visit(name: UnsafeRawBufferPointer, typeID: UInt8, value: UnsafeRawBufferPointer, valueOffset: Int) {
        guard let base = name.baseAddress else { return }
        @inline(__always) func named(_ literal: StaticString) -> Bool {
            memcmp(literal.utf8Start, base, literal.utf8CodeUnitCount) == 0
        }
        let bit: UInt8
        switch name.count {
        case 11 where named(":event-type"): bit = 2
        case 13 where named(":message-type"): bit = 1
        case 13 where named(":content-type"): bit = 8
        case 15 where named(":exception-type"): bit = 4
        default: return
        }
        guard routing.seen & bit == 0 else { return }
        routing.seen |= bit
        if typeID == 7 { routing.strings |= bit }
        // A section is at most UInt32.max bytes (its length is a UInt32 on the wire).
        let span = RawRoutingHeaders.Span(
            start: UInt32(truncatingIfNeeded: valueOffset), count: UInt32(truncatingIfNeeded: value.count))
        switch bit {
        case 1: routing.messageType = span
        case 2: routing.eventType = span
        case 4: routing.exceptionType = span
        default: routing.contentType = span
        }
    }
}

/// The last headers section a decoder checked, and what checking it found.
///
/// A stream repeats the same headers section for message after message (every text
/// delta of a ConverseStream carries the same three headers). Checking is a function of
/// the section's bytes alone (lengths, types, UTF-8, unique names, where the routing
/// values lie), so a section byte-for-byte equal to the remembered one has the same
/// result, and is compared (one `memcmp`) instead of walked. Only sections that passed
/// are remembered, up to `maxLength` bytes; anything else is walked as before.
struct HeaderSectionMemo: Sendable {
    /// Longest section remembered: Bedrock's are under 100 bytes; the bound keeps the
    /// copy and the comparison short and the memo's storage small.
    static let maxLength = 256

    /// False for a memo that remembers nothing (every section is walked).
    let isEnabled: Bool
    /// Bytes of the remembered section (0: none).
    private var length = 0
    /// The remembered section, held inline (no reference counting per comparison).
    private var storage = (SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>(), SIMD64<UInt8>())
    private var routing = RawRoutingHeaders()

    init(enabled: Bool = true) { isEnabled = enabled }

    /// The checked result for `section`, walking it only when it differs from the
    /// remembered one (then remembering it if it passes).
    @inline(__always)
    mutating func check(_ section: UnsafeRawBufferPointer) -> Result<RawRoutingHeaders, EventStreamDecodingError.Reason>
    {
        if let known = routing(for: section) { return .success(known) }
        let result = HeaderParser.check(section)
        if isEnabled, case .success(let routing) = result { remember(section, routing) }
        return result
    }

    /// The remembered result when `section` has the remembered bytes.
    @inline(__always)
    mutating func routing(for section: UnsafeRawBufferPointer) -> RawRoutingHeaders? {
        let count = section.count
        guard count == length, count > 0, let base = section.baseAddress else { return nil }
        let same = withUnsafeBytes(of: &storage) { remembered in
            guard let start = remembered.baseAddress else { return false }
            return memcmp(start, base, count) == 0
        }
        return same ? routing : nil
    }

    /// Remembers a section that passed the checks, with its result (if it is short enough).
    mutating func remember(_ section: UnsafeRawBufferPointer, _ routing: RawRoutingHeaders) {
        guard section.count > 0, section.count <= Self.maxLength else { return }
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: section) }
        length = section.count
        self.routing = routing
    }
}

/// The 16-byte tuple `UUID(uuid:)` takes.
enum UUIDBytes {
    static let zero: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

/// Header names and values every Bedrock message repeats, returned as string literals
/// (immortal, so no allocation or reference counting) instead of a new `String` each time.
enum InternedStrings {
    /// The literal equal to `bytes`, or nil when it is not one of the common ones.
    @inline(__always)
    static func string(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard let base = bytes.baseAddress else { return nil }
        @inline(__always)
        func equals(_ literal: StaticString) -> Bool {
            // Callers only compare literals of the same length as `bytes`.
            memcmp(literal.utf8Start, base, literal.utf8CodeUnitCount) == 0
        }
        switch bytes.count {
        case 5:
            if equals("event") { return "event" }
            if equals("chunk") { return "chunk" }
            if equals("error") { return "error" }
        case 8:
            if equals("metadata") { return "metadata" }
        case 9:
            if equals("exception") { return "exception" }
        case 11:
            if equals(":event-type") { return ":event-type" }
            if equals("messageStop") { return "messageStop" }
            if equals(":error-code") { return ":error-code" }
        case 12:
            if equals("messageStart") { return "messageStart" }
        case 13:
            if equals(":message-type") { return ":message-type" }
            if equals(":content-type") { return ":content-type" }
        case 14:
            if equals(":error-message") { return ":error-message" }
        case 15:
            if equals(":exception-type") { return ":exception-type" }
        case 16:
            if equals("application/json") { return "application/json" }
            if equals("contentBlockStop") { return "contentBlockStop" }
            if equals("initial-response") { return "initial-response" }
        case 17:
            if equals("contentBlockDelta") { return "contentBlockDelta" }
            if equals("contentBlockStart") { return "contentBlockStart" }
        default:
            break
        }
        return nil
    }
}

/// The string values of the first `:message-type`, `:event-type`, `:exception-type` and
/// `:content-type` headers (nil when absent or not strings), which route a message.
struct RoutingHeaders: Sendable {
    var messageType: String?
    var eventType: String?
    var exceptionType: String?
    var contentType: String?

    init() {}

    init(_ headers: [EventStreamHeader]) {
        func first(_ name: String) -> String? { headers.first { $0.name == name }?.value.stringValue }
        messageType = first(EventStreamHeaderName.messageType)
        eventType = first(EventStreamHeaderName.eventType)
        exceptionType = first(EventStreamHeaderName.exceptionType)
        contentType = first(EventStreamHeaderName.contentType)
    }
}
