/// TLS protocol versions accepted by `ssl-min-ver` / `ssl-max-ver` (spec TLS-3).
public enum TLSVersion: String, Sendable, Equatable, Comparable, CaseIterable {
    case tls10 = "TLSv1.0"
    case tls11 = "TLSv1.1"
    case tls12 = "TLSv1.2"
    case tls13 = "TLSv1.3"

    private var order: Int {
        switch self {
        case .tls10: return 0
        case .tls11: return 1
        case .tls12: return 2
        case .tls13: return 3
        }
    }
    public static func < (lhs: TLSVersion, rhs: TLSVersion) -> Bool { lhs.order < rhs.order }
}

/// The TLS part of a `bind` line (`ssl crt … alpn … tls-ticket-keys …`, spec FE-1, §11).
public struct TLSBindConfig: Sendable, Equatable {
    /// `crt PATH` in order (files or directories); at least one.
    public var certificates: [String]
    /// `alpn p1,p2`: advertised protocols in server-preference order; empty = no ALPN.
    public var alpn: [String]
    /// `tls-ticket-keys FILE`, exactly as written (the admin commands look the path up verbatim).
    public var ticketKeysFile: String?
    /// nil = TLSv1.2 (spec TLS-3 default range TLSv1.2…TLSv1.3).
    public var minVersion: TLSVersion?
    /// nil = TLSv1.3.
    public var maxVersion: TLSVersion?
    /// TLS 1.3 suites, OpenSSL syntax (`ciphersuites`); nil = library default.
    public var ciphersuites: String?
    /// TLS ≤ 1.2 cipher list, OpenSSL syntax (`ciphers`); nil = library default.
    public var ciphers: String?
    /// Key-exchange groups, OpenSSL syntax (`curves`); nil = library default.
    public var curves: String?
    /// `tune.ssl.default-dh-param` > 0: DHE suites may be used (TLS ≤ 1.2, GLB-3).
    public var dhParamBits: Int?
    /// `tune.ssl.lifetime`, seconds; nil = 7200 (TLS-9).
    public var sessionLifetimeSeconds: Int?

    public init(certificates: [String], alpn: [String] = [], ticketKeysFile: String? = nil,
                minVersion: TLSVersion? = nil, maxVersion: TLSVersion? = nil,
                ciphersuites: String? = nil, ciphers: String? = nil, curves: String? = nil,
                dhParamBits: Int? = nil, sessionLifetimeSeconds: Int? = nil) {
        self.certificates = certificates
        self.alpn = alpn
        self.ticketKeysFile = ticketKeysFile
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.ciphersuites = ciphersuites
        self.ciphers = ciphers
        self.curves = curves
        self.dhParamBits = dhParamBits
        self.sessionLifetimeSeconds = sessionLifetimeSeconds
    }
}

/// `ssl-default-bind-*` and `tune.ssl.*` from `global` (GLB-3, GLB-6): the parser copies them into
/// every `TLSBindConfig` whose bind line does not set the field itself.
public struct TLSGlobalDefaults: Sendable, Equatable {
    /// From `ssl-default-bind-options ssl-min-ver V` / `ssl-max-ver V`.
    public var minVersion: TLSVersion?
    public var maxVersion: TLSVersion?
    /// `ssl-default-bind-ciphersuites`.
    public var ciphersuites: String?
    /// `ssl-default-bind-ciphers`.
    public var ciphers: String?
    /// `ssl-default-bind-curves`.
    public var curves: String?
    /// `tune.ssl.default-dh-param` (≥ 1024).
    public var dhParamBits: Int?
    /// `tune.ssl.lifetime`, seconds.
    public var sessionLifetimeSeconds: Int?
    public init() {}
}
