import BreakwaterConfigModel

/// One configuration file (or an in-memory text with a display path).
public struct ConfigSource: Sendable {
    public var path: String
    public var text: String
    public init(path: String, text: String) {
        self.path = path
        self.text = text
    }
}

public enum DiagnosticSeverity: String, Sendable {
    case error, warning
}

/// An error or warning attached to a file and line (spec CFG-5).
public struct Diagnostic: Sendable, CustomStringConvertible, Equatable {
    public var severity: DiagnosticSeverity
    public var location: SourceLocation
    public var message: String
    /// A seed-compatibility warning (spec §16, SEED-x); `strict` mode promotes it to an error.
    public var isSeedExtension: Bool

    public init(severity: DiagnosticSeverity, location: SourceLocation, message: String, isSeedExtension: Bool = false) {
        self.severity = severity
        self.location = location
        self.message = message
        self.isSeedExtension = isSeedExtension
    }

    /// `FILE:LINE: error: MESSAGE` / `FILE:LINE: warning: MESSAGE`.
    public var description: String {
        "\(location.file):\(location.line): \(severity.rawValue): \(message)"
    }
}

/// What `ConfigParser.parse` returns.
public struct ConfigParseResult: Sendable {
    /// nil when there is any error.
    public var snapshot: ConfigSnapshot?
    /// In file order, then cross-reference diagnostics.
    public var diagnostics: [Diagnostic]

    public init(snapshot: ConfigSnapshot?, diagnostics: [Diagnostic]) {
        self.snapshot = snapshot
        self.diagnostics = diagnostics
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
    public var errors: [Diagnostic] { diagnostics.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { diagnostics.filter { $0.severity == .warning } }

    /// One line for `breakwater check`.
    public var summary: String {
        let nWarn = warnings.count
        let warnText = plural(nWarn, "warning")
        if let snapshot, !hasErrors {
            let servers = snapshot.backends.reduce(0) { $0 + $1.servers.count }
            var s = "Configuration file is valid: \(plural(snapshot.frontends.count, "frontend")), "
                + "\(plural(snapshot.backends.count, "backend")), \(plural(servers, "server"))"
            // Data-tier sections are named only when present, so edge-only summaries stay HAProxy's.
            let sections = [(snapshot.mysqlMuxes.count, "mysql-mux section"),
                            (snapshot.telemetrySections.count, "telemetry section"),
                            (snapshot.jobSections.count, "jobs section")].filter { $0.0 > 0 }
            for (n, word) in sections { s += ", \(plural(n, word))" }
            if nWarn > 0 { s += " (\(warnText))" }
            return s
        }
        var s = "Configuration file is invalid: \(plural(errors.count, "error"))"
        if nWarn > 0 { s += ", \(warnText)" }
        return s
    }

    private func plural(_ n: Int, _ word: String) -> String {
        "\(n) \(word)\(n == 1 ? "" : "s")"
    }
}

/// Error thrown by value parsers; the caller attaches the location.
struct ConfigError: Error, Equatable {
    var message: String
    init(_ message: String) { self.message = message }
}
