/// Character classes of RFC 9110/9112, as 256-entry tables so the scanners do one load per byte.
enum HTTP1Bytes {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A

    /// tchar: the bytes of a method or a field name.
    static let token: [Bool] = (0..<256).map { b in
        switch UInt8(b) {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(UInt8(b))
        }
    }

    /// Bytes allowed in a request target: visible ASCII (HAProxy refuses obs-text and controls there).
    static let target: [Bool] = (0..<256).map { b in b > 0x20 && b < 0x7F }

    /// Bytes allowed inside a field value besides SP/HTAB: VCHAR and obs-text (kept byte for byte).
    static let fieldContent: [Bool] = (0..<256).map { b in b > 0x20 && b != 0x7F }

    @inline(__always) static func isOWS(_ b: UInt8) -> Bool { b == sp || b == htab }

    @inline(__always) static func lower(_ b: UInt8) -> UInt8 {
        b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
    }

    /// Case-insensitive ASCII comparison of `bytes[range]` with a lower-case literal.
    static func equalsLowercase(_ bytes: [UInt8], _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        return literal.withUTF8Buffer { lit in
            var i = range.lowerBound
            for c in lit {
                if lower(bytes[i]) != c { return false }
                i += 1
            }
            return true
        }
    }
}
