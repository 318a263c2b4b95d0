/// A log destination (`log TARGET [len N] [format F] FACILITY [MAX [MIN]]`, spec GLB-1, LOG-1).
public struct LogTarget: Sendable, Equatable {
    public enum Destination: Sendable, Equatable {
        case stdout
        case stderr
        /// UDP syslog.
        case udp(host: String, port: Int)
        /// Datagram UNIX socket (e.g. /dev/log).
        case unixDatagram(path: String)
    }
    public enum Format: String, Sendable, Equatable, CaseIterable {
        case local, rfc3164, rfc5424, raw, short
    }
    public var destination: Destination
    public var format: Format = .local
    /// Messages longer than this are truncated (80...65535).
    public var maxLength: Int = 1024
    /// Syslog facility number (kern=0 ... local7=23).
    public var facility: Int
    /// Only messages at least this severe are sent (0 emerg ... 7 debug).
    public var maxLevel: Int = 7
    /// More severe messages are clamped to this level, if set.
    public var minLevel: Int?

    public init(destination: Destination, format: Format = .local, maxLength: Int = 1024, facility: Int, maxLevel: Int = 7, minLevel: Int? = nil) {
        self.destination = destination
        self.format = format
        self.maxLength = maxLength
        self.facility = facility
        self.maxLevel = maxLevel
        self.minLevel = minLevel
    }

    public static let facilities = [
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2", "ftp",
        "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
    ]
    public static let levels = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]
}
