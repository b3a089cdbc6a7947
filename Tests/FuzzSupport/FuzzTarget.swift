import Foundation

/// A property a fuzz target checks that did not hold for one input. The libFuzzer
/// executables abort on it (so libFuzzer saves the input); the replay tests fail on it.
public struct FuzzFinding: Error, CustomStringConvertible, Sendable {
    /// Which target found it.
    public var target: String
    /// What did not hold.
    public var description: String

    public init(_ target: String, _ description: String) {
        self.target = target
        self.description = description
    }
}

/// One fuzz target: a name (the `scripts/fuzz` argument, the corpus folder under
/// `Tests/FuzzCorpora/`) and the function every input goes through. A crash or a
/// sanitizer report inside `fuzzOne` is a finding too.
public struct FuzzTarget: Sendable {
    public let name: String
    public let fuzzOne: @Sendable ([UInt8]) throws(FuzzFinding) -> Void

    public init(name: String, fuzzOne: @escaping @Sendable ([UInt8]) throws(FuzzFinding) -> Void) {
        self.name = name
        self.fuzzOne = fuzzOne
    }

    /// Every target, in the order `scripts/fuzz` runs them.
    public static let all: [FuzzTarget] = [
        FuzzTarget(name: "eventstream", fuzzOne: EventStreamFuzzTarget.fuzzOne),
        FuzzTarget(name: "json", fuzzOne: JSONFuzzTarget.fuzzOne),
        FuzzTarget(name: "sigv4", fuzzOne: SigV4FuzzTarget.fuzzOne),
        FuzzTarget(name: "emulator-http", fuzzOne: EmulatorHTTPFuzzTarget.fuzzOne),
        FuzzTarget(name: "admin-api", fuzzOne: AdminAPIFuzzTarget.fuzzOne),
        FuzzTarget(name: "shared-config", fuzzOne: SharedConfigFuzzTarget.fuzzOne),
        FuzzTarget(name: "credential-process", fuzzOne: CredentialProcessFuzzTarget.fuzzOne),
        FuzzTarget(name: "sts-xml", fuzzOne: STSXMLFuzzTarget.fuzzOne),
        FuzzTarget(name: "lua-bindings", fuzzOne: LuaBindingsFuzzTarget.fuzzOne),
    ]

    /// The target called `name`, if any.
    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

/// What the libFuzzer executables call for each input: runs the target and aborts
/// with the finding on stderr when a property fails.
public enum FuzzEntry {
    public static func run(_ name: String, _ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
        guard let target = FuzzTarget.named(name) else {
            FileHandle.standardError.write(Data("no fuzz target named \(name)\n".utf8))
            abort()
        }
        let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
        do {
            try target.fuzzOne(bytes)
        } catch {
            FileHandle.standardError.write(Data("\(target.name) fuzz finding: \(error.description)\n".utf8))
            abort()
        }
        return 0
    }
}

/// Runs an async body to completion from a synchronous caller (libFuzzer's thread or a
/// test), for the targets whose parsers are async.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        box.value = await body()
        done.signal()
    }
    done.wait()
    // The semaphore orders the write before this read.
    return box.value!
}

private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// Splits fuzz bytes into fields at a separator byte, so one input can drive a
/// structured call (method, path, headers…); missing fields are empty.
func fields(_ data: [UInt8], separator: UInt8 = 0, count: Int) -> [[UInt8]] {
    var parts = data.split(separator: separator, maxSplits: count - 1, omittingEmptySubsequences: false).map(Array.init)
    while parts.count < count { parts.append([]) }
    return parts
}

extension String {
    /// The bytes as text, invalid UTF-8 replaced (what a server reading the bytes sees).
    init(lossy bytes: [UInt8]) { self = String(decoding: bytes, as: UTF8.self) }
}
