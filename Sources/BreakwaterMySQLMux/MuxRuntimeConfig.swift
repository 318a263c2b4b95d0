/// What the running mux uses: the admin tables' rows as applied by LOAD … TO RUNTIME (or the config at start).
public struct MuxRuntimeConfig: Sendable, Equatable {
    public enum ServerStatus: String, Sendable { case online = "ONLINE", shunned = "SHUNNED", offlineSoft = "OFFLINE_SOFT", offlineHard = "OFFLINE_HARD" }

    public struct Server: Sendable, Equatable, Hashable {
        public var hostgroup: Int
        public var host: String
        public var port: Int
        public var status: ServerStatus
        public var maxConnections: Int
        public init(hostgroup: Int, host: String, port: Int, status: ServerStatus = .online, maxConnections: Int) {
            self.hostgroup = hostgroup
            self.host = host
            self.port = port
            self.status = status
            self.maxConnections = maxConnections
        }
        var key: String { "\(hostgroup)/\(host):\(port)" }
        /// What the monitor watches: one server in several hostgroups is pinged once.
        var hostPort: String { "\(host):\(port)" }
    }

    public struct User: Sendable, Equatable {
        public var name: String
        /// Plain text or `*HEX`; backends are opened with it, so a hashed password only works for clients.
        public var password: String
        public var defaultHostgroup: Int
        public var active: Bool
        public init(name: String, password: String, defaultHostgroup: Int, active: Bool = true) {
            self.name = name
            self.password = password
            self.defaultHostgroup = defaultHostgroup
            self.active = active
        }
    }

    public var servers: [Server]
    public var users: [User]
    /// `mysql-max_connections`: client connections beyond it get error 1040.
    public var maxClientConnections: Int
    /// `mysql-multiplexing`
    public var multiplexing: Bool
    /// `mysql-connect_timeout_server_max` in ms: how long a statement waits for a free backend connection.
    public var connectTimeoutServerMaxMs: Int
    /// `mysql-connect_timeout_server` in ms: one backend connect attempt.
    public var connectTimeoutServerMs: Int
    /// The bound of the FIFO of statements waiting for a backend connection, per hostgroup.
    public var maxQueuedStatements: Int
    /// The `mysql-monitor_*` variables.
    public var monitor = MuxMonitorSettings()

    public init(
        servers: [Server] = [], users: [User] = [], maxClientConnections: Int = 2048, multiplexing: Bool = true,
        connectTimeoutServerMaxMs: Int = 10000, connectTimeoutServerMs: Int = 1000, maxQueuedStatements: Int = 100_000
    ) {
        self.servers = servers
        self.users = users
        self.maxClientConnections = maxClientConnections
        self.multiplexing = multiplexing
        self.connectTimeoutServerMaxMs = connectTimeoutServerMaxMs
        self.connectTimeoutServerMs = connectTimeoutServerMs
        self.maxQueuedStatements = maxQueuedStatements
    }

    func user(named name: String) -> User? { users.first { $0.name == name && $0.active } }
}
