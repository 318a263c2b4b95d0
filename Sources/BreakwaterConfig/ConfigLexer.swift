/// Splits one configuration line into words (spec CFG-1, CFG-2).
///
/// * Words are separated by runs of spaces/tabs; `#` outside quotes starts a comment.
/// * `"..."` weak quotes: `$NAME` / `${NAME}` expand from the environment, `\"` `\\` `\$` escape.
/// * `'...'` strong quotes: nothing is interpreted.
/// * Outside quotes `\` escapes space, `#`, `\`, `'`, `"`; `\n` `\r` `\t` `\xHH` produce LF, CR, TAB, byte HH
///   (also inside weak quotes); any other `\c` is kept as the two characters.
/// * Quotes may be glued to text; `""` / `''` is a real empty word.
struct ConfigLexer {
    static let maxWords = 64

    var environment: [String: String]

    init(environment: [String: String]) {
        self.environment = environment
    }

    func split(_ line: String) throws -> [String] {
        let b = Array(line.utf8)
        var words: [[UInt8]] = []
        var cur: [UInt8] = []
        var started = false
        enum Quote { case none, double, single }
        var q = Quote.none
        var i = 0

        func push() {
            if started { words.append(cur) }
            cur.removeAll(keepingCapacity: true)
            started = false
        }

        // Handles `\n`, `\r`, `\t`, `\xHH` at b[i] == '\\'. Returns the number of bytes consumed, or nil.
        func controlEscape(_ i: Int, into out: inout [UInt8]) throws -> Int? {
            guard i + 1 < b.count else { return nil }
            switch b[i + 1] {
            case UInt8(ascii: "n"): out.append(0x0A); return 2
            case UInt8(ascii: "r"): out.append(0x0D); return 2
            case UInt8(ascii: "t"): out.append(0x09); return 2
            case UInt8(ascii: "x"):
                guard i + 3 < b.count, let h = hexValue(b[i + 2]), let l = hexValue(b[i + 3]) else {
                    throw ConfigError("'\\x' must be followed by two hexadecimal digits")
                }
                out.append(h << 4 | l)
                return 4
            default: return nil
            }
        }

        scan: while i < b.count {
            let c = b[i]
            switch q {
            case .single:
                if c == UInt8(ascii: "'") { q = .none } else { cur.append(c) }
                i += 1
            case .double:
                if c == UInt8(ascii: "\"") {
                    q = .none
                    i += 1
                } else if c == UInt8(ascii: "\\") {
                    if i + 1 < b.count, [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "$")].contains(b[i + 1]) {
                        cur.append(b[i + 1])
                        i += 2
                    } else if let n = try controlEscape(i, into: &cur) {
                        i += n
                    } else {
                        cur.append(c)
                        i += 1
                    }
                } else if c == UInt8(ascii: "$") {
                    i = try expandVariable(b, at: i, into: &cur)
                } else {
                    cur.append(c)
                    i += 1
                }
            case .none:
                switch c {
                case UInt8(ascii: " "), UInt8(ascii: "\t"):
                    push()
                    i += 1
                case UInt8(ascii: "#"):
                    break scan
                case UInt8(ascii: "\""):
                    q = .double
                    started = true
                    i += 1
                case UInt8(ascii: "'"):
                    q = .single
                    started = true
                    i += 1
                case UInt8(ascii: "\\"):
                    started = true
                    let escapable: [UInt8] = [UInt8(ascii: " "), UInt8(ascii: "#"), UInt8(ascii: "\\"),
                                              UInt8(ascii: "'"), UInt8(ascii: "\"")]
                    if i + 1 < b.count, escapable.contains(b[i + 1]) {
                        cur.append(b[i + 1])
                        i += 2
                    } else if let n = try controlEscape(i, into: &cur) {
                        i += n
                    } else {
                        cur.append(c)
                        i += 1
                    }
                default:
                    started = true
                    cur.append(c)
                    i += 1
                }
            }
        }
        if q != .none { throw ConfigError("unmatched quote") }
        push()
        if words.count > Self.maxWords {
            throw ConfigError("too many words on one line (\(words.count), maximum \(Self.maxWords))")
        }
        return words.map { String(decoding: $0, as: UTF8.self) }
    }

    /// `$NAME` or `${NAME}` inside weak quotes; a `$` not followed by a name is kept.
    private func expandVariable(_ b: [UInt8], at start: Int, into out: inout [UInt8]) throws -> Int {
        var i = start + 1
        func isNameByte(_ c: UInt8) -> Bool {
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == UInt8(ascii: "_")
        }
        let name: String
        if i < b.count, b[i] == UInt8(ascii: "{") {
            i += 1
            let nameStart = i
            while i < b.count, b[i] != UInt8(ascii: "}") { i += 1 }
            guard i < b.count else { throw ConfigError("missing '}' after environment variable name") }
            name = String(decoding: b[nameStart..<i], as: UTF8.self)
            guard !name.isEmpty, name.utf8.allSatisfy(isNameByte) else {
                throw ConfigError("invalid environment variable name '${\(name)}'")
            }
            i += 1
        } else {
            let nameStart = i
            while i < b.count, isNameByte(b[i]) { i += 1 }
            if i == nameStart {
                out.append(UInt8(ascii: "$"))
                return start + 1
            }
            name = String(decoding: b[nameStart..<i], as: UTF8.self)
        }
        out.append(contentsOf: Array((environment[name] ?? "").utf8))
        return i
    }
}

func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}
