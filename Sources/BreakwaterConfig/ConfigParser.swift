import BreakwaterConfigModel
import Foundation

/// Parses HAProxy-dialect configuration files into an immutable `ConfigSnapshot` (spec §1).
public struct ConfigParser: Sendable {
    public var environment: [String: String]
    /// Turns seed-compatibility warnings (spec §16) into errors.
    public var strict: Bool

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, strict: Bool = false) {
        self.environment = environment
        self.strict = strict
    }

    /// Several sources behave as if concatenated; line numbers are per source.
    public func parse(_ sources: [ConfigSource]) -> ConfigParseResult {
        var session = ConfigParseSession(environment: environment, strict: strict)
        for source in sources {
            session.parse(source)
        }
        return session.finish()
    }

    /// Reads and parses files; a directory stands for its `*.cfg` files in lexical order (as in
    /// HAProxy). An unreadable file is a whole-file error (line 0) naming the OS error.
    public func load(paths: [String]) -> ConfigParseResult {
        var session = ConfigParseSession(environment: environment, strict: strict)
        for path in paths {
            switch ConfigFiles.expand(path) {
            case .failure(let problem):
                session.hadUnreadableFile = true
                session.error(problem.message, SourceLocation(file: path, line: 0))
            case .success(let files):
                for file in files {
                    switch ConfigFiles.read(file) {
                    case .success(let text): session.parse(ConfigSource(path: file, text: text))
                    case .failure(let problem):
                        session.hadUnreadableFile = true
                        session.error(problem.message, SourceLocation(file: file, line: 0))
                    }
                }
            }
        }
        return session.finish()
    }
}

/// Which kind of section the current line belongs to.
enum SectionState: Equatable {
    case none
    case global
    /// Defaults or a proxy: `ConfigParseSession.current` holds the draft.
    case proxy
    /// A section that was rejected as a whole; its body is skipped without further errors.
    case skipped
    /// An `fcgi-app` section: `ConfigParseSession.currentApp` holds the draft.
    case fcgiApp
    /// A `mysql-mux` section (ConfigParser+MySQLMux.swift).
    case mysqlMux
    /// A `telemetry` section (ConfigParser+Telemetry.swift).
    case telemetry
    /// A `jobs` section (ConfigParser+Jobs.swift).
    case jobs
}

/// One parsing run: mutable state behind `ConfigParser.parse`.
struct ConfigParseSession {
    static let maxErrors = 100

    let lexer: ConfigLexer
    let strict: Bool
    var diagnostics: [Diagnostic] = []
    var errorCount = 0
    var capped = false

    var global = GlobalSettings()
    var defaults = ProxyDraft(kind: .defaults, name: "", location: SourceLocation(file: "", line: 0))
    var section: SectionState = .none
    var current: ProxyDraft?
    var finished: [ProxyDraft] = []
    var frontendNames: [String: SourceLocation] = [:]
    var backendNames: [String: SourceLocation] = [:]
    var firstFile: String?
    /// A configuration file could not be read (its error explains an empty result).
    var hadUnreadableFile = false
    /// The `fcgi-app` section being read, the finished ones, and where each name was first declared.
    var currentApp: FastCGIAppDraft?
    var fcgiApps: [FastCGIAppDraft] = []
    var fcgiAppNames: [String: SourceLocation] = [:]
    /// `fcgi-app` name → configuration, filled in by `resolveFastCGI` (second pass).
    var resolvedFastCGIApps: [String: FastCGIAppConfig] = [:]
    /// Data-tier sections: the one being read and the finished ones (each in its own file).
    var currentMux: MySQLMuxDraft?
    var mysqlMuxes: [MySQLMuxConfig] = []
    var currentTelemetry: TelemetryDraft?
    var telemetrySections: [TelemetryConfig] = []
    var currentJobs: JobsDraft?
    var jobSections: [JobsConfig] = []

    init(environment: [String: String], strict: Bool) {
        lexer = ConfigLexer(environment: environment)
        self.strict = strict
    }

    // MARK: diagnostics

    mutating func error(_ message: String, _ location: SourceLocation) {
        add(Diagnostic(severity: .error, location: location, message: message))
    }

    mutating func warning(_ message: String, _ location: SourceLocation) {
        add(Diagnostic(severity: .warning, location: location, message: message))
    }

    /// A seed-compatibility extension (spec §16): a warning, or an error in strict mode.
    mutating func seedWarning(_ message: String, _ location: SourceLocation) {
        add(Diagnostic(severity: strict ? .error : .warning, location: location, message: message, isSeedExtension: true))
    }

    mutating func add(_ d: Diagnostic) {
        if capped { return }
        if d.severity == .error {
            if errorCount >= Self.maxErrors {
                capped = true
                diagnostics.append(Diagnostic(severity: .error, location: d.location,
                                              message: "too many errors (more than \(Self.maxErrors)), stopping"))
                return
            }
            errorCount += 1
        }
        diagnostics.append(d)
    }

    /// Runs a throwing value parser, turning a `ConfigError` into a diagnostic.
    mutating func attempt<T>(_ location: SourceLocation, _ body: () throws -> T) -> T? {
        do {
            return try body()
        } catch let e as ConfigError {
            error(e.message, location)
        } catch {
            self.error("\(error)", location)
        }
        return nil
    }

    // MARK: lines and sections

    mutating func parse(_ source: ConfigSource) {
        if firstFile == nil { firstFile = source.path }
        var lineNumber = 0
        for rawLine in source.text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            var line = String(rawLine)
            if line.hasSuffix("\r") { line.removeLast() }
            let location = SourceLocation(file: source.path, line: lineNumber)
            let words: [String]
            do {
                words = try lexer.split(line)
            } catch let e as ConfigError {
                // A bad line still opens a section if it starts with a section keyword.
                if section == .skipped { continue }
                error(e.message, location)
                continue
            } catch {
                continue
            }
            guard !words.isEmpty else { continue }
            handle(words, location)
        }
    }

    static let sectionKeywords: Set<String> = ["global", "defaults", "frontend", "backend", "listen"]

    mutating func handle(_ words: [String], _ loc: SourceLocation) {
        let kw = words[0]
        if Self.sectionKeywords.contains(kw) {
            closeSection()
            openSection(words, loc)
            return
        }
        if UnsupportedKeywords.sections.contains(kw) {
            closeSection()
            error("section '\(kw)' is not supported by breakwater", loc)
            section = .skipped
            return
        }
        if kw == "fcgi-app" {
            closeSection()
            openFastCGIApp(words, loc)
            return
        }
        if kw == "mysql-mux" {
            closeSection()
            openMySQLMux(words, loc)
            return
        }
        if kw == "telemetry" {
            closeSection()
            openTelemetry(words, loc)
            return
        }
        if kw == "jobs" {
            closeSection()
            openJobs(words, loc)
            return
        }
        switch section {
        case .none:
            error("unknown keyword '\(kw)' out of section", loc)
        case .skipped:
            return
        case .global:
            parseGlobalLine(words, loc)
        case .proxy:
            parseProxyLine(words, loc)
        case .fcgiApp:
            parseFastCGIAppLine(words, loc)
        case .mysqlMux:
            parseMySQLMuxLine(words, loc)
        case .telemetry:
            parseTelemetryLine(words, loc)
        case .jobs:
            parseJobsLine(words, loc)
        }
    }

    mutating func openSection(_ words: [String], _ loc: SourceLocation) {
        let kw = words[0]
        if kw == "global" {
            if words.count > 1 { error("'global' takes no argument", loc) }
            section = .global
            return
        }
        let kind = ProxyKind(rawValue: kw)!
        var name = ""
        if words.count > 1 {
            name = words[1]
            if words.count > 2 {
                error("'\(kw) \(name)' takes no argument after the name ('from' is not supported)", loc)
            }
        } else if kind != .defaults {
            error("'\(kw)' expects <name> as an argument", loc)
        }
        if !name.isEmpty || kind != .defaults, let bad = Self.badNameCharacter(name) {
            error("character '\(bad)' is not permitted in \(kw) name '\(name)'", loc)
        }
        if kind == .defaults {
            // Each defaults section starts again from the built-in defaults.
            current = ProxyDraft(kind: .defaults, name: name, location: loc)
            section = .proxy
            return
        }
        if !name.isEmpty {
            if kind.hasFrontendCapability {
                if let prev = frontendNames[name] {
                    error("\(kw) '\(name)' has the same name as another proxy with frontend capability declared at \(prev)", loc)
                } else {
                    frontendNames[name] = loc
                }
            }
            if kind.hasBackendCapability {
                if let prev = backendNames[name] {
                    error("\(kw) '\(name)' has the same name as another proxy with backend capability declared at \(prev)", loc)
                } else {
                    backendNames[name] = loc
                }
            }
        }
        current = ProxyDraft(kind: kind, name: name, location: loc, inheriting: defaults)
        section = .proxy
    }

    static func badNameCharacter(_ name: String) -> Character? {
        if name.isEmpty { return nil }
        return name.first { c in
            !(c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "." || c == ":" || c == "-"))
        }
    }

    mutating func closeSection() {
        if section == .proxy, var draft = current {
            finishServers(&draft)
            if draft.kind == .defaults {
                defaults = draft
            } else {
                finished.append(draft)
            }
        }
        if section == .fcgiApp { closeFastCGIApp() }
        if section == .mysqlMux { closeMySQLMux() }
        if section == .telemetry { closeTelemetry() }
        if section == .jobs { closeJobs() }
        current = nil
        section = .none
    }

    // MARK: end of input

    mutating func finish() -> ConfigParseResult {
        closeSection()
        resolveFastCGI()
        var snapshot = buildSnapshot()
        resolveServerPorts(&snapshot)
        validate(snapshot)
        let ok = !diagnostics.contains { $0.severity == .error }
        return ConfigParseResult(snapshot: ok ? snapshot : nil, diagnostics: diagnostics)
    }

    func resolve(_ c: PendingCondition?, in draft: ProxyDraft) -> RuleCondition? {
        resolve(c, acls: draft.acls)
    }

    /// Resolves named ACLs against `acls` (complete once their section has ended).
    func resolve(_ c: PendingCondition?, acls: [String: [ACLTest]]) -> RuleCondition? {
        guard let c else { return nil }
        let terms = c.terms.map { term in
            term.map { f in
                ConditionFactor(negated: f.negated, name: f.name,
                                tests: f.lookupName.flatMap { acls[$0] } ?? f.tests)
            }
        }
        return RuleCondition(polarity: c.polarity, terms: terms)
    }

    func logTargets(_ entries: [LogEntry]) -> [LogTarget] {
        entries.flatMap { e -> [LogTarget] in
            switch e {
            case .global: return global.logTargets
            case .target(let t): return [t]
            }
        }
    }

    func buildSnapshot() -> ConfigSnapshot {
        var snap = ConfigSnapshot(global: global)
        snap.mysqlMuxes = mysqlMuxes
        snap.telemetrySections = telemetrySections
        snap.jobSections = jobSections
        for d in finished {
            let rules = d.httpRules.map {
                HTTPRequestRule(action: $0.action, condition: resolve($0.condition, in: d), location: $0.location)
            }
            if d.kind.hasFrontendCapability {
                var f = FrontendConfig(name: d.name, location: d.location)
                f.mode = d.mode
                f.binds = d.binds
                f.maxconn = d.maxconn
                f.logTargets = logTargets(d.logEntries)
                f.options = d.options
                f.timeouts = d.timeouts
                f.httpRequestRules = rules
                f.useBackendRules = d.useBackends.map {
                    UseBackendRule(backend: $0.backend, condition: resolve($0.condition, in: d), location: $0.location)
                }
                f.defaultBackend = d.defaultBackend ?? (d.kind == .listen ? d.name : nil)
                f.statsPage = d.statsPage
                f.tcpConnectionRules = d.tcpRules.map {
                    TCPConnectionRule(action: $0.action, condition: resolve($0.condition, in: d), location: $0.location)
                }
                // One table per name: a listen section's table lives on its backend side.
                f.stickTable = d.kind == .frontend ? d.stickTable : nil
                snap.frontends.append(f)
            }
            if d.kind.hasBackendCapability {
                var b = BackendConfig(name: d.name, location: d.location)
                b.mode = d.mode
                b.balance = d.balance
                b.servers = d.servers
                b.timeouts = d.timeouts
                b.retries = d.retries
                b.options = d.options
                b.httpReuse = d.httpReuse
                // A listen section's rules run once, on its frontend side.
                b.httpRequestRules = d.kind == .listen ? [] : rules
                b.logTargets = logTargets(d.logEntries)
                b.checkKind = healthCheckKind(d)
                // A listen section serves its stats page once, on its frontend side (like its rules).
                b.statsPage = d.kind == .listen ? nil : d.statsPage
                b.stickTable = d.stickTable
                b.fastCGIApp = d.fcgiAppName.flatMap { resolvedFastCGIApps[$0] }
                snap.backends.append(b)
            }
        }
        return snap
    }
}
