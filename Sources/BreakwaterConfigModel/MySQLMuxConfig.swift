/// A `mysql-mux NAME` section: a MySQL connection multiplexer and its MySQL-protocol admin interface.
public struct MySQLMuxConfig: Sendable, Equatable {
    public struct Endpoint: Sendable, Equatable {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public struct Admin: Sendable, Equatable {
        public var bind: Endpoint
        public var user: String
        public var password: String
        public init(bind: Endpoint, user: String, password: String) {
            self.bind = bind
            self.user = user
            self.password = password
        }
    }

    /// A `server NAME HOST:PORT hostgroup N max-connections N` line (a row of mysql_servers).
    public struct Server: Sendable, Equatable {
        public var name: String
        public var host: String
        public var port: Int
        public var hostgroup: Int
        public var maxConnections: Int
        public var weight: Int
        public var location: SourceLocation
        public init(name: String, host: String, port: Int, hostgroup: Int, maxConnections: Int, weight: Int = 1,
                    location: SourceLocation) {
            self.name = name
            self.host = host
            self.port = port
            self.hostgroup = hostgroup
            self.maxConnections = maxConnections
            self.weight = weight
            self.location = location
        }
    }

    /// A `user NAME password PW default-hostgroup N` line (a row of mysql_users).
    public struct User: Sendable, Equatable {
        public var name: String
        /// Plain text or the `*HEX` mysql_native_password hash.
        public var password: String
        public var defaultHostgroup: Int
        public var maxConnections: Int
        public var location: SourceLocation
        public init(name: String, password: String, defaultHostgroup: Int, maxConnections: Int = 10000,
                    location: SourceLocation) {
            self.name = name
            self.password = password
            self.defaultHostgroup = defaultHostgroup
            self.maxConnections = maxConnections
            self.location = location
        }
    }

    public static let defaultMaxClientConnections = 2048

    public var name: String
    public var location: SourceLocation
    public var bind: Endpoint?
    public var admin: Admin?
    /// The SQLite file holding the admin tables; nil keeps them in memory only.
    public var stateFile: String?
    public var servers: [Server] = []
    public var users: [User] = []
    /// The same setting as the admin variable `mysql-max_connections`.
    public var maxClientConnections: Int = MySQLMuxConfig.defaultMaxClientConnections
    public var multiplexing: Bool = true

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }
}
