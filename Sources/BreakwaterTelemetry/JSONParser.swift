/// A strict RFC 8259 parser from bytes into `JSONValue`. It replaces Foundation's `JSONDecoder` on the ingest path,
/// whose `Codable` route into an untyped value threw and caught an error for nearly every value (bool, then number,
/// then string...): the largest cost per record in the ingest profile.
struct JSONParser {
    struct Failure: Error {
        var message: String
    }

    static let maxDepth = 64

    private let bytes: [UInt8]
    private var pos = 0
    private var depth = 0

    private init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The one JSON value `bytes` holds (whitespace around it allowed), or what is wrong and at which byte.
    static func parse(_ bytes: [UInt8]) throws(Failure) -> JSONValue {
        var p = JSONParser(bytes)
        p.skipWhitespace()
        let v = try p.value()
        p.skipWhitespace()
        guard p.pos == bytes.count else { throw p.failure("unexpected data after the JSON value") }
        return v
    }

    private func failure(_ what: String) -> Failure {
        Failure(message: "\(what) at byte \(pos)")
    }

    private mutating func skipWhitespace() {
        while pos < bytes.count, bytes[pos] == 0x20 || bytes[pos] == 0x0A || bytes[pos] == 0x0D || bytes[pos] == 0x09 { pos += 1 }
    }

    private mutating func value() throws(Failure) -> JSONValue {
        guard pos < bytes.count else { throw failure("unexpected end of data") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw failure("unexpected character '\(Unicode.Scalar(bytes[pos]).escaped(asASCII: true))'")
        }
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let n = word.utf8CodeUnitCount
        guard bytes.count - pos >= n else { throw failure("unexpected end of data in '\(word)'") }
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: n)
        for i in 0..<n where bytes[pos + i] != expected[i] { throw failure("invalid literal (expected '\(word)')") }
        pos += n
    }

    private mutating func enter() throws(Failure) {
        depth += 1
        guard depth <= Self.maxDepth else { throw failure("JSON nested deeper than \(Self.maxDepth) levels") }
    }

    private mutating func object() throws(Failure) -> JSONValue {
        try enter()
        pos += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw failure("expected a member name in quotes") }
            let key = try string()
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw failure("expected ':' after a member name") }
            pos += 1
            skipWhitespace()
            members[key] = try value()
            skipWhitespace()
            guard pos < bytes.count else { throw failure("unexpected end of data in an object") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            guard bytes[pos] == UInt8(ascii: "}") else { throw failure("expected ',' or '}' in an object") }
            pos += 1
            depth -= 1
            return .object(members)
        }
    }

    private mutating func array() throws(Failure) -> JSONValue {
        try enter()
        pos += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try value())
            skipWhitespace()
            guard pos < bytes.count else { throw failure("unexpected end of data in an array") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            guard bytes[pos] == UInt8(ascii: "]") else { throw failure("expected ',' or ']' in an array") }
            pos += 1
            depth -= 1
            return .array(items)
        }
    }

    /// A string from its opening quote; escapes decoded, UTF-8 validated.
    private mutating func string() throws(Failure) -> String {
        pos += 1
        let start = pos
        // Fast path: no escape before the closing quote.
        while pos < bytes.count, bytes[pos] != UInt8(ascii: "\""), bytes[pos] != UInt8(ascii: "\\"), bytes[pos] >= 0x20 { pos += 1 }
        guard pos < bytes.count else { throw failure("unterminated string") }
        var out = Array(bytes[start..<pos])
        while bytes[pos] != UInt8(ascii: "\"") {
            let b = bytes[pos]
            guard b >= 0x20 else { throw failure("control character in a string (escape it)") }
            if b != UInt8(ascii: "\\") {
                out.append(b)
                pos += 1
            } else {
                pos += 1
                guard pos < bytes.count else { throw failure("unterminated escape") }
                switch bytes[pos] {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard bytes.count - pos >= 3, bytes[pos + 1] == UInt8(ascii: "\\"), bytes[pos + 2] == UInt8(ascii: "u") else {
                            throw failure("unpaired UTF-16 surrogate in a \\u escape")
                        }
                        pos += 2
                        let low = try hex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired UTF-16 surrogate in a \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw failure("unpaired UTF-16 surrogate in a \\u escape")
                    }
                    out.append(contentsOf: Array(String(Unicode.Scalar(scalar)!).utf8))
                default:
                    throw failure("invalid escape '\\\(Unicode.Scalar(bytes[pos]).escaped(asASCII: true))'")
                }
                pos += 1
            }
            guard pos < bytes.count else { throw failure("unterminated string") }
        }
        pos += 1
        guard let s = String(validating: out, as: UTF8.self) else { throw failure("invalid UTF-8 in a string") }
        return s
    }

    /// The 4 hex digits after `\u` (pos on the `u`, left on the last digit).
    private mutating func hex4() throws(Failure) -> UInt32 {
        guard bytes.count - pos > 4 else { throw failure("truncated \\u escape") }
        var v: UInt32 = 0
        for i in 1...4 {
            let c = bytes[pos + i]
            let d: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
        }
        pos += 4
        return v
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, then converted; a value beyond Double's range fails.
    private mutating func number() throws(Failure) -> Double {
        let start = pos
        func digits(_ p: inout Int, _ bytes: [UInt8]) -> Int {
            let s = p
            while p < bytes.count, bytes[p] >= UInt8(ascii: "0"), bytes[p] <= UInt8(ascii: "9") { p += 1 }
            return p - s
        }
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < bytes.count else { throw failure("truncated number") }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else {
            guard digits(&pos, bytes) > 0 else { throw failure("invalid number") }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            guard digits(&pos, bytes) > 0 else { throw failure("invalid number (no digit after '.')") }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard digits(&pos, bytes) > 0 else { throw failure("invalid number (no digit in the exponent)") }
        }
        guard let d = Double(String(decoding: bytes[start..<pos], as: UTF8.self)), d.isFinite else {
            throw failure("number out of range")
        }
        return d
    }
}
