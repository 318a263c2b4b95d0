/// Proxy mode (spec PRX-1). Only `http` carries traffic in Breakwater.
public enum ProxyMode: String, Sendable, Equatable {
    case http, tcp
}

/// Timeouts of a proxy in milliseconds; nil = unset (spec PRX-6). 0 means "no timeout".
public struct Timeouts: Sendable, Equatable {
    public var connect: Int?
    public var client: Int?
    public var server: Int?
    public var httpRequest: Int?
    public var httpKeepAlive: Int?
    public var queue: Int?
    public var tarpit: Int?
    public var check: Int?
    public var tunnel: Int?

    public init() {}

    /// `timeout http-request`, else `timeout client`.
    public var effectiveHTTPRequest: Int? { httpRequest ?? client }
    /// `timeout http-keep-alive`, else `timeout http-request`, else `timeout client`.
    public var effectiveKeepAlive: Int? { httpKeepAlive ?? httpRequest ?? client }
    /// `timeout queue`, else `timeout connect` (spec BE-6).
    public var effectiveQueue: Int? { queue ?? connect }
    /// `timeout tarpit`, else `timeout connect` (spec ACT-1).
    public var effectiveTarpit: Int? { tarpit ?? connect }
}

/// Boolean `option` keywords of a proxy.
public struct ProxyOptions: Sendable, Equatable {
    public var httplog = false
    public var dontlognull = false
    public var dontlogNormal = false
    public var forwardfor = false
    public var httpKeepAlive = true
    public var redispatch = false
    public init() {}
}

/// `http-reuse` (spec BE-9).
public enum HTTPReuse: String, Sendable, Equatable {
    case never, safe, aggressive, always
}

/// `balance` algorithm (spec BE-2).
public enum BalanceAlgorithm: String, Sendable, Equatable {
    case roundrobin, leastconn
}

/// One address of a `bind` line.
public struct BindConfig: Sendable, Equatable {
    /// "0.0.0.0" for `*` / empty host, "::" for `:::port`.
    public var host: String
    public var port: Int
    public var name: String?
    /// `ssl crt …`: the listener terminates TLS (spec FE-1, §11); nil = clear text.
    public var tls: TLSBindConfig?
    /// `proto h2`: HTTP/2 with prior knowledge (h2c) on a clear-text listener.
    public var h2PriorKnowledge = false
    /// `backlog N`: the listen(2) backlog; nil = HAProxy's rule (see `ConfigSnapshot.listenBacklog`).
    public var backlog: Int?
    public var location: SourceLocation
    public init(host: String, port: Int, name: String? = nil, location: SourceLocation) {
        self.host = host
        self.port = port
        self.name = name
        self.location = location
    }
}

/// A proxy with frontend capability (`frontend` or `listen`).
public struct FrontendConfig: Sendable, Equatable {
    public var name: String
    public var location: SourceLocation
    public var mode: ProxyMode = .tcp
    public var binds: [BindConfig] = []
    /// nil = use the global maxconn (spec FE-5).
    public var maxconn: Int?
    /// Resolved traffic-log targets (`log global` already expanded).
    public var logTargets: [LogTarget] = []
    public var options = ProxyOptions()
    public var timeouts = Timeouts()
    public var httpRequestRules: [HTTPRequestRule] = []
    public var useBackendRules: [UseBackendRule] = []
    public var defaultBackend: String?
    /// Stats page served by this proxy (`stats enable`), if any.
    public var statsPage: StatsPageConfig?
    /// `tcp-request connection` rules, in order.
    public var tcpConnectionRules: [TCPConnectionRule] = []
    /// A `stick-table` declared in this frontend (named after it).
    public var stickTable: StickTableConfig?

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }
}

/// A proxy with backend capability (`backend` or `listen`).
public struct BackendConfig: Sendable, Equatable {
    public var name: String
    public var location: SourceLocation
    public var mode: ProxyMode = .tcp
    public var balance: BalanceAlgorithm = .roundrobin
    public var servers: [ServerConfig] = []
    public var timeouts = Timeouts()
    /// Additional connection attempts after a failed connect (default 3).
    public var retries: Int = 3
    public var options = ProxyOptions()
    public var httpReuse: HTTPReuse = .safe
    public var httpRequestRules: [HTTPRequestRule] = []
    /// Server-state-change log targets.
    public var logTargets: [LogTarget] = []
    /// Bound on the backend queue (requests waiting for any server); keeps memory bounded.
    public var maxQueue: Int = 10_000
    /// How active checks are made for servers with `check`.
    public var checkKind: HealthCheckKind = .tcp
    /// Stats page served by this proxy (`stats enable`), if any.
    public var statsPage: StatsPageConfig?
    /// A `stick-table` declared in this backend (named after it); a table-only backend has no servers.
    public var stickTable: StickTableConfig?
    /// `use-fcgi-app NAME`, resolved (spec FCGI-1); nil for plain HTTP backends.
    public var fastCGIApp: FastCGIAppConfig?

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }
}

/// A `server` line (spec BE-1).
public struct ServerConfig: Sendable, Equatable {
    public var name: String
    public var host: String
    public var port: Int
    /// 0...256, default 1.
    public var weight: Int = 1
    /// Concurrent requests; 0 = unlimited.
    public var maxconn: Int = 0
    /// Requests waiting on this server; 0 = unlimited (bounded by the backend queue).
    public var maxqueue: Int = 0
    /// Start in maintenance.
    public var disabled: Bool = false
    public var backup: Bool = false
    /// Active and passive health settings (`check`, `inter`, `observe` …).
    public var health = HealthCheckConfig()
    /// `proto fcgi` (spec FCGI-1); `.http` by default.
    public var proto: ServerProtocol = .http
    /// Set when the server address is a UNIX socket path (`/path/to.sock`); host/port are then unused.
    public var unixSocketPath: String?
    public var location: SourceLocation

    public init(name: String, host: String, port: Int, location: SourceLocation) {
        self.name = name
        self.host = host
        self.port = port
        self.location = location
    }
}

/// `use_backend NAME [if|unless COND]`.
public struct UseBackendRule: Sendable, Equatable {
    public var backend: String
    public var condition: RuleCondition?
    public var location: SourceLocation
    public init(backend: String, condition: RuleCondition?, location: SourceLocation) {
        self.backend = backend
        self.condition = condition
        self.location = location
    }
}
