/// The one place a number from a script becomes a duration, a count or a size.
///
/// Swift traps on conversions such as `Int64(1e300)` or `Int(Double.nan)`, and a trap
/// ends the whole process, not just the script. Every script-derived number therefore
/// goes through these checks first: finite, in range, whole where it must be. A bad one
/// is a `ValidationError` naming the function and the field, e.g.
/// `sleep: 'seconds' must be a finite number between 0 and 31536000, got inf`.
public enum ScriptNumber {
    /// The longest duration a script may ask for (a year). Longer waits are not useful
    /// and would overflow clocks; a run's own deadline ends a wait much sooner anyway.
    public static let maxSeconds: Double = 31_536_000

    /// The largest count a script may give (2^53: every such integer is exact as a float).
    public static let maxCount: Int64 = 1 << 53

    /// `value` as a Double if it is a Lua number.
    static func double(_ value: LuaValue) -> Double? {
        switch value {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    /// A readable form of a bad value for error messages.
    static func show(_ value: LuaValue) -> String {
        switch value {
        case .integer(let i): return String(i)
        case .number(let d): return String(d)
        case .string(let s): return "the string \"\(s.prefix(40))\""
        default: return RequestBuilder.typeName(value)
        }
    }

    static func fail(_ function: String, _ field: String, _ wanted: String, _ value: LuaValue) -> ScriptError {
        ScriptError(code: .validationError, message: "\(function): '\(field)' must be \(wanted), got \(show(value))")
    }

    /// Seconds as a `Duration`: finite, within `minimum...maxSeconds` (`minimum` itself
    /// allowed unless `positive`), rounded to the nanosecond.
    public static func duration(
        _ value: LuaValue, function: String, field: String,
        positive: Bool = false, maximum: Double = maxSeconds
    ) throws(ScriptError) -> Duration {
        let s = try seconds(value, function: function, field: field, positive: positive, maximum: maximum)
        return durationFromCheckedSeconds(s)
    }

    /// Seconds as a Double, checked like `duration`.
    public static func seconds(
        _ value: LuaValue, function: String, field: String,
        positive: Bool = false, maximum: Double = maxSeconds
    ) throws(ScriptError) -> Double {
        let wanted =
            positive
            ? "a finite number of seconds > 0 and ≤ \(Int(maximum))"
            : "a finite number of seconds between 0 and \(Int(maximum))"
        guard let s = double(value), s.isFinite, s <= maximum, positive ? s > 0 : s >= 0 else {
            throw fail(function, field, wanted, value)
        }
        return s == 0 ? 0 : s  // -0.0 is 0
    }

    /// A Duration for seconds already known to be finite and within `0...maxSeconds`.
    static func durationFromCheckedSeconds(_ s: Double) -> Duration {
        let whole = s.rounded(.towardZero)
        let nanos = ((s - whole) * 1e9).rounded()
        return .seconds(Int64(whole)) + .nanoseconds(Int64(nanos))
    }

    /// A whole number within `range`: an integer, or a float with no fraction.
    public static func count(
        _ value: LuaValue, function: String, field: String,
        in range: ClosedRange<Int64>
    ) throws(ScriptError) -> Int {
        let wanted = "a whole number between \(range.lowerBound) and \(range.upperBound)"
        switch value {
        case .integer(let i):
            guard range.contains(i) else { throw fail(function, field, wanted, value) }
            return Int(i)
        case .number(let d):
            guard d.isFinite, d == d.rounded(), d >= Double(range.lowerBound), d <= Double(range.upperBound),
                let i = Int64(exactly: d), range.contains(i)
            else {
                throw fail(function, field, wanted, value)
            }
            return Int(i)
        default:
            throw fail(function, field, wanted, value)
        }
    }

    /// A finite number within `range`.
    public static func number(
        _ value: LuaValue, function: String, field: String,
        in range: ClosedRange<Double>
    ) throws(ScriptError) -> Double {
        guard let d = double(value), d.isFinite, range.contains(d) else {
            throw fail(function, field, "a finite number between \(range.lowerBound) and \(range.upperBound)", value)
        }
        return d == 0 ? 0 : d
    }

    /// Host configuration seconds (a policy's limit, a CLI flag) as a Duration: nil when
    /// not finite or not positive, capped at `maxSeconds`.
    public static func hostDuration(seconds: Double) -> Duration? {
        guard seconds.isFinite, seconds > 0 else { return nil }
        return durationFromCheckedSeconds(min(seconds, maxSeconds))
    }
}
