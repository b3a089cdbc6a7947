import BedrockEmulator
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The emulator's HTTP request handling, end to end: each input is written as is to a
/// fresh TCP connection to one real emulator on 127.0.0.1 (started once per process;
/// bearer token `fuzz`, so requests can get past authentication), and the answer is
/// read. The emulator must answer or close the
/// connection (no hang past its idle timeout) and keep serving: every input is
/// followed by a health probe that must get `200`.
public enum EmulatorHTTPFuzzTarget {
    static let bearerToken = "fuzz"
    static let adminToken = "fuzz-admin-token"

    /// One emulator for the process (libFuzzer runs inputs one after another), kept
    /// alive by this reference.
    static let emulator: (server: BedrockEmulator, port: Int)? = blocking {
        var configuration = EmulatorConfiguration()
        configuration.bearerTokens = [bearerToken]
        configuration.adminToken = adminToken
        // Any port: the seeds and the probe name the host without the ephemeral port.
        configuration.allowedHosts = ["127.0.0.1", "localhost"]
        configuration.latencyPerToken = .zero
        configuration.idleTimeout = .milliseconds(100)
        configuration.maxRecordedRequests = 16
        var logger = Logger(label: "fuzz.emulator")
        logger.logLevel = .critical
        let emulator = BedrockEmulator(configuration: configuration, logger: logger)
        guard let endpoint = try? await emulator.start() else { return nil }
        return (emulator, endpoint.port)
    }

    public static func fuzzOne(_ data: [UInt8]) throws(FuzzFinding) {
        guard let port = emulator?.port else { throw FuzzFinding("emulator-http", "the emulator did not start") }
        guard exchange(data, port: port) != nil else {
            throw FuzzFinding("emulator-http", "no answer and no close within 10 s")
        }
        let probe = Array(
            "GET /_quarry/health HTTP/1.1\r\nHost: 127.0.0.1\r\nx-quarry-admin-token: \(adminToken)\r\nConnection: close\r\n\r\n"
                .utf8)
        // A probe closed unanswered is tried again, up to four times over about 4 s: a
        // fuzzer at `nice 19` beside a busy machine can be descheduled past the 100 ms
        // idle timeout, which then closes the probe's connection before reading it (seen
        // twice in the campaign; the same inputs replayed alone pass). An emulator that
        // stopped serving fails every attempt.
        var answer = exchange(probe, port: port)
        for pause in [200_000, 500_000, 1_000_000, 2_000_000] as [useconds_t] where answer?.isEmpty ?? true {
            usleep(pause)
            answer = exchange(probe, port: port)
        }
        guard let answer, answer.starts(with: Array("HTTP/1.1 200".utf8)) else {
            let head = answer.map { String(lossy: Array($0.prefix(300))) } ?? "no answer within 10 s"
            throw FuzzFinding(
                "emulator-http",
                "after this input the emulator no longer answers a health probe: \(head.debugDescription)")
        }
    }

    /// Sends `bytes` and reads the answer: until the peer closes, a whole
    /// `Content-Length` answer has arrived, or 150 ms pass without more bytes after some
    /// arrived; nil when nothing arrives and the connection stays open for 10 s. (The
    /// emulator closes on a half-close, so the write side stays open: an incomplete
    /// request is closed by its idle timeout, 100 ms here, which keeps the target busy
    /// rather than waiting.)
    static func exchange(_ bytes: [UInt8], port: Int) -> [UInt8]? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 0, tv_usec: 150_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return [] }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }  // the emulator closed early (a refused head): fine
            sent += n
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var quiet = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                answer += buffer[0..<n]
                quiet = 0
                if isComplete(answer) { return answer }
                continue
            }
            if n == 0 || errno == ECONNRESET { return answer }
            if errno == EINTR { continue }
            // Timed out (150 ms).
            if !answer.isEmpty { return answer }
            quiet += 1
            if quiet > 66 { return nil }
        }
    }

    /// True when `answer` holds a head with `Content-Length` and that many body bytes.
    static func isComplete(_ answer: [UInt8]) -> Bool {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = answer.indices.dropLast(3).first(where: { answer[$0..<$0 + 4].elementsEqual(separator) }) else {
            return false
        }
        let head = String(lossy: Array(answer[..<end])).lowercased()
        guard let line = head.split(separator: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
            let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        else { return false }
        return answer.count - (end + 4) >= length
    }
}
