import BreakwaterConfigModel

/// What kind of section a proxy draft comes from.
enum ProxyKind: String {
    case defaults, frontend, backend, listen

    var hasFrontendCapability: Bool { self == .frontend || self == .listen || self == .defaults }
    var hasBackendCapability: Bool { self == .backend || self == .listen || self == .defaults }
}

/// Parameters a `default-server` line sets for the `server` lines that follow it.
struct ServerParams: Equatable {
    var weight = 1
    var maxconn = 0
    var maxqueue = 0
    var disabled = false
    var backup = false
}

/// `log global` or an explicit target; `log global` is expanded when the snapshot is built.
enum LogEntry: Equatable {
    case global
    case target(LogTarget)
}

/// A condition whose named ACLs are resolved when the proxy section ends (an ACL's later lines
/// still add to it, as in HAProxy).
struct PendingFactor {
    var negated: Bool
    var name: String?
    /// Name to look up in the proxy's ACLs at the end of the section; nil for anonymous/built-in ACLs.
    var lookupName: String?
    var tests: [ACLTest]
}

struct PendingCondition {
    var polarity: RuleCondition.Polarity
    var terms: [[PendingFactor]]
}

struct PendingHTTPRule {
    var action: HTTPRequestRule.Action
    var condition: PendingCondition?
    var location: SourceLocation
}

struct PendingUseBackend {
    var backend: String
    var condition: PendingCondition?
    var location: SourceLocation
}

/// A proxy (or defaults section) while its lines are being read.
struct ProxyDraft {
    var kind: ProxyKind
    var name: String
    var location: SourceLocation

    // Inherited from `defaults`.
    var mode: ProxyMode = .tcp
    var modeLocation: SourceLocation?
    var options = ProxyOptions()
    var timeouts = Timeouts()
    var retries = 3
    var maxconn: Int?
    var balance: BalanceAlgorithm = .roundrobin
    var httpReuse: HTTPReuse = .safe
    var logEntries: [LogEntry] = []
    var defaultBackend: String?
    var defaultBackendLocation: SourceLocation?
    var defaultServer = ServerParams()

    // Never inherited.
    var binds: [BindConfig] = []
    var servers: [ServerConfig] = []
    var aclOrder: [String] = []
    var acls: [String: [ACLTest]] = [:]
    var httpRules: [PendingHTTPRule] = []
    var useBackends: [PendingUseBackend] = []

    init(kind: ProxyKind, name: String, location: SourceLocation) {
        self.kind = kind
        self.name = name
        self.location = location
    }

    /// A new proxy inheriting the settings (not the rules) of `defaults`.
    init(kind: ProxyKind, name: String, location: SourceLocation, inheriting d: ProxyDraft) {
        self = d
        self.kind = kind
        self.name = name
        self.location = location
        binds = []
        servers = []
        aclOrder = []
        acls = [:]
        httpRules = []
        useBackends = []
    }

    var sectionDescription: String { "\(kind.rawValue) '\(name)'" }

    /// Whether the proxy forwards traffic to servers (a table-only backend never does).
    var carriesBackendTraffic: Bool { kind.hasBackendCapability && kind != .defaults && !servers.isEmpty }
}
