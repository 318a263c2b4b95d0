/// Character classes of RFC 9110/9112, as 256-entry tables so the scanners do one load per byte.
enum HTTP1Bytes {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09
    static let colon: UInt8 = 0x3A

    // The classes are 256-bit sets in four 64-bit words held as literals, not global tables: a
    // global array costs a `swift_once`, a bounds check and a retain/release per byte scanned
    // (about 240 `swift_once` calls per proxied request, bench/RESULTS.md session 5).

    /// tchar: the bytes of a method or a field name.
    @inline(__always) static func isToken(_ b: UInt8) -> Bool {
        inSet(b, 0x03FF_6CFA_0000_0000, 0x57FF_FFFF_C7FF_FFFE, 0, 0)
    }

    /// Bytes allowed in a request target: visible ASCII (HAProxy refuses obs-text and controls there).
    @inline(__always) static func isTarget(_ b: UInt8) -> Bool { b > 0x20 && b < 0x7F }

    /// Bytes allowed inside a field value besides SP/HTAB: VCHAR and obs-text (kept byte for byte).
    @inline(__always) static func isFieldContent(_ b: UInt8) -> Bool { b > 0x20 && b != 0x7F }

    /// Whether bit `b` is set in the 256-bit set `w0` (bytes 0-63) ... `w3` (bytes 192-255).
    @inline(__always) private static func inSet(_ b: UInt8, _ w0: UInt64, _ w1: UInt64, _ w2: UInt64, _ w3: UInt64) -> Bool {
        let word: UInt64
        switch b >> 6 {
        case 0: word = w0
        case 1: word = w1
        case 2: word = w2
        default: word = w3
        }
        return word & (1 &<< UInt64(b & 63)) != 0
    }

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
