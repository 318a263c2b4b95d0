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
    /// `check`, `inter`, `observe` … (spec HC-2, OBS-1).
    var health = HealthCheckConfig()
    /// Health parameters written so far (any source: this line, `default-server`, `defaults`, SEED-1), in
    /// first-written order; a final server that has some of them but not `check` gets a warning (Appendix C.8).
    var healthParamsGiven: [String] = []
    /// Health parameters written by a line of the current section (the server line itself or one of the
    /// section's `default-server` lines). SEED-1 backend lines only fill in the others.
    var healthParamsSetInSection: Set<String> = []
    /// `proto fcgi` / `proto h1` when written (on the line or a `default-server` line); nil = not written
    /// (SEED-4 looks at whether any server of a FastCGI backend wrote one).
    var proto: ServerProtocol?

    mutating func noteGiven(_ keyword: String) {
        if !healthParamsGiven.contains(keyword) { healthParamsGiven.append(keyword) }
        healthParamsSetInSection.insert(keyword)
    }
}

/// `observe` / `error-limit` / `on-error` written as section lines (spec SEED-1): an implicit
/// `default-server` line at the top of the section.
struct SeedServerDefaults: Equatable {
    var observe: ObserveMode?
    var errorLimit: Int?
    var onError: OnErrorAction?

    var isEmpty: Bool { observe == nil && errorLimit == nil && onError == nil }

    /// Fills in the values `params` did not set in its own section.
    func apply(to params: inout ServerParams) {
        if let observe, !params.healthParamsSetInSection.contains("observe") {
            params.health.observe = observe
            params.noteGiven("observe")
        }
        if let errorLimit, !params.healthParamsSetInSection.contains("error-limit") {
            params.health.errorLimit = errorLimit
            params.noteGiven("error-limit")
        }
        if let onError, !params.healthParamsSetInSection.contains("on-error") {
            params.health.onError = onError
            params.noteGiven("on-error")
        }
    }
}

/// `option tcp-check` / `option httpchk` of a proxy; `http-check expect` is kept apart (either order works).
enum DraftCheckKind: Equatable {
    case tcp
    case http(method: String, uri: String, version: String)
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

/// One `tcp-request connection` rule while its section is read.
struct PendingTCPRule {
    var action: TCPConnectionRule.Action
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
    /// A `mode` line here (or in the defaults it inherits) was invalid and already reported.
    var hasFailedMode = false
    /// A `bind` line here was invalid and already reported.
    var hasFailedBind = false
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
    var checkKind: DraftCheckKind = .tcp
    var httpCheckExpectStatus: Int?
    var httpCheckExpectLocation: SourceLocation?
    var statsPage: StatsPageConfig?

    // Never inherited.
    var binds: [BindConfig] = []
    var servers: [ServerConfig] = []
    /// Per server (parallel to `servers`): the parameters as parsed, before SEED-1 lines are applied.
    var serverParams: [ServerParams] = []
    /// SEED-1 lines of this section; a `defaults` section folds them into `defaultServer` when it ends.
    var seedServerDefaults = SeedServerDefaults()
    var aclOrder: [String] = []
    var acls: [String: [ACLTest]] = [:]
    var httpRules: [PendingHTTPRule] = []
    var useBackends: [PendingUseBackend] = []
    /// `tcp-request connection` rules (frontend/listen).
    var tcpRules: [PendingTCPRule] = []
    /// `stick-table` of this proxy (at most one, STK-1) and the line declaring it.
    var stickTable: StickTableConfig?
    var stickTableLocation: SourceLocation?
    /// `use-fcgi-app NAME` (backend/listen) and its line; resolved in the second pass (FCGI-1).
    var fcgiAppName: String?
    var fcgiAppLocation: SourceLocation?

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
        hasFailedBind = false
        servers = []
        serverParams = []
        seedServerDefaults = SeedServerDefaults()
        // `default-server` lines of this section come after the inherited ones.
        defaultServer.healthParamsSetInSection = []
        aclOrder = []
        acls = [:]
        httpRules = []
        useBackends = []
        tcpRules = []
        stickTable = nil
        stickTableLocation = nil
        fcgiAppName = nil
        fcgiAppLocation = nil
    }

    var sectionDescription: String { "\(kind.rawValue) '\(name)'" }

    /// Whether the proxy forwards traffic to servers (a table-only backend never does).
    var carriesBackendTraffic: Bool { kind.hasBackendCapability && kind != .defaults && !servers.isEmpty }
}
