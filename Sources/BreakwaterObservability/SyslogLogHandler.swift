import BreakwaterConfigModel
import Logging

/// A swift-log handler that frames each message per target and hands it to the `LogWriter`.
///
/// The syslog severity comes from the swift-log level, or from the metadata key `syslog.severity`
/// (0...7) for HAProxy's `alert`/`emerg` messages, which swift-log has no level for.
public struct SyslogLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace
    private let targets: [LogTarget]
    private let framer: SyslogFramer
    private let writer: LogWriter

    public init(targets: [LogTarget], framer: SyslogFramer, writer: LogWriter) {
        self.targets = targets
        self.framer = framer
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var severity = Self.severity(event.level)
        if case .string(let s)? = event.metadata?["syslog.severity"], let v = Int(s) { severity = v }
        let now = wallClockMs()
        let text = event.message.description
        for target in targets where severity <= target.maxLevel {
            let sev = target.minLevel.map { max(severity, $0) } ?? severity
            writer.send(framer.frame(text, severity: sev, target: target, nowMs: now), to: target.destination)
        }
    }

    static func severity(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }
}
