#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's standard output or error, written without Foundation's `FileHandle.write`,
/// which traps when the reader has gone (`quarry run x.lua | head -1`).
public enum StandardStream: Int32, Sendable {
    /// Standard output (descriptor 1).
    case output = 1
    /// Standard error (descriptor 2).
    case error = 2

    /// How a write ended.
    public enum Outcome: Sendable, Equatable {
        /// Every byte was written.
        case written
        /// The reader closed the pipe (`EPIPE`): nothing more will be read.
        case readerGone
        /// Another error (a closed descriptor, a full disk): the bytes are lost.
        case failed(errno: Int32)
    }

    /// Writes all of `bytes`, retrying after interrupts and short writes.
    @discardableResult
    public func write(_ bytes: some Collection<UInt8>) -> Outcome {
        let array = Array(bytes)
        return array.withUnsafeBytes { buffer -> Outcome in
            guard let base = buffer.baseAddress else { return .written }
            var offset = 0
            while offset < buffer.count {
                let n = systemWrite(rawValue, base + offset, buffer.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0, errno == EINTR {
                    continue
                } else if n < 0, errno == EPIPE {
                    return .readerGone
                } else {
                    return .failed(errno: n < 0 ? errno : 0)
                }
            }
            return .written
        }
    }

    /// Writes `text` as UTF-8.
    @discardableResult
    public func write(_ text: String) -> Outcome { write(Array(text.utf8)) }
}

#if canImport(Darwin)
    private let systemWrite = Darwin.write
#elseif canImport(Musl)
    private let systemWrite = Musl.write
#else
    private let systemWrite = Glibc.write
#endif
