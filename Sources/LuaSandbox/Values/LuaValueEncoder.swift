/// Encodes Swift values into the byte format the sandbox's C core decodes and pushes
/// inside a protected call (so a memory error while pushing never unwinds through Swift).
struct LuaValueEncoder {
    private(set) var bytes: [UInt8] = []
    let limits: LuaConversionLimits

    init(limits: LuaConversionLimits = LuaConversionLimits(), reserving capacity: Int = 64) {
        self.limits = limits
        if capacity > 0 { bytes.reserveCapacity(capacity) }
    }

    /// Encodes a list of values (what a function returns).
    static func encodeList(
        _ values: [LuaValue], limits: LuaConversionLimits = LuaConversionLimits(),
        root: String = "value"
    ) throws(LuaConversionError) -> [UInt8] {
        var encoder = LuaValueEncoder(limits: limits)
        encoder.u64(UInt64(values.count))
        var items = 0
        for (i, v) in values.enumerated() {
            try encoder.encode(v, path: { values.count == 1 ? root : "\(root) \(i + 1)" }, depth: 0, items: &items)
        }
        return encoder.bytes
    }

    fileprivate mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Checks the bytes written so far against the crossing's budget.
    private func checkBudget(adding n: Int, path: () -> String) throws(LuaConversionError) {
        let (sum, overflow) = bytes.count.addingReportingOverflow(n)
        if overflow || sum > limits.maxTotalBytes {
            throw LuaConversionError.budget(path: path(), limits.maxTotalBytes)
        }
    }

    fileprivate mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { buf in
            u64(UInt64(buf.count))
            bytes.append(contentsOf: buf)
        }
    }

    /// Encodes one value. `path` names it for errors and is only evaluated when one is
    /// thrown: building a path string per element cost more than the encoding itself.
    fileprivate mutating func encode(
        _ value: LuaValue, path: () -> String, depth: Int,
        items: inout Int
    ) throws(LuaConversionError) {
        if depth > limits.maxDepth {
            throw LuaConversionError(path: path(), problem: "nested deeper than \(limits.maxDepth) levels")
        }
        switch value {
        case .nil: bytes.append(0)
        case .boolean(let b): bytes.append(b ? 2 : 1)
        case .integer(let i): bytes.append(3); u64(UInt64(bitPattern: i))
        case .number(let d):
            if limits.requireFinite && !d.isFinite {
                throw LuaConversionError(path: path(), problem: "\(d) is not a finite number")
            }
            bytes.append(4); u64(d.bitPattern)
        case .string(let s):
            if s.utf8.count > limits.maxStringBytes {
                throw LuaConversionError(
                    path: path(), problem: "string of \(s.utf8.count) bytes exceeds \(limits.maxStringBytes)")
            }
            try checkBudget(adding: s.utf8.count + 9, path: path)
            bytes.append(5); string(s)
        case .bytes(let b):
            if b.count > limits.maxStringBytes {
                throw LuaConversionError(
                    path: path(), problem: "string of \(b.count) bytes exceeds \(limits.maxStringBytes)")
            }
            try checkBudget(adding: b.count + 9, path: path)
            bytes.append(5); u64(UInt64(b.count)); bytes.append(contentsOf: b)
        case .array(let a):
            items += a.count
            try checkItems(items, path: path)
            bytes.append(6); u64(UInt64(a.count))
            for (i, v) in a.enumerated() {
                try encode(v, path: { PathComponent.append(path(), index: i + 1) }, depth: depth + 1, items: &items)
            }
        case .map(let m):
            items += m.count
            try checkItems(items, path: path)
            bytes.append(7); u64(UInt64(m.count))
            for (k, v) in m {
                bytes.append(5); string(k)
                try encode(v, path: { PathComponent.append(path(), key: k) }, depth: depth + 1, items: &items)
            }
        case .null: bytes.append(8)
        case .function(.lua(let ref)): bytes.append(9); u64(UInt64(bitPattern: Int64(ref)))
        case .function(.host(let id, let name)): bytes.append(12); u64(UInt64(bitPattern: id)); string(name)
        case .tagged(let metatable, let inner):
            guard case .map = inner else {
                throw LuaConversionError(path: path(), problem: "only tables can carry a metatable")
            }
            bytes.append(10); string(metatable)
            try encode(inner, path: path, depth: depth, items: &items)
        case .handle(let h):
            bytes.append(11); string(h.typeName); u64(UInt64(bitPattern: h.id)); string(h.label)
        case .encodedList(let list):
            if depth + list.depth > limits.maxDepth {
                throw LuaConversionError(path: path(), problem: "nested deeper than \(limits.maxDepth) levels")
            }
            items += list.count + list.items
            try checkItems(items, path: path)
            try checkBudget(adding: list.bytes.count + 9, path: path)
            if list.count == 0 {
                bytes.append(7); u64(0)
            } else {
                bytes.append(6); u64(UInt64(list.count)); bytes.append(contentsOf: list.bytes)
            }
        }
    }

    private func checkItems(_ items: Int, path: () -> String) throws(LuaConversionError) {
        if items > limits.maxItems {
            throw LuaConversionError(path: path(), problem: "more than \(limits.maxItems) table elements")
        }
    }
}

/// A sequence of values already in the sandbox's value format, made by `LuaListWriter`.
public struct LuaEncodedList: Sendable, Hashable {
    /// The encoded items, one after another.
    fileprivate(set) var bytes: [UInt8] = []
    /// How many items the sequence has.
    public fileprivate(set) var count = 0
    /// Table elements inside the items (counted against `LuaConversionLimits.maxItems`).
    fileprivate(set) var items = 0
    /// Deepest table nesting inside the items (1 for a list of flat tables).
    fileprivate(set) var depth = 0
    /// Bytes of the encoded items (what holding the list costs).
    public var byteCount: Int { bytes.count }

    /// An empty list.
    public init() {}

    /// Adds the items of `other` after these.
    public mutating func append(_ other: LuaEncodedList) {
        bytes.append(contentsOf: other.bytes)
        count += other.count
        items += other.items
        depth = max(depth, other.depth)
    }
}

/// Builds a `LuaEncodedList` item by item, so that many small tables (a stream's
/// events) are encoded where they are produced, without a dictionary per table, and
/// cross to Lua later as one `.encodedList` value.
public struct LuaListWriter: Sendable {
    private var encoder: LuaValueEncoder
    private var list = LuaEncodedList()

    /// An empty list; each item is checked against `limits` as it is added.
    public init(limits: LuaConversionLimits = LuaConversionLimits()) {
        encoder = LuaValueEncoder(limits: limits)
    }

    /// Items added so far.
    public var count: Int { list.count }
    /// Encoded bytes of the items added so far.
    public var byteCount: Int { encoder.bytes.count }

    /// Adds any value (checked against the limits).
    public mutating func append(_ value: LuaValue) throws(LuaConversionError) {
        var items = 0
        let start = encoder.bytes.count
        do {
            try encoder.encode(value, path: { "item \(list.count + 1)" }, depth: 1, items: &items)
        } catch {
            encoder.truncate(to: start)
            throw error
        }
        list.items += items
        list.depth = max(list.depth, Self.depth(of: value))
        list.count += 1
    }

    /// Adds a table with string keys, written field by field by `build`.
    public mutating func appendRecord(_ build: (inout LuaRecordWriter) -> Void) {
        // The record borrows the bytes (swapped, so they stay uniquely referenced).
        var record = LuaRecordWriter(encoder: LuaValueEncoder(limits: encoder.limits, reserving: 0))
        swap(&record.encoder, &encoder)
        record.begin()
        build(&record)
        record.end()
        swap(&record.encoder, &encoder)
        list.items += record.fields
        list.depth = max(list.depth, 1)
        list.count += 1
    }

    /// The list built so far; the writer starts again empty.
    public mutating func finish() -> LuaEncodedList {
        var done = list
        done.bytes = encoder.takeBytes()
        list = LuaEncodedList()
        return done
    }

    private static func depth(of value: LuaValue) -> Int {
        switch value {
        case .array(let a): 1 + (a.map(depth(of:)).max() ?? 0)
        case .map(let m): 1 + (m.values.map(depth(of:)).max() ?? 0)
        case .tagged(_, let inner): depth(of: inner)
        case .encodedList(let l): 1 + l.depth
        default: 0
        }
    }
}

/// Writes the fields of one table for `LuaListWriter.appendRecord`.
public struct LuaRecordWriter {
    fileprivate var encoder: LuaValueEncoder
    fileprivate var fields = 0
    private var countOffset = 0

    fileprivate init(encoder: LuaValueEncoder) { self.encoder = encoder }

    fileprivate mutating func begin() {
        encoder.appendByte(7)
        countOffset = encoder.bytes.count
        encoder.u64(0)  // patched by `end()`
    }

    fileprivate mutating func end() { encoder.patchU64(at: countOffset, UInt64(fields)) }

    private mutating func key(_ name: StaticString) {
        encoder.appendByte(5)
        encoder.u64(UInt64(name.utf8CodeUnitCount))
        encoder.appendBytes(UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        fields += 1
    }

    /// Sets `name` to a string (a Lua string holds any bytes, so nothing can fail).
    public mutating func field(_ name: StaticString, _ value: String) {
        key(name)
        encoder.appendByte(5)
        encoder.string(value)
    }

    /// Sets `name` to an integer.
    public mutating func field(_ name: StaticString, _ value: Int64) {
        key(name)
        encoder.appendByte(3)
        encoder.u64(UInt64(bitPattern: value))
    }
}

extension LuaValueEncoder {
    fileprivate mutating func appendByte(_ byte: UInt8) { bytes.append(byte) }

    fileprivate mutating func appendBytes(_ raw: UnsafeRawBufferPointer) { bytes.append(contentsOf: raw) }

    fileprivate mutating func patchU64(at offset: Int, _ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { raw in
            for i in 0..<8 { bytes[offset + i] = raw[i] }
        }
    }

    fileprivate mutating func truncate(to count: Int) { bytes.removeSubrange(count...) }

    fileprivate mutating func takeBytes() -> [UInt8] {
        let taken = bytes
        bytes = []
        return taken
    }
}
