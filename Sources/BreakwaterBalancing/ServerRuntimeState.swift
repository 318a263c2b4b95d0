import BreakwaterConfigModel

/// Administrative state of a server (spec CLI-7). Health (UP/DOWN) is separate and comes with checks.
public enum ServerAdminState: String, Sendable, CustomStringConvertible {
    case ready, drain, maint
    public var description: String { rawValue }
}

/// Counters and load of one server, as seen by the balancer.
public struct ServerLoad: Sendable, Equatable {
    public var name: String
    /// Requests being served right now.
    public var served: Int
    public var maxconn: Int
    public var weight: Int
    public var adminState: ServerAdminState
    public var isUp: Bool
    /// Highest `served` ever seen.
    public var maxServed: Int
    /// Requests ever handed to this server.
    public var totalSelected: Int
}

/// Snapshot of a backend's balancer for stats and tests.
public struct BackendLoad: Sendable, Equatable {
    public var servers: [ServerLoad]
    public var queued: Int
    public var maxQueued: Int
}
