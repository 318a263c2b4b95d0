import BreakwaterConfigModel

/// What ACL fetches can read from a request. The data path adapts its request type to this.
///
/// Called on the event loop that owns the request.
public protocol ACLRequestView {
    /// URL path without the query string.
    var aclPath: Substring { get }
    var aclMethod: String { get }
    /// All values of a header (name given lower-cased), comma-separated lists split into elements
    /// as HAProxy's `hdr()` does.
    func aclHeaderValues(_ lowercasedName: String) -> [Substring]
    /// Client address in network byte order: 4 bytes (IPv4) or 16 bytes (IPv6); nil for UNIX sockets.
    var aclSourceAddress: [UInt8]? { get }
    /// `sc_<data>(slot[,table])`: the value of the entry tracked in a slot; nil when unbound or not stored.
    func aclStickValue(slot: Int, data: StoreType.Kind, table: String?) -> Int64?
    /// `src_<data>(table)`: the client address looked up without tracking.
    func aclSourceValue(data: StoreType.Kind, table: String) -> Int64?
    /// `sc_inc_gpc0(slot)`: increments and returns the new value.
    func aclIncrementGPC0(slot: Int) -> Int64?
    /// TLS facts of the client connection; nil on a clear-text connection.
    var aclTLS: ACLTLSInfo? { get }
}

/// What `ssl_fc_*` fetches read.
public struct ACLTLSInfo: Sendable {
    public var sni: String?
    public var protocolVersion: String
    public var resumed: Bool
    public init(sni: String?, protocolVersion: String, resumed: Bool) {
        self.sni = sni
        self.protocolVersion = protocolVersion
        self.resumed = resumed
    }
}

extension ACLRequestView {
    public func aclStickValue(slot: Int, data: StoreType.Kind, table: String?) -> Int64? { nil }
    public func aclSourceValue(data: StoreType.Kind, table: String) -> Int64? { nil }
    public func aclIncrementGPC0(slot: Int) -> Int64? { nil }
    public var aclTLS: ACLTLSInfo? { nil }
}

/// Splits a header value on commas outside quotes and trims optional whitespace, like HAProxy's `hdr()`.
@inlinable
public func splitHeaderList(_ value: Substring) -> [Substring] {
    guard value.contains(",") else { return [trimOWS(value)] }
    var parts: [Substring] = []
    var start = value.startIndex
    var inQuotes = false
    var i = value.startIndex
    while i < value.endIndex {
        let c = value[i]
        if c == "\"" { inQuotes.toggle() }
        if c == "," && !inQuotes {
            parts.append(trimOWS(value[start..<i]))
            start = value.index(after: i)
        }
        i = value.index(after: i)
    }
    parts.append(trimOWS(value[start..<value.endIndex]))
    return parts
}

@inlinable
public func trimOWS(_ s: Substring) -> Substring {
    var lo = s.startIndex
    var hi = s.endIndex
    while lo < hi, s[lo] == " " || s[lo] == "\t" { lo = s.index(after: lo) }
    while hi > lo {
        let p = s.index(before: hi)
        if s[p] == " " || s[p] == "\t" { hi = p } else { break }
    }
    return s[lo..<hi]
}
