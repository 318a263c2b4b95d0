/// Parsers for the value formats of spec CFG-4 (integers, times, sizes, octal modes).
enum ValueParsers {
    static let maxTimeMs = 2_147_483_647

    static func isDigits(_ s: Substring) -> Bool { !s.isEmpty && s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }
    static func isDigits(_ s: String) -> Bool { isDigits(Substring(s)) }

    /// `<digits>[us|ms|s|m|h|d]`, bare = milliseconds. Returns milliseconds.
    static func time(_ s: String, keyword: String) throws -> Int {
        guard !s.isEmpty else { throw ConfigError("'\(keyword)' expects a time value") }
        let digits = s.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty else {
            throw ConfigError("unexpected character '\(s.first!)' in '\(keyword)'")
        }
        let unit = s.dropFirst(digits.count)
        let factors: [(String, UInt64, UInt64)] = [
            ("", 1, 1), ("us", 1, 1000), ("ms", 1, 1), ("s", 1000, 1), ("m", 60_000, 1),
            ("h", 3_600_000, 1), ("d", 86_400_000, 1),
        ]
        guard let (_, mul, div) = factors.first(where: { $0.0 == unit }) else {
            // Point at the first character that cannot belong to a unit.
            var bad = unit.first!
            for (u, _, _) in factors where !u.isEmpty && unit.hasPrefix(u) && unit.count > u.count {
                bad = unit[unit.index(unit.startIndex, offsetBy: u.count)]
            }
            throw ConfigError("unexpected character '\(bad)' in '\(keyword)'")
        }
        let overflow = ConfigError("timer overflow in argument '\(s)' to '\(keyword)' (maximum value is 2147483647 ms or ~24.8 days)")
        guard let v = UInt64(digits) else { throw overflow }
        let (prod, o) = v.multipliedReportingOverflow(by: mul)
        if o { throw overflow }
        let ms = prod / div
        if ms > UInt64(maxTimeMs) { throw overflow }
        if v != 0 && ms == 0 {
            throw ConfigError("timer underflow in argument '\(s)' to '\(keyword)' (minimum non-null value is 1 ms)")
        }
        return Int(ms)
    }

    /// `<digits>[k|K|m|M|g|G]`, factors of 1024; must fit in 32 bits unsigned.
    static func size(_ s: String, keyword: String) throws -> Int {
        let digits = s.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty else {
            if let c = s.first { throw ConfigError("unexpected character '\(c)' in argument of '\(keyword)'") }
            throw ConfigError("'\(keyword)' expects a size value")
        }
        let suffix = s.dropFirst(digits.count)
        var mul: UInt64 = 1
        switch suffix {
        case "": mul = 1
        case "k", "K": mul = 1 << 10
        case "m", "M": mul = 1 << 20
        case "g", "G": mul = 1 << 30
        default: throw ConfigError("unexpected character '\(suffix.count == 1 ? suffix.first! : suffix.dropFirst().first!)' in argument of '\(keyword)'")
        }
        guard let v = UInt64(digits) else { throw ConfigError("value '\(s)' too large for '\(keyword)'") }
        let (r, o) = v.multipliedReportingOverflow(by: mul)
        if o || r > UInt64(UInt32.max) { throw ConfigError("value '\(s)' too large for '\(keyword)' (must fit in 32 bits)") }
        return Int(r)
    }

    /// A decimal integer within `range` (no sign unless the range allows negatives).
    static func integer(_ s: String?, keyword: String, range: ClosedRange<Int>) throws -> Int {
        guard let s, !s.isEmpty else { throw ConfigError("'\(keyword)' expects an integer argument") }
        let body = s.hasPrefix("-") && range.lowerBound < 0 ? s.dropFirst() : Substring(s)
        guard isDigits(body), let v = Int(s) else {
            if s.hasPrefix("-"), isDigits(s.dropFirst()) {
                throw ConfigError("'\(keyword)' value must be between \(range.lowerBound) and \(range.upperBound), got '\(s)'")
            }
            throw ConfigError("'\(keyword)' expects an integer argument, got '\(s)'")
        }
        guard range.contains(v) else {
            throw ConfigError("'\(keyword)' value must be between \(range.lowerBound) and \(range.upperBound), got '\(s)'")
        }
        return v
    }

    /// Octal permission bits (`stats socket ... mode 600`).
    static func octal(_ s: String, keyword: String) throws -> UInt32 {
        guard !s.isEmpty, s.utf8.allSatisfy({ $0 >= 48 && $0 <= 55 }), let v = UInt32(s, radix: 8), v <= 0o7777 else {
            throw ConfigError("'\(keyword)' expects an octal mode (e.g. 600), got '\(s)'")
        }
        return v
    }
}
