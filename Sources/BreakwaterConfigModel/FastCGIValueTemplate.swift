/// A compiled `set-param` value (FCGI-6, LOG-5 subset, SEED-2). It lives in the model so the
/// configuration parser can validate `set-param` values at load time (`try FastCGIValueTemplate(text)`).
///
/// Supported: literal text; `%%`; `%[FETCH[,CONV…]]` with the fetches `path`, `query`, `url`, `method`,
/// `src`, `src_port`, `dst`, `dst_port`, `req.hdr(NAME)` / `hdr(NAME)`, `http_auth_user`,
/// `http_auth_type`, `base`, and the converters `lower`, `upper`; the variables `%ci %cp %fi %fp %HM
/// %HU %HP %HQ %HV`; and the seed extension `\1`…`\9` = capture N of the app's `path-info` regex.
public struct FastCGIValueTemplate: Sendable, Equatable {
    public enum Fetch: Sendable, Equatable {
        case path, query, url, method, src, srcPort, dst, dstPort, base, authUser, authType, version
        /// Lower-cased header name; the last occurrence (as `req.hdr()` with no index does in HAProxy it is
        /// the last one).
        case header(String)
    }
    public enum Converter: String, Sendable, Equatable {
        case lower, upper
    }
    public enum Segment: Sendable, Equatable {
        case literal([UInt8])
        case capture(Int)
        case fetch(Fetch, [Converter])
    }

    public let segments: [Segment]
    /// The written text is the empty string: SEED-3 "never send this parameter".
    public let isRemoval: Bool
    public var usesCaptures: Bool { segments.contains { if case .capture = $0 { true } else { false } } }

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Parses a value as written after the config lexer (so `\1` arrives as the two characters).
    public init(_ text: String) throws(ParseError) {
        isRemoval = text.isEmpty
        var segs: [Segment] = []
        var literal: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        func flush() {
            if !literal.isEmpty { segs.append(.literal(literal)); literal = [] }
        }
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\\"), i + 1 < bytes.count, (0x31...0x39).contains(bytes[i + 1]) {
                flush()
                segs.append(.capture(Int(bytes[i + 1] - 0x30)))
                i += 2
                continue
            }
            guard c == UInt8(ascii: "%") else {
                literal.append(c)
                i += 1
                continue
            }
            guard i + 1 < bytes.count else { throw ParseError(message: "'%' at end of log-format string") }
            let n = bytes[i + 1]
            if n == UInt8(ascii: "%") {
                literal.append(n)
                i += 2
                continue
            }
            if n == UInt8(ascii: "[") {
                guard let close = bytes[(i + 2)...].firstIndex(of: UInt8(ascii: "]")) else {
                    throw ParseError(message: "missing ']' in log-format expression")
                }
                let expr = String(decoding: bytes[(i + 2)..<close], as: UTF8.self)
                flush()
                segs.append(try Self.parseExpression(expr))
                i = close + 1
                continue
            }
            // %ci-style variables: the longest known name wins.
            let rest = String(decoding: bytes[(i + 1)...].prefix(2), as: UTF8.self)
            let vars: [String: Fetch] = ["ci": .src, "cp": .srcPort, "fi": .dst, "fp": .dstPort, "HM": .method,
                                         "HU": .url, "HP": .path, "HQ": .query, "HV": .version]
            guard rest.count == 2, let f = vars[rest] else {
                throw ParseError(message: "unsupported log-format variable '%\(rest)'")
            }
            flush()
            segs.append(.fetch(f, []))
            i += 3
        }
        flush()
        segments = segs
    }

    static func parseExpression(_ expr: String) throws(ParseError) -> Segment {
        var parts = expr.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces() }
        guard !parts.isEmpty, !parts[0].isEmpty else { throw ParseError(message: "empty sample expression in '%[\(expr)]'") }
        let fetchText = parts.removeFirst()
        let fetch: Fetch
        switch fetchText {
        case "path": fetch = .path
        case "query": fetch = .query
        case "url": fetch = .url
        case "method": fetch = .method
        case "src": fetch = .src
        case "src_port": fetch = .srcPort
        case "dst": fetch = .dst
        case "dst_port": fetch = .dstPort
        case "base": fetch = .base
        case "http_auth_user": fetch = .authUser
        case "http_auth_type": fetch = .authType
        case "req.ver": fetch = .version
        default:
            var name: Substring?
            for prefix in ["req.hdr(", "hdr("] where fetchText.hasPrefix(prefix) && fetchText.hasSuffix(")") {
                name = fetchText.dropFirst(prefix.count).dropLast()
            }
            guard let n = name, !n.isEmpty else { throw ParseError(message: "unknown fetch method '\(fetchText)' in '%[\(expr)]'") }
            fetch = .header(n.lowercased())
        }
        var convs: [Converter] = []
        for p in parts {
            guard let c = Converter(rawValue: p) else { throw ParseError(message: "unknown converter '\(p)' in '%[\(expr)]'") }
            convs.append(c)
        }
        return .fetch(fetch, convs)
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
