import BreakwaterConfigModel

/// A regex compiled once at configuration load. Swift's `Regex` is immutable; the box only
/// carries it across isolation domains.
final class CompiledRegex: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>?
    init(_ pattern: String, caseInsensitive: Bool) {
        let r = try? Regex(pattern)
        regex = caseInsensitive ? r?.ignoresCase() : r
    }
    func matches(_ s: Substring) -> Bool {
        guard let regex else { return false }
        return (try? regex.firstMatch(in: s)) != nil
    }
}

/// One ACL line compiled for matching (spec ACL-1..ACL-4).
struct CompiledTest: Sendable {
    let fetch: SampleFetch
    let method: MatchMethod
    let caseInsensitive: Bool
    let strings: [String]
    let lowerStrings: [String]
    let regexes: [CompiledRegex]
    let integers: [IntegerPattern]
    let addresses: [IPPattern]

    init(_ test: ACLTest) {
        fetch = test.fetch
        method = test.method
        caseInsensitive = test.caseInsensitive
        strings = test.strings
        lowerStrings = test.strings.map { $0.lowercased() }
        regexes = test.method == .reg ? test.strings.map { CompiledRegex($0, caseInsensitive: test.caseInsensitive) } : []
        integers = test.integers
        addresses = test.addresses
    }

    func matches<R: ACLRequestView>(_ request: R) -> Bool {
        switch fetch {
        case .alwaysTrue: return true
        case .alwaysFalse: return false
        case .path: return matchString(request.aclPath)
        case .method: return matchString(Substring(request.aclMethod))
        case .header(let name):
            let values = request.aclHeaderValues(name)
            if method == .found { return !values.isEmpty }
            return values.contains { matchString($0) }
        case .stickCounter(let slot, let data, let table):
            return matchInteger(request.aclStickValue(slot: slot, data: data, table: table))
        case .sourceCounter(let data, let table):
            return matchInteger(request.aclSourceValue(data: data, table: table))
        case .stickIncrementGPC0(let slot):
            return matchInteger(request.aclIncrementGPC0(slot: slot))
        case .tls(let fact):
            let info = request.aclTLS
            switch fact {
            case .active: return matchBool(info != nil)
            case .resumed: return info.map { matchBool($0.resumed) } ?? false
            case .sni:
                guard let sni = info?.sni else { return false }
                return method == .found || matchString(Substring(sni))
            case .proto:
                guard let p = info?.protocolVersion else { return false }
                return method == .found || matchString(Substring(p))
            }
        case .src:
            guard let address = request.aclSourceAddress else { return false }
            if method == .found { return true }
            return addresses.contains { Self.ipMatches(address, $0) }
        }
    }

    /// Boolean fetches: true/false unless an integer comparison was asked for.
    private func matchBool(_ value: Bool) -> Bool {
        if method == .int { return integers.contains { $0.matches(value ? 1 : 0) } }
        if method == .found { return true }
        return value
    }

    /// Integer fetches: no value means the ACL is false (spec ACL-5).
    private func matchInteger(_ value: Int64?) -> Bool {
        guard let value else { return false }
        if method == .found || method == .bool { return method == .found || value != 0 }
        return integers.contains { $0.matches(value) }
    }

    private func matchString(_ sample: Substring) -> Bool {
        switch method {
        case .found, .bool: return true
        case .reg: return regexes.contains { $0.matches(sample) }
        case .int:
            guard let v = Int64(sample) else { return false }
            return integers.contains { $0.matches(v) }
        case .ip:
            guard let bytes = parseIPAddress(sample) else { return false }
            return addresses.contains { Self.ipMatches(bytes, $0) }
        case .str, .beg, .end, .sub:
            if caseInsensitive {
                let s = sample.lowercased()
                return lowerStrings.contains { Self.compare(Substring(s), $0, method) }
            }
            return strings.contains { Self.compare(sample, $0, method) }
        }
    }

    private static func compare(_ sample: Substring, _ pattern: String, _ method: MatchMethod) -> Bool {
        switch method {
        case .beg: return sample.utf8.starts(with: pattern.utf8)
        case .end: return sample.utf8.reversed().starts(with: pattern.utf8.reversed())
        case .sub: return pattern.isEmpty || sample.contains(pattern)
        default: return sample.utf8.elementsEqual(pattern.utf8)
        }
    }

    /// CIDR match; an IPv4 pattern also matches a v4-mapped IPv6 address.
    static func ipMatches(_ address: [UInt8], _ pattern: IPPattern) -> Bool {
        var addr = address
        var pat = pattern.address
        var prefix = pattern.prefixLength
        if addr.count == 16, pat.count == 4, addr[0..<10].allSatisfy({ $0 == 0 }), addr[10] == 0xFF, addr[11] == 0xFF {
            addr = Array(addr[12...])
        } else if addr.count == 4, pat.count == 16 {
            addr = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + addr
        }
        if pat.count != addr.count {
            if pat.count == 4 {
                pat = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + pat
                prefix += 96
            } else {
                return false
            }
        }
        var bits = prefix
        for i in 0..<addr.count {
            if bits <= 0 { return true }
            let mask: UInt8 = bits >= 8 ? 0xFF : UInt8(0xFF << (8 - bits) & 0xFF)
            if addr[i] & mask != pat[i] & mask { return false }
            bits -= 8
        }
        return true
    }
}

/// Parses a textual IPv4 or IPv6 address into network bytes.
public func parseIPAddress(_ s: Substring) -> [UInt8]? {
    if s.contains(":") { return parseIPv6(s) }
    let parts = s.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 4 else { return nil }
    var out: [UInt8] = []
    for p in parts {
        guard !p.isEmpty, p.count <= 3, let v = UInt8(p) else { return nil }
        out.append(v)
    }
    return out
}

private func parseIPv6(_ s: Substring) -> [UInt8]? {
    var text = s
    var tail4: [UInt8] = []
    if let lastColon = text.lastIndex(of: ":"), text[text.index(after: lastColon)...].contains(".") {
        guard let v4 = parseIPAddress(text[text.index(after: lastColon)...]) else { return nil }
        tail4 = v4
        text = text[...lastColon]
        if text.hasSuffix(":") && !text.hasSuffix("::") { text = text.dropLast() }
    }
    var halves: [String] = []
    if let r = text.firstRange(of: "::") {
        halves = [String(text[..<r.lowerBound]), String(text[r.upperBound...])]
        if halves[1].contains("::") { return nil }
    } else {
        halves = [String(text)]
    }
    func groups(_ part: String) -> [UInt16]? {
        if part.isEmpty { return [] }
        var out: [UInt16] = []
        for g in part.split(separator: ":", omittingEmptySubsequences: false) {
            guard !g.isEmpty, g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
            out.append(v)
        }
        return out
    }
    guard let head = groups(halves[0]) else { return nil }
    let tail = halves.count == 2 ? groups(halves[1]) : []
    guard let tail else { return nil }
    let needed = 8 - tail4.count / 2
    var all: [UInt16]
    if halves.count == 2 {
        guard head.count + tail.count < needed else { return nil }
        all = head + [UInt16](repeating: 0, count: needed - head.count - tail.count) + tail
    } else {
        guard head.count == needed else { return nil }
        all = head
    }
    var out: [UInt8] = []
    for g in all { out.append(UInt8(g >> 8)); out.append(UInt8(g & 0xFF)) }
    return out + tail4
}
