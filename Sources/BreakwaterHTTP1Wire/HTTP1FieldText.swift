/// Lossless text for header bytes that must pass through `String`-based APIs (NIOHTTP1 parts,
/// ACLs, rules, logs) and come back out byte for byte.
///
/// Valid UTF-8 (all ASCII, the common case) is kept as it is, so config values and HTTP/2 headers
/// round-trip unchanged. Bytes that are not valid UTF-8 (Latin-1 obs-text such as a
/// `Content-Disposition` filename) become one private-use scalar each, U+10FF80…U+10FFFF, which
/// `wireBytes` turns back into the original byte. (The only text that cannot round-trip is a
/// client's own UTF-8 spelling of those 128 private-use scalars — none in practice.)
public enum HTTP1FieldText {
    static let escapeBase: UInt32 = 0x10FF00

    /// The hot path (every header of an HTTP/1 head): concrete, so the caller in another module
    /// does not run the generic version unspecialised (measured under callgrind: ~130,000
    /// instructions per proxied request for ~12 fields, half of all the proxy's work).
    public static func string(_ bytes: ArraySlice<UInt8>) -> String {
        bytes.withUnsafeBufferPointer { string($0) }
    }

    public static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var ascii = true
        for b in bytes where b >= 0x80 {
            ascii = false
            break
        }
        if ascii { return String(decoding: bytes, as: UTF8.self) }
        return escaped(bytes)
    }

    public static func string<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        return escaped(bytes)
    }

    private static func escaped<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        if let valid = String(validating: bytes, as: UTF8.self) { return valid }
        var scalars = String.UnicodeScalarView()
        for b in bytes {
            scalars.append(Unicode.Scalar(b < 0x80 ? UInt32(b) : escapeBase + UInt32(b))!)
        }
        return String(scalars)
    }

    /// The wire bytes of `text`, or nil when it holds no escaped byte (then its UTF-8 is the wire form).
    public static func wireBytes(_ text: String) -> [UInt8]? {
        // An escape scalar is encoded F4 8F BE/BF xx: no 0xF4 byte, no escape.
        guard text.utf8.contains(0xF4) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var escaped = false
        for scalar in text.unicodeScalars {
            if scalar.value >= escapeBase + 0x80 && scalar.value <= escapeBase + 0xFF {
                out.append(UInt8(scalar.value - escapeBase))
                escaped = true
            } else {
                out.append(contentsOf: String(scalar).utf8)
            }
        }
        return escaped ? out : nil
    }
}
