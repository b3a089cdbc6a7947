/// Encodes Swift values into the byte format the sandbox's C core decodes and pushes
/// inside a protected call (so a memory error while pushing never unwinds through Swift).
struct LuaValueEncoder {
    private(set) var bytes: [UInt8] = []
    let limits: LuaConversionLimits

    init(limits: LuaConversionLimits = LuaConversionLimits()) {
        self.limits = limits
        bytes.reserveCapacity(64)
    }

    /// Encodes a list of values (what a function returns).
    static func encodeList(_ values: [LuaValue], limits: LuaConversionLimits = LuaConversionLimits(),
                           root: String = "value") throws(LuaConversionError) -> [UInt8] {
        var encoder = LuaValueEncoder(limits: limits)
        encoder.u64(UInt64(values.count))
        var items = 0
        for (i, v) in values.enumerated() {
            try encoder.encode(v, path: { values.count == 1 ? root : "\(root) \(i + 1)" }, depth: 0, items: &items)
        }
        return encoder.bytes
    }

    private mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { buf in
            u64(UInt64(buf.count))
            bytes.append(contentsOf: buf)
        }
    }

    /// Encodes one value. `path` names it for errors and is only evaluated when one is
    /// thrown: building a path string per element cost more than the encoding itself.
    private mutating func encode(_ value: LuaValue, path: () -> String, depth: Int,
                                 items: inout Int) throws(LuaConversionError) {
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
                throw LuaConversionError(path: path(), problem: "string of \(s.utf8.count) bytes exceeds \(limits.maxStringBytes)")
            }
            bytes.append(5); string(s)
        case .bytes(let b):
            if b.count > limits.maxStringBytes {
                throw LuaConversionError(path: path(), problem: "string of \(b.count) bytes exceeds \(limits.maxStringBytes)")
            }
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
        }
    }

    private func checkItems(_ items: Int, path: () -> String) throws(LuaConversionError) {
        if items > limits.maxItems {
            throw LuaConversionError(path: path(), problem: "more than \(limits.maxItems) table elements")
        }
    }
}
