import BedrockWire
import Foundation
import Quarry

/// Reads `quarry batch submit --records FILE`: one JSON request per non-blank line.
///
/// Bounded before anything is parsed: the file is at most `maxBytes` and is read once
/// (no copy per line, no list of every line); blank lines are recognised on bytes; each
/// line's values are counted by a scan outside strings that parses nothing, and the
/// whole file may hold at most `maxItems` values (what one crossing into the host
/// carries), so a file the crossing would refuse fails before it is parsed. Reading holds
/// the file's bytes, then each line's parsed JSON and its Lua form (which share their
/// strings): about twice the file plus ~200 bytes per counted value. Measured: 255 MiB
/// of newlines peaks at 290 MB; a 254 MiB file of 50,000 records at 1.2 GB for the whole
/// command, as before this reader (the rest is the records crossing into the sandbox
/// and the JSONL made from them).
/// Splitting the whole file into line slices first and parsing every line took 4.5 GB for
/// 255 MiB of newlines and over 8 GB for one 266 MB array line.
struct RecordsFile {
    let path: String
    /// The most non-blank lines (records).
    let maxRecords: Int
    /// The largest file read.
    let maxBytes: Int
    /// The most JSON values (table elements) all records may hold together.
    let maxItems: Int

    /// The records as one Lua array, or an error naming the file, line and problem.
    func read() throws -> LuaValue {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw BatchInputError("cannot read records file '\(path)': no such file")
        }
        if isDirectory.boolValue { throw BatchInputError("cannot read records file '\(path)': it is a directory") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maxBytes else {
            throw BatchInputError(
                "records file '\(path)' is larger than \(maxBytes >> 20) MiB; split it into several jobs")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatchInputError("cannot read records file '\(path)'\(ScriptSource.reason(path))")
        }
        guard data.count <= maxBytes else {
            throw BatchInputError(
                "records file '\(path)' is larger than \(maxBytes >> 20) MiB; split it into several jobs")
        }
        return try records(in: data)
    }

    /// The records in `data` (already read, within `maxBytes`), as `read()` gives them.
    func records(in data: Data) throws -> LuaValue {
        try data.withUnsafeBytes { raw in try records(raw) }
    }

    private func records(_ raw: UnsafeRawBufferPointer) throws -> LuaValue {
        var records: [LuaValue] = []
        var items = 0
        var lineNumber = 0
        var start = 0
        let newline = UInt8(ascii: "\n")
        while start <= raw.count {
            var end = start
            while end < raw.count, raw[end] != newline { end += 1 }
            lineNumber += 1
            let line = UnsafeRawBufferPointer(rebasing: raw[start..<end])
            start = end + 1
            guard !Self.isBlank(line) else { continue }
            guard records.count < maxRecords else {
                throw BatchInputError(
                    "records file '\(path)' has more than \(maxRecords) records, the most one batch inference job takes; split it into several jobs"
                )
            }
            items += JSONStructure.valueCount(line, stoppingAfter: maxItems - items)
            guard items <= maxItems else {
                throw BatchInputError(
                    "records file '\(path)' holds more than \(maxItems) JSON values in all (passed at line \(lineNumber)), more than one job's records may carry; split it into several jobs"
                )
            }
            do {
                records.append(LuaJSON.lua(from: try JSONParser.parse(line)))
            } catch {
                throw BatchInputError("records file '\(path)' line \(lineNumber) is not JSON: \(error.description)")
            }
        }
        return .array(records)
    }

    /// Whether `line` holds only JSON whitespace (space, tab, carriage return).
    static func isBlank(_ line: UnsafeRawBufferPointer) -> Bool {
        line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
    }
}
