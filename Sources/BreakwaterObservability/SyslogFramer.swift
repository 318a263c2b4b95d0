import BreakwaterConfigModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Frames a message for one log target (spec LOG-1): `<PRI>Mmm dd hh:mm:ss TAG[PID]: MESSAGE\n` and friends.
public struct SyslogFramer: Sendable {
    public let tag: String
    public let pid: Int32
    public let hostname: String

    public init(tag: String, pid: Int32 = getpid(), hostname: String = SyslogFramer.localHostname()) {
        self.tag = tag
        self.pid = pid
        self.hostname = hostname
    }

    public func frame(_ message: String, severity: Int, target: LogTarget, nowMs: Int64) -> [UInt8] {
        let pri = "<\(target.facility * 8 + severity)>"
        var line: String
        switch target.format {
        case .raw: line = message
        case .short: line = pri + message
        case .local: line = pri + Self.rfc3164Date(nowMs) + " \(tag)[\(pid)]: " + message
        case .rfc3164: line = pri + Self.rfc3164Date(nowMs) + " \(hostname) \(tag)[\(pid)]: " + message
        case .rfc5424: line = pri + "1 " + Self.rfc5424Date(nowMs) + " \(hostname) \(tag) \(pid) - - " + message
        }
        var bytes = Array(line.utf8)
        if bytes.count > target.maxLength - 1 { bytes.removeLast(bytes.count - (target.maxLength - 1)) }
        bytes.append(0x0A)
        return bytes
    }

    /// `Mmm dd hh:mm:ss`, local time, day space-padded.
    static func rfc3164Date(_ ms: Int64) -> String {
        var t = time_t(ms / 1000)
        var tmv = tm()
        localtime_r(&t, &tmv)
        let day = Int(tmv.tm_mday)
        return HTTPLogFormatter.months[Int(tmv.tm_mon)] + " " + (day < 10 ? " \(day)" : String(day)) + " "
            + HTTPLogFormatter.pad2(Int(tmv.tm_hour)) + ":" + HTTPLogFormatter.pad2(Int(tmv.tm_min)) + ":"
            + HTTPLogFormatter.pad2(Int(tmv.tm_sec))
    }

    static func rfc5424Date(_ ms: Int64) -> String {
        var t = time_t(ms / 1000)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let p2 = HTTPLogFormatter.pad2
        let micros = Int(ms % 1000) * 1000
        var frac = String(micros)
        while frac.count < 6 { frac = "0" + frac }
        return "\(Int(tmv.tm_year) + 1900)-\(p2(Int(tmv.tm_mon) + 1))-\(p2(Int(tmv.tm_mday)))T"
            + "\(p2(Int(tmv.tm_hour))):\(p2(Int(tmv.tm_min))):\(p2(Int(tmv.tm_sec))).\(frac)+00:00"
    }

    public static func localHostname() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return "-" }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Wall-clock milliseconds since the epoch.
public func wallClockMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
