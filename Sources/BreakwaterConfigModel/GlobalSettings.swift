/// Settings of the `global` section (spec §2).
public struct GlobalSettings: Sendable, Equatable {
    /// Process-wide ceiling on concurrent client connections; nil = automatic (`min(nofile/2, 100000)`).
    public var maxconn: Int?
    /// Event loops; nil = number of CPUs.
    public var nbthread: Int?
    public var logTargets: [LogTarget] = []
    public var logTag: String?
    public var pidfile: String?
    public var daemon: Bool = false
    public var statsSockets: [StatsSocketConfig] = []
    /// Idle timeout of an admin-socket connection (`stats timeout`), ms.
    public var statsTimeoutMs: Int = 10_000
    /// Concurrent admin-socket connections (`stats maxconn`).
    public var statsMaxconn: Int = 10
    /// `spread-checks` percentage, 0...50.
    public var spreadChecks: Int = 0
    /// Maximum size of one request header block, bytes (`tune.bufsize`-like bound).
    public var maxHeaderBytes: Int = 16_384
    /// Maximum number of header fields in one message (`tune.http.maxhdr`).
    public var maxHeaderCount: Int = 101
    /// Idle server connections kept per server per event loop (`pool-max-conn` analogue). High enough
    /// that a busy proxy never churns server connections (ephemeral ports), bounded all the same.
    public var maxIdleConnectionsPerServer: Int = 1024
    /// `ssl-default-bind-*`, `tune.ssl.*` (GLB-3, GLB-6).
    public var tlsDefaults = TLSGlobalDefaults()

    public init() {}
}

/// Privilege of an admin-socket connection (spec CLI-1).
public enum AdminLevel: Int, Sendable, Comparable, CustomStringConvertible {
    case user = 0
    case `operator` = 1
    case admin = 2

    public static func < (lhs: AdminLevel, rhs: AdminLevel) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String {
        switch self {
        case .user: return "user"
        case .operator: return "operator"
        case .admin: return "admin"
        }
    }
}

/// One `stats socket` line.
public struct StatsSocketConfig: Sendable, Equatable {
    public enum Address: Sendable, Equatable {
        case unix(path: String)
        case tcp(host: String, port: Int)
    }
    public var address: Address
    /// Permission bits of a UNIX socket file; default 0600 (spec Appendix C.6).
    public var mode: UInt32 = 0o600
    public var level: AdminLevel = .operator
    /// `expose-fd listeners`: this socket may hand the listening sockets to a new process (hitless reload).
    public var exposeFDListeners = false
    public var location: SourceLocation

    public init(address: Address, mode: UInt32 = 0o600, level: AdminLevel = .operator, location: SourceLocation) {
        self.address = address
        self.mode = mode
        self.level = level
        self.location = location
    }
}
