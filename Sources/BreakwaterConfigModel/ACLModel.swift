/// What an ACL test reads from the request (spec ACL-2).
public enum SampleFetch: Sendable, Equatable, CustomStringConvertible {
    case path
    /// Header values by name (lower-cased); each occurrence is tested.
    case header(String)
    case method
    case src
    case alwaysTrue
    case alwaysFalse
    /// `sc_<data>(slot[,table])` / `scN_<data>([table])`: the entry tracked in a slot (spec STK-6).
    /// `table` reads the same key in another table.
    case stickCounter(slot: Int, data: StoreType.Kind, table: String?)
    /// `src_<data>(table)`: the client address looked up without tracking or touching.
    case sourceCounter(data: StoreType.Kind, table: String)
    /// `sc_inc_gpc0(slot)` / `scN_inc_gpc0`: increments gpc0 and returns the new value.
    case stickIncrementGPC0(slot: Int)
    /// TLS facts of the client connection (spec ACL-2): `ssl_fc`, `ssl_fc_sni` / `req.ssl_sni`,
    /// `ssl_fc_protocol`, `ssl_fc_is_resumed`.
    case tls(TLSFact)

    public enum TLSFact: String, Sendable, Equatable {
        case active = "ssl_fc"
        case sni = "ssl_fc_sni"
        case proto = "ssl_fc_protocol"
        case resumed = "ssl_fc_is_resumed"
    }

    public var description: String {
        switch self {
        case .stickCounter(let slot, let data, let table):
            return "sc_\(data.rawValue)(\(slot)\(table.map { "," + $0 } ?? ""))"
        case .sourceCounter(let data, let table): return "src_\(data.rawValue)(\(table))"
        case .stickIncrementGPC0(let slot): return "sc_inc_gpc0(\(slot))"
        case .tls(let fact): return fact.rawValue
        case .path: return "path"
        case .header(let n): return "hdr(\(n))"
        case .method: return "method"
        case .src: return "src"
        case .alwaysTrue: return "always_true"
        case .alwaysFalse: return "always_false"
        }
    }
}

/// How a fetched sample is compared with the patterns (spec ACL-1 `-m`).
public enum MatchMethod: String, Sendable, Equatable {
    case bool, int, str, beg, end, sub, reg, found, ip
}

/// An integer comparison (spec ACL-3).
public enum IntegerPattern: Sendable, Equatable {
    case eq(Int64), ge(Int64), gt(Int64), le(Int64), lt(Int64)
    /// Inclusive range; nil bound = open.
    case range(Int64?, Int64?)

    public func matches(_ v: Int64) -> Bool {
        switch self {
        case .eq(let x): return v == x
        case .ge(let x): return v >= x
        case .gt(let x): return v > x
        case .le(let x): return v <= x
        case .lt(let x): return v < x
        case .range(let lo, let hi): return (lo.map { v >= $0 } ?? true) && (hi.map { v <= $0 } ?? true)
        }
    }
}

/// An address pattern: network bytes (4 or 16) and prefix length.
public struct IPPattern: Sendable, Equatable {
    public var address: [UInt8]
    public var prefixLength: Int
    public init(address: [UInt8], prefixLength: Int) {
        self.address = address
        self.prefixLength = prefixLength
    }
}

/// One ACL line: a fetch, a matching method and its OR'ed patterns.
public struct ACLTest: Sendable, Equatable {
    public var fetch: SampleFetch
    public var method: MatchMethod
    public var caseInsensitive: Bool
    /// String patterns for str/beg/end/sub/reg (regex source for `reg`).
    public var strings: [String]
    public var integers: [IntegerPattern]
    public var addresses: [IPPattern]
    public var location: SourceLocation

    public init(fetch: SampleFetch, method: MatchMethod, caseInsensitive: Bool = false, strings: [String] = [],
                integers: [IntegerPattern] = [], addresses: [IPPattern] = [], location: SourceLocation) {
        self.fetch = fetch
        self.method = method
        self.caseInsensitive = caseInsensitive
        self.strings = strings
        self.integers = integers
        self.addresses = addresses
        self.location = location
    }
}

/// A named ACL: true if any of its lines matches.
public struct ACLDefinition: Sendable, Equatable {
    public var name: String
    public var tests: [ACLTest]
    public init(name: String, tests: [ACLTest]) {
        self.name = name
        self.tests = tests
    }
}

/// One factor of a condition: a (possibly negated) named or anonymous ACL, already resolved.
public struct ConditionFactor: Sendable, Equatable {
    public var negated: Bool
    /// Name for named ACLs, nil for anonymous `{ ... }` ones.
    public var name: String?
    public var tests: [ACLTest]
    public init(negated: Bool, name: String?, tests: [ACLTest]) {
        self.negated = negated
        self.name = name
        self.tests = tests
    }
}

/// `if|unless COND`: OR of terms, each term an AND of factors (spec ACL-5).
public struct RuleCondition: Sendable, Equatable {
    public enum Polarity: String, Sendable, Equatable { case `if`, unless }
    public var polarity: Polarity
    /// Outer array is OR, inner array is AND.
    public var terms: [[ConditionFactor]]
    public init(polarity: Polarity, terms: [[ConditionFactor]]) {
        self.polarity = polarity
        self.terms = terms
    }
}
