#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import BreakwaterConfigModel

/// An address written in the configuration (spec CFG-4).
enum ParsedAddress: Equatable {
    case inet(host: String, port: Int)
    case unix(path: String)
}

/// Parses `IPv4:port`, `[IPv6]:port`, `IPv6:port` (last colon), `*:port`, `:port`, `:::port`,
/// family prefixes `ipv4@`, `ipv6@`, `udp@`…, and UNIX paths (`/path`, `unix@/path`).
enum AddressParser {
    struct Options {
        var allowUnix = false
        /// Port used when none is written; nil = a port is required.
        var defaultPort: Int? = nil
        /// Resolve non-IP host names with getaddrinfo (`localhost` is always accepted).
        var resolveHostnames = false
    }

    static func parse(_ text: String, options: Options) throws -> ParsedAddress {
        var s = Substring(text)
        guard !s.isEmpty else { throw ConfigError("missing address") }
        if s.hasPrefix("unix@") || s.hasPrefix("/") {
            guard options.allowUnix else { throw ConfigError("UNIX socket path '\(text)' is not allowed here") }
            let path = s.hasPrefix("unix@") ? s.dropFirst(5) : s
            guard path.hasPrefix("/") || !path.isEmpty else { throw ConfigError("missing UNIX socket path in '\(text)'") }
            return .unix(path: String(path))
        }
        var family: Int32? = nil
        if let at = s.firstIndex(of: "@") {
            let prefix = s[..<at]
            switch prefix {
            case "ipv4", "udp4", "tcp4": family = AF_INET
            case "ipv6", "udp6", "tcp6": family = AF_INET6
            case "udp", "tcp": family = nil
            default: throw ConfigError("address family '\(prefix)@' is not supported in '\(text)'")
            }
            s = s[s.index(after: at)...]
        }
        var host: Substring
        var portText: Substring?
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { throw ConfigError("missing ']' in address '\(text)'") }
            host = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            if rest.isEmpty {
                portText = nil
            } else if rest.hasPrefix(":") {
                portText = rest.dropFirst()
            } else {
                throw ConfigError("invalid address '\(text)'")
            }
        } else if let colon = s.lastIndex(of: ":") {
            host = s[..<colon]
            portText = s[s.index(after: colon)...]
            // `::1` style IPv6 literal without a port (only where a port is optional).
            if options.defaultPort != nil, host.contains(":"), ipv6Bytes(String(host)) == nil, ipv6Bytes(String(s)) != nil {
                host = s
                portText = nil
            }
        } else {
            host = s
            portText = nil
        }
        let port: Int
        if let portText {
            guard !portText.isEmpty else { throw ConfigError("missing port in address '\(text)'") }
            if portText.contains("-") { throw ConfigError("port ranges are not supported in address '\(text)'") }
            guard ValueParsers.isDigits(portText), let p = Int(portText), (1...65535).contains(p) else {
                throw ConfigError("invalid port '\(portText)' in address '\(text)' (must be 1-65535)")
            }
            port = p
        } else if let d = options.defaultPort {
            port = d
        } else {
            throw ConfigError("missing port in address '\(text)'")
        }
        let resolved = try resolveHost(String(host), family: family, original: text, resolve: options.resolveHostnames)
        return .inet(host: resolved, port: port)
    }

    static func resolveHost(_ host: String, family: Int32?, original: String, resolve: Bool) throws -> String {
        if host.isEmpty || host == "*" {
            return family == AF_INET6 ? "::" : "0.0.0.0"
        }
        if family != AF_INET6, let v4 = ipv4Bytes(host) { return v4.map(String.init).joined(separator: ".") }
        if family != AF_INET, let v6 = ipv6Bytes(host) { return formatIPv6(v6) }
        if host == "localhost" { return family == AF_INET6 ? "::1" : "127.0.0.1" }
        guard resolve else { throw ConfigError("invalid address '\(original)'") }
        guard let r = lookup(host, family: family) else { throw ConfigError("could not resolve address '\(host)'") }
        return r
    }

    static func ipv4Bytes(_ s: String) -> [UInt8]? {
        var a = in_addr()
        guard inet_pton(AF_INET, s, &a) == 1 else { return nil }
        return withUnsafeBytes(of: &a) { Array($0) }
    }

    static func ipv6Bytes(_ s: String) -> [UInt8]? {
        var a = in6_addr()
        guard inet_pton(AF_INET6, s, &a) == 1 else { return nil }
        return withUnsafeBytes(of: &a) { Array($0) }
    }

    static func formatIPv6(_ bytes: [UInt8]) -> String {
        var a = in6_addr()
        withUnsafeMutableBytes(of: &a) { $0.copyBytes(from: bytes) }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count)) != nil else { return "::" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// getaddrinfo at parse time; IPv4 preferred.
    static func lookup(_ host: String, family: Int32?) -> String? {
        var hints = addrinfo()
        hints.ai_family = family ?? AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var res: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(host, nil, &hints, &res) == 0, let first = res else { return nil }
        defer { freeaddrinfo(first) }
        var v6: String? = nil
        var p: UnsafeMutablePointer<addrinfo>? = first
        while let ai = p {
            if ai.pointee.ai_family == AF_INET, let sa = ai.pointee.ai_addr {
                let bytes = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    withUnsafeBytes(of: sin.pointee.sin_addr) { Array($0) }
                }
                return bytes.map(String.init).joined(separator: ".")
            }
            if ai.pointee.ai_family == AF_INET6, v6 == nil, let sa = ai.pointee.ai_addr {
                let bytes = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin in
                    withUnsafeBytes(of: sin.pointee.sin6_addr) { Array($0) }
                }
                v6 = formatIPv6(bytes)
            }
            p = ai.pointee.ai_next
        }
        return v6
    }

    /// ACL `src` pattern: `ADDR[/PREFIX]` or `IPv4/DOTTED.MASK`.
    static func ipPattern(_ s: String) throws -> IPPattern {
        let parts = s.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let addr = String(parts[0])
        let bad = ConfigError("'\(s)' is not a valid IPv4 or IPv6 address or network")
        if let v4 = ipv4Bytes(addr) {
            var prefix = 32
            if parts.count == 2 {
                let m = String(parts[1])
                if ValueParsers.isDigits(m), let p = Int(m), p <= 32 {
                    prefix = p
                } else if let mask = ipv4Bytes(m) {
                    let bits = mask.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                    let ones = bits.nonzeroBitCount
                    guard bits == (ones == 0 ? 0 : ~UInt32(0) << (32 - ones)) else { throw bad }
                    prefix = ones
                } else {
                    throw bad
                }
            }
            return IPPattern(address: v4, prefixLength: prefix)
        }
        if let v6 = ipv6Bytes(addr) {
            var prefix = 128
            if parts.count == 2 {
                guard ValueParsers.isDigits(parts[1]), let p = Int(parts[1]), p <= 128 else { throw bad }
                prefix = p
            }
            return IPPattern(address: v6, prefixLength: prefix)
        }
        throw bad
    }
}

