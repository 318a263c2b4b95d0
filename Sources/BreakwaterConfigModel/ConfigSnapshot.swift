/// The immutable, validated result of parsing an HAProxy-dialect configuration.
///
/// Produced by `BreakwaterConfig.ConfigParser`; consumed by the data path and the control plane.
/// Cross references (backend names, ACL names) are already resolved and checked.
public struct ConfigSnapshot: Sendable, Equatable {
    public var global: GlobalSettings
    public var frontends: [FrontendConfig]
    /// Every proxy with backend capability (`backend` and `listen` sections), in declaration order.
    public var backends: [BackendConfig]
    /// Data-tier sections, in declaration order (each model in its own file).
    public var mysqlMuxes: [MySQLMuxConfig] = []
    public var telemetrySections: [TelemetryConfig] = []
    public var jobSections: [JobsConfig] = []

    public init(global: GlobalSettings = GlobalSettings(), frontends: [FrontendConfig] = [], backends: [BackendConfig] = []) {
        self.global = global
        self.frontends = frontends
        self.backends = backends
    }

    public func backend(named name: String) -> BackendConfig? {
        backends.first { $0.name == name }
    }
}

/// Where a directive was written, for diagnostics and for `show` commands.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }
    public var description: String { "\(file):\(line)" }
}
