import BreakwaterConfigModel
import BreakwaterCore
import NIOHTTP1

/// What the proxy knows about a request beyond its head, given to the FastCGI client before the head
/// is written (FCGI-4).
public struct FastCGIRequestContext {
    public var clientAddress: String
    public var clientPort: Int
    /// The local address/port the client connected to (SERVER_NAME fallback, SERVER_PORT).
    public var frontendAddress: String
    public var frontendPort: Int
    public var isTLS: Bool
    /// The version the client spoke (the proxy rewrites the head to 1.1 for servers).
    public var clientVersion: HTTPVersion
    /// Evaluates `FastCGIApplication.conditions[i]` for this request; nil = every condition holds.
    public var conditionHolds: ((Int) -> Bool)?

    public init(clientAddress: String, clientPort: Int, frontendAddress: String, frontendPort: Int, isTLS: Bool = false,
                clientVersion: HTTPVersion = .http1_1, conditionHolds: ((Int) -> Bool)? = nil) {
        self.clientAddress = clientAddress
        self.clientPort = clientPort
        self.frontendAddress = frontendAddress
        self.frontendPort = frontendPort
        self.isTLS = isTLS
        self.clientVersion = clientVersion
        self.conditionHolds = conditionHolds
    }
}

/// An `fcgi-app` compiled for the data path: regex and `set-param` templates parsed once, shared by
/// every connection (immutable).
public final class FastCGIApplication: @unchecked Sendable {
    // @unchecked: `Regex<AnyRegexOutput>` is not declared Sendable; it is immutable and only read.
    public let config: FastCGIAppConfig
    let pathInfo: Regex<AnyRegexOutput>?
    let setParams: [(name: String, template: FastCGIValueTemplate, condition: Int?)]
    let passHeaders: [(name: String, condition: Int?)]
    /// Distinct conditions of `set-param` / `pass-header` rules; the proxy compiles them in this order.
    public let conditions: [RuleCondition]
    let overridesScriptName: Bool

    public struct ConfigError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public init(_ config: FastCGIAppConfig) throws {
        self.config = config
        if let source = config.pathInfoRegex {
            do {
                pathInfo = try Regex(source).matchingSemantics(.unicodeScalar)
            } catch {
                throw ConfigError(message: "fcgi-app '\(config.name)': invalid path-info regex '\(source)': \(error)")
            }
        } else {
            pathInfo = nil
        }
        var conditions: [RuleCondition] = []
        func index(_ c: RuleCondition?) -> Int? {
            guard let c else { return nil }
            if let i = conditions.firstIndex(of: c) { return i }
            conditions.append(c)
            return conditions.count - 1
        }
        var rules: [(String, FastCGIValueTemplate, Int?)] = []
        for p in config.setParams {
            do {
                rules.append((p.name, try FastCGIValueTemplate(p.valueTemplate), index(p.condition)))
            } catch {
                throw ConfigError(message: "fcgi-app '\(config.name)': set-param \(p.name): \(error)")
            }
        }
        setParams = rules
        passHeaders = config.passHeaders.map { ($0.name, index($0.condition)) }
        self.conditions = conditions
        overridesScriptName = rules.contains { $0.0 == "SCRIPT_NAME" }
    }

    /// Headers never sent as `HTTP_*` unless a `pass-header` names them (FCGI-5).
    static let hiddenHeaders: Set<String> = [
        "connection", "keep-alive", "authorization", "proxy", "proxy-authorization", "proxy-authenticate", "te",
        "trailer", "trailers", "transfer-encoding", "upgrade",
    ]

    static let serverSoftware = Array("breakwater \(BreakwaterVersion.string)".utf8)

    /// Builds FCGI_PARAMS for one request (FCGI-4 … FCGI-7, SEED-2, SEED-3).
    ///
    /// `bodyLength` is the request body size when known (Content-Length, or a buffered chunked body);
    /// it becomes CONTENT_LENGTH unless a Content-Length header already provided it.
    /// Throws `.invalidRequestPath` when the path cannot be mapped (the proxy answers 500 `IH--`).
    public func parameters(head: HTTPRequestHead, context: FastCGIRequestContext, bodyLength: Int?) throws(FastCGIError)
        -> [FastCGINameValuePair]
    {
        func holds(_ condition: Int?) -> Bool {
            guard let condition, let eval = context.conditionHolds else { return true }
            return eval(condition)
        }

        // Target: path and query (absolute-form targets: skip scheme and authority).
        let uri = Array(head.uri.utf8)
        var originStart = 0
        if let colon = uri.firstIndex(of: UInt8(ascii: ":")), colon + 2 < uri.count,
           uri[colon + 1] == UInt8(ascii: "/"), uri[colon + 2] == UInt8(ascii: "/"),
           uri[..<colon].allSatisfy({ Self.isAlpha($0) }) {
            originStart = uri[(colon + 3)...].firstIndex(of: UInt8(ascii: "/")) ?? uri.count
        }
        let origin = uri[originStart...]
        let qmark = origin.firstIndex(of: UInt8(ascii: "?"))
        let rawPath = Array(origin[..<(qmark ?? origin.endIndex)])
        let query = qmark.map { Array(origin[($0 + 1)...]) } ?? []

        // Header-derived parameters (FCGI-2, FCGI-4, FCGI-5).
        var headerParams: [FastCGINameValuePair] = []
        headerParams.reserveCapacity(head.headers.count)
        var host: String?
        var authorization: String?
        var contentLengthFromHeader = false
        var lastHeader: [String: String] = [:]
        for (name, value) in head.headers {
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isHeaderNameByte) else { continue }  // FCGI-2: deleted
            let lower = name.lowercased()
            lastHeader[lower] = value
            switch lower {
            case "content-type":
                headerParams.append(FastCGINameValuePair(name: Array("CONTENT_TYPE".utf8), value: Array(value.utf8)))
                continue
            case "content-length":
                contentLengthFromHeader = true
                headerParams.append(FastCGINameValuePair(name: Array("CONTENT_LENGTH".utf8), value: Array(value.utf8)))
                continue
            case "host":
                if host == nil { host = value }
            case "authorization":
                if authorization == nil { authorization = value }
            default:
                break
            }
            if Self.hiddenHeaders.contains(lower) && !passHeaders.contains(where: { $0.name == lower && holds($0.condition) }) {
                continue
            }
            headerParams.append(FastCGINameValuePair(name: Self.headerParamName(name), value: Array(value.utf8)))
        }
        var authType: [UInt8] = []
        var authUser: [UInt8] = []
        if let auth = authorization, let (scheme, user) = Self.basicAuth(auth) {
            authType = scheme
            authUser = user
        }

        // Decoded path and path-info captures (needed by derivation and by SEED-2 `\N`).
        let decoded = Self.percentDecode(rawPath)
        let badChars = decoded.map { $0.contains(0x0A) || $0.contains(0x00) } ?? false
        var captures: [[UInt8]?] = []
        var regexGroup1 = false
        if let regex = pathInfo, let dpath = decoded, !badChars {
            let subject = Self.latin1String(dpath)
            if let match = try? regex.firstMatch(in: subject) {
                captures = (0..<match.output.count).map { i in
                    match.output[i].substring.map { $0.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) } }
                }
                regexGroup1 = captures.count > 1 && captures[1] != nil
            }
        }

        // SEED-2 (the write-up's intent): when group 1 did not participate — `/` served through
        // `index`, or a path the regex does not match — `\1` stands for the script name derived as
        // in FCGI-7, so `set-param SCRIPT_FILENAME /var/www/html/\1` still names `index.php` for `/`.
        if pathInfo != nil, let dpath = decoded, !badChars, captures.count < 2 || captures[1] == nil {
            var derived = dpath
            if let index = config.index, derived.last == UInt8(ascii: "/") { derived += Array(index.utf8) }
            if captures.isEmpty { captures = [dpath, derived] } else { captures[1] = derived }
        }

        // set-param rules (FCGI-6): for the same name, the last rule whose condition holds wins.
        enum Override { case set([UInt8]), remove }
        var overrides: [String: Override] = [:]
        var overrideOrder: [String] = []
        for rule in setParams where holds(rule.condition) {
            let value: Override
            if rule.template.isRemoval {
                value = .remove
            } else {
                let v = evaluate(rule.template, captures: captures, head: head, rawPath: rawPath, query: query,
                                 lastHeader: lastHeader, host: host, authType: authType, authUser: authUser, context: context)
                if v.isEmpty { continue }  // an empty computed value leaves the parameter alone
                value = .set(v)
            }
            if overrides[rule.name] == nil { overrideOrder.append(rule.name) }
            overrides[rule.name] = value
        }
        func overridden(_ name: String) -> [UInt8]? {
            if case .set(let v)? = overrides[name] { return v }
            return nil
        }

        // SCRIPT_NAME / PATH_INFO (FCGI-7).
        var scriptName: [UInt8]
        var pathInfoValue: [UInt8] = []
        if let sn = overridden("SCRIPT_NAME") {
            scriptName = sn
        } else {
            guard !rawPath.isEmpty else { throw .invalidRequestPath("empty path") }
            guard let dpath = decoded else { throw .invalidRequestPath("invalid percent-encoding") }
            scriptName = dpath
            if pathInfo != nil {
                if badChars { throw .invalidRequestPath("LF or NUL in the decoded path") }
                if regexGroup1, captures.count > 1, let script = captures[1] {
                    scriptName = script
                    if captures.count > 2, let info = captures[2] { pathInfoValue = info }
                }
            }
            if let index = config.index, scriptName.last == UInt8(ascii: "/") {
                scriptName += Array(index.utf8)
            }
        }
        if let pi = overridden("PATH_INFO") { pathInfoValue = pi }
        let docroot = overridden("DOCUMENT_ROOT") ?? Array(config.docroot.utf8)

        let version = context.clientVersion
        var defaults: [(String, [UInt8])] = [
            ("GATEWAY_INTERFACE", Array("CGI/1.1".utf8)),
            ("DOCUMENT_ROOT", docroot),
            ("SCRIPT_NAME", scriptName),
            ("PATH_INFO", pathInfoValue),
            ("REQUEST_URI", uri),
            ("REQUEST_METHOD", Array(head.method.rawValue.utf8)),
            ("QUERY_STRING", query),
            ("SERVER_NAME", Array((host ?? context.frontendAddress).utf8)),
            ("SERVER_PORT", Array(String(context.frontendPort).utf8)),
            ("SERVER_PROTOCOL", Array((version.major == 2 ? "HTTP/2.0" : "HTTP/\(version.major).\(version.minor)").utf8)),
            ("REMOTE_ADDR", Array(context.clientAddress.utf8)),
            ("REMOTE_PORT", Array(String(context.clientPort).utf8)),
            ("SCRIPT_FILENAME", docroot + scriptName),
            ("PATH_TRANSLATED", pathInfoValue.isEmpty ? [] : docroot + pathInfoValue),
            ("SERVER_SOFTWARE", Self.serverSoftware),
            ("HTTPS", context.isTLS ? Array("on".utf8) : []),
            ("AUTH_TYPE", authType),
            ("REMOTE_USER", authUser),
        ]
        if !contentLengthFromHeader {
            defaults.insert(("CONTENT_LENGTH", Array(String(bodyLength ?? 0).utf8)), at: 14)
        }

        // Assemble: header params, set-param params, then defaults (HAProxy's order).
        var out: [FastCGINameValuePair] = []
        out.reserveCapacity(headerParams.count + overrides.count + defaults.count)
        for p in headerParams where !p.value.isEmpty {
            let name = String(decoding: p.name, as: UTF8.self)
            switch overrides[name] {
            case .remove?: continue
            case .set?: if !name.hasPrefix("HTTP_") { continue }  // CONTENT_TYPE/LENGTH are replaced; HTTP_* sent twice
            case nil: break
            }
            out.append(p)
        }
        for name in overrideOrder {
            if case .set(let v)? = overrides[name] { out.append(FastCGINameValuePair(name: Array(name.utf8), value: v)) }
        }
        for (name, value) in defaults where !value.isEmpty && overrides[name] == nil {
            out.append(FastCGINameValuePair(name: Array(name.utf8), value: value))
        }
        return out
    }

    func evaluate(_ template: FastCGIValueTemplate, captures: [[UInt8]?], head: HTTPRequestHead, rawPath: [UInt8],
                  query: [UInt8], lastHeader: [String: String], host: String?, authType: [UInt8], authUser: [UInt8],
                  context: FastCGIRequestContext) -> [UInt8] {
        var out: [UInt8] = []
        for segment in template.segments {
            switch segment {
            case .literal(let bytes):
                out += bytes
            case .capture(let n):
                var cap = (n < captures.count ? captures[n] : nil) ?? []
                // SEED-2 slash rule: `/var/www/html/\1` with `\1` = `/blog/index.php` gives one slash.
                if out.last == UInt8(ascii: "/") && cap.first == UInt8(ascii: "/") { cap.removeFirst() }
                out += cap
            case .fetch(let fetch, let converters):
                var v: [UInt8]
                switch fetch {
                case .path: v = rawPath
                case .query: v = query
                case .url: v = Array(head.uri.utf8)
                case .method: v = Array(head.method.rawValue.utf8)
                case .src: v = Array(context.clientAddress.utf8)
                case .srcPort: v = Array(String(context.clientPort).utf8)
                case .dst: v = Array(context.frontendAddress.utf8)
                case .dstPort: v = Array(String(context.frontendPort).utf8)
                case .base: v = Array((host ?? "").utf8) + rawPath
                case .authUser: v = authUser
                case .authType: v = authType
                case .version:
                    let ver = context.clientVersion
                    v = Array("\(ver.major).\(ver.minor)".utf8)
                case .header(let name):
                    // req.hdr(): the last comma-separated value of the last occurrence.
                    let value = lastHeader[name] ?? ""
                    let last = value.split(separator: ",", omittingEmptySubsequences: false).last ?? ""
                    v = Array(last.drop(while: { $0 == " " || $0 == "\t" }).utf8)
                    while let l = v.last, l == UInt8(ascii: " ") || l == UInt8(ascii: "\t") { v.removeLast() }
                }
                for c in converters {
                    switch c {
                    case .lower: v = v.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }
                    case .upper: v = v.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }
                    }
                }
                out += v
            }
        }
        return out
    }

    // MARK: - Helpers

    @inline(__always)
    static func isAlpha(_ b: UInt8) -> Bool { (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }

    /// FCGI-2: header names may only use `[A-Za-z0-9-]` on FastCGI backends.
    @inline(__always)
    static func isHeaderNameByte(_ b: UInt8) -> Bool {
        isAlpha(b) || (0x30...0x39).contains(b) || b == UInt8(ascii: "-")
    }

    /// `X-Dash` → `HTTP_X_DASH`.
    static func headerParamName(_ name: String) -> [UInt8] {
        var out = Array("HTTP_".utf8)
        out.reserveCapacity(5 + name.utf8.count)
        for b in name.utf8 {
            if (0x61...0x7A).contains(b) {
                out.append(b - 0x20)
            } else if (0x41...0x5A).contains(b) || (0x30...0x39).contains(b) {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "_"))
            }
        }
        return out
    }

    /// `%XX` decoding only (`+` stays); nil on a bad escape.
    public static func percentDecode(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.contains(UInt8(ascii: "%")) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%") {
                guard i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) else { return nil }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(b)
                i += 1
            }
        }
        return out
    }

    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: return b - 0x30
        case 0x41...0x46: return b - 0x41 + 10
        case 0x61...0x66: return b - 0x61 + 10
        default: return nil
        }
    }

    /// Bytes as a string of U+0000…U+00FF scalars, so the regex sees one character per byte (PCRE's
    /// byte mode) and captures map back to the exact bytes.
    static func latin1String(_ bytes: [UInt8]) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: bytes.map { Unicode.Scalar($0) })
        return String(view)
    }

    /// `Authorization: Basic base64(user:pass)` → ("Basic", user).
    static func basicAuth(_ value: String) -> ([UInt8], [UInt8])? {
        let trimmed = value.drop { $0 == " " }
        guard let space = trimmed.firstIndex(of: " ") else { return nil }
        let scheme = trimmed[..<space]
        guard scheme.lowercased() == "basic" else { return nil }
        let encoded = trimmed[space...].drop { $0 == " " }
        guard let raw = base64Decode(Array(encoded.utf8)), let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let user = Array(raw[..<colon])
        guard !user.isEmpty else { return nil }
        return (Array("Basic".utf8), user)
    }

    static func base64Decode(_ input: [UInt8]) -> [UInt8]? {
        var out: [UInt8] = []
        var acc: UInt32 = 0
        var bits = 0
        for c in input {
            let v: UInt32
            switch c {
            case 0x41...0x5A: v = UInt32(c - 0x41)
            case 0x61...0x7A: v = UInt32(c - 0x61 + 26)
            case 0x30...0x39: v = UInt32(c - 0x30 + 52)
            case UInt8(ascii: "+"): v = 62
            case UInt8(ascii: "/"): v = 63
            case UInt8(ascii: "="): continue
            case UInt8(ascii: " "), UInt8(ascii: "\t"): continue
            default: return nil
            }
            acc = acc << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
            }
        }
        return out
    }
}
