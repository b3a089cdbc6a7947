import Foundation

/// The instant a request is signed at, in the forms SigV4 needs: `20240620T123456Z`
/// (`X-Amz-Date`), `20240620` (credential scope) and the RFC 2822 form botocore writes
/// into a `Date` header (`Thu, 20 Jun 2024 12:34:56 -0000`).
///
/// Formatting is done by hand in UTC so the result never depends on locale or time
/// zone settings; sub-second parts are dropped, as the SDKs do.
public struct SigV4Timestamp: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    public let secondsSince1970: Int64

    /// The timestamp for `date`, truncated to whole seconds.
    public init(_ date: Date) {
        secondsSince1970 = Int64(date.timeIntervalSince1970.rounded(.down))
    }

    /// The timestamp `seconds` after the Unix epoch.
    public init(secondsSince1970 seconds: Int64) {
        secondsSince1970 = seconds
    }

    /// The same instant as a `Date`.
    public var date: Date { Date(timeIntervalSince1970: TimeInterval(secondsSince1970)) }

    /// `YYYYMMDD'T'HHMMSS'Z'`, the `X-Amz-Date` form.
    public var amzDate: String {
        let c = civil
        return pad(c.year, 4) + pad(c.month, 2) + pad(c.day, 2) + "T"
            + pad(c.hour, 2) + pad(c.minute, 2) + pad(c.second, 2) + "Z"
    }

    /// `YYYYMMDD`, the date part of a credential scope.
    public var scopeDate: String { String(amzDate.prefix(8)) }

    /// RFC 2822 with a `-0000` zone, exactly as Python's `email.utils.formatdate`
    /// writes it (botocore uses this when a request already has a `Date` header).
    public var rfc2822: String {
        let c = civil
        let days = secondsSince1970 >= 0 ? secondsSince1970 / 86_400 : (secondsSince1970 - 86_399) / 86_400
        let weekday = Int(((days % 7) + 7 + 4) % 7)  // 1970-01-01 was a Thursday
        return "\(Self.weekdays[weekday]), \(pad(c.day, 2)) \(Self.months[c.month - 1]) \(pad(c.year, 4)) "
            + "\(pad(c.hour, 2)):\(pad(c.minute, 2)):\(pad(c.second, 2)) -0000"
    }

    public var description: String { amzDate }

    public static func < (lhs: SigV4Timestamp, rhs: SigV4Timestamp) -> Bool {
        lhs.secondsSince1970 < rhs.secondsSince1970
    }

    /// Parses `YYYYMMDD'T'HHMMSS'Z'`; nil when `text` is not exactly that form.
    public init?(amzDate text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for byte in bytes[range] {
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15)
        else { return nil }
        self.init(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    /// Parses an HTTP/RFC 2822 date such as `Thu, 20 Jun 2024 12:34:56 GMT` or
    /// `Thu, 20 Jun 2024 12:34:56 -0000` (numeric zones are applied); nil otherwise.
    public init?(httpDate text: String) {
        var parts = text.split(separator: " ").map(String.init)
        if let first = parts.first, first.hasSuffix(",") { parts.removeFirst() }
        guard parts.count == 5,
            let day = Int(parts[0]),
            let monthIndex = Self.months.firstIndex(of: parts[1]),
            let year = Int(parts[2])
        else { return nil }
        let clock = parts[3].split(separator: ":")
        guard clock.count == 3, let hour = Int(clock[0]), let minute = Int(clock[1]),
            let second = Int(clock[2])
        else { return nil }
        var offsetSeconds = 0
        let zone = parts[4]
        if zone == "GMT" || zone == "UT" || zone == "UTC" || zone == "Z" {
            offsetSeconds = 0
        } else if zone.count == 5, let sign = zone.first, sign == "+" || sign == "-",
            let hhmm = Int(zone.dropFirst())
        {
            offsetSeconds = (hhmm / 100 * 3600 + hhmm % 100 * 60) * (sign == "-" ? -1 : 1)
        } else {
            return nil
        }
        self.init(year: year, month: monthIndex + 1, day: day, hour: hour, minute: minute, second: second)
        self = SigV4Timestamp(secondsSince1970: secondsSince1970 - Int64(offsetSeconds))
    }

    private init?(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour),
            (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = Int64(era * 146_097 + doe - 719_468)
        secondsSince1970 = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    private var civil: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        var days = secondsSince1970 / 86_400
        var rest = secondsSince1970 % 86_400
        if rest < 0 { rest += 86_400; days -= 1 }
        // Civil from days (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yoe + era * 400) + (month <= 2 ? 1 : 0)
        return (year, month, day, Int(rest / 3600), Int(rest % 3600 / 60), Int(rest % 60))
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
}
