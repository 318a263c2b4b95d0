/// Active health-check settings of one server (spec HC-1, HC-2) and passive observation (OBS-1).
public struct HealthCheckConfig: Sendable, Equatable {
    /// `check` was given: the server is actively checked. Without it the server is always UP.
    public var enabled = false
    /// `port`: check this TCP port instead of the server's.
    public var port: Int?
    /// `addr`: check this address instead of the server's.
    public var address: String?
    /// `inter`, ms (default 2000).
    public var inter = 2000
    /// `fastinter`, ms; nil = `inter`.
    public var fastinter: Int?
    /// `downinter`, ms; nil = `inter`.
    public var downinter: Int?
    public var rise = 2
    public var fall = 3
    public var observe: ObserveMode = .none
    /// Consecutive passive errors before `on-error` applies (default 10).
    public var errorLimit = 10
    public var onError: OnErrorAction = .failCheck
    /// `on-marked-down shutdown-sessions`: a server marked DOWN has its sessions closed.
    public var shutdownSessionsOnDown = false

    public init() {}

    public var effectiveFastinter: Int { fastinter ?? inter }
    public var effectiveDowninter: Int { downinter ?? inter }
}

/// `observe` (spec OBS-1).
public enum ObserveMode: String, Sendable, Equatable {
    case none, layer4, layer7
}

/// `on-error` (spec OBS-4).
public enum OnErrorAction: String, Sendable, Equatable {
    case fastinter
    case failCheck = "fail-check"
    case suddenDeath = "sudden-death"
    case markDown = "mark-down"
}

/// What an active check does for a backend (spec HC-1, HC-5).
public enum HealthCheckKind: Sendable, Equatable {
    /// Layer-4 connect and abortive close (`check` alone, or `option tcp-check`).
    case tcp
    /// `option httpchk [METHOD URI [VERSION]]` + optional `http-check expect status N`.
    case http(method: String, uri: String, version: String, expectStatus: Int?)
}

/// `stats enable` / `stats uri` / `stats refresh` of a proxy (HTML status page).
public struct StatsPageConfig: Sendable, Equatable {
    public var uri: String = "/haproxy?stats"
    /// Auto-refresh interval, ms; nil = none.
    public var refreshMs: Int?
    public init() {}
}
