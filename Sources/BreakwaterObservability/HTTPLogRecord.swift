/// Everything one `option httplog` line says about a request (spec LOG-3).
public struct HTTPLogRecord: Sendable, Equatable {
    public var clientAddress: String
    public var clientPort: Int
    /// Wall-clock time of the request's first byte, ms since the epoch.
    public var requestDateMs: Int64
    public var frontend: String
    public var isTLS = false
    public var backend: String
    public var server: String
    /// TR/Tw/Tc/Tr/Ta in ms, −1 when not reached.
    public var tR = -1
    public var tW = -1
    public var tC = -1
    public var tr = -1
    public var tA = -1
    public var status = -1
    public var bytesOut = 0
    /// Four characters, e.g. `----`, `SC--`, `sQ--` (spec LOG-4).
    public var terminationState = "----"
    public var processConnections = 0
    public var frontendConnections = 0
    public var backendConnections = 0
    public var serverConnections = 0
    public var retries = 0
    public var redispatched = false
    public var serverQueuePosition = 0
    public var backendQueuePosition = 0
    /// Method, target and version as received; nil when no valid request was parsed (`<BADREQ>`).
    public var requestLine: String?

    public init(clientAddress: String, clientPort: Int, requestDateMs: Int64, frontend: String, backend: String,
                server: String) {
        self.clientAddress = clientAddress
        self.clientPort = clientPort
        self.requestDateMs = requestDateMs
        self.frontend = frontend
        self.backend = backend
        self.server = server
    }

    /// PRX-5: a "normal" request is not logged under `option dontlog-normal`.
    public var isNormal: Bool {
        guard let first = terminationState.first else { return false }
        if redispatched { return false }
        if first == "-" { return retries == 0 && status < 500 }
        return first == "L" && status < 500
    }
}
