#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Renders `HTTPLogRecord`s in HAProxy's httplog layout:
/// `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r`
public enum HTTPLogFormatter {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    public static func format(_ r: HTTPLogRecord) -> String {
        var out = ""
        out.reserveCapacity(160)
        out += r.clientAddress
        out += ":"
        out += String(r.clientPort)
        out += " ["
        out += accessDate(r.requestDateMs)
        out += "] "
        out += r.frontend
        if r.isTLS { out += "~" }
        out += " \(r.backend)/\(r.server) \(r.tR)/\(r.tW)/\(r.tC)/\(r.tr)/\(r.tA) \(r.status) \(r.bytesOut) - - "
        out += r.terminationState
        out += " \(r.processConnections)/\(r.frontendConnections)/\(r.backendConnections)/\(r.serverConnections)/"
        out += (r.redispatched ? "+" : "") + String(r.retries)
        out += " \(r.serverQueuePosition)/\(r.backendQueuePosition) \""
        out += r.requestLine.map(escapeRequestLine) ?? "<BADREQ>"
        out += "\""
        return out
    }

    /// `dd/Mon/yyyy:HH:MM:SS.mmm` in local time.
    public static func accessDate(_ epochMs: Int64) -> String {
        var t = time_t(epochMs / 1000)
        var tmv = tm()
        localtime_r(&t, &tmv)
        let ms = Int(epochMs % 1000)
        return pad2(Int(tmv.tm_mday)) + "/" + months[Int(tmv.tm_mon)] + "/" + String(Int(tmv.tm_year) + 1900) + ":"
            + pad2(Int(tmv.tm_hour)) + ":" + pad2(Int(tmv.tm_min)) + ":" + pad2(Int(tmv.tm_sec)) + "." + pad3(ms)
    }

    /// Bytes outside printable ASCII and `"` become `#XX` (LOG-3 field 13).
    public static func escapeRequestLine(_ s: String) -> String {
        var needs = false
        for b in s.utf8 where b < 0x20 || b >= 0x7F || b == 0x22 || b == 0x23 {
            needs = true
            break
        }
        guard needs else { return s }
        var out = ""
        for b in s.utf8 {
            if b < 0x20 || b >= 0x7F || b == 0x22 || b == 0x23 {
                out += "#" + hex2(b)
            } else {
                out.unicodeScalars.append(Unicode.Scalar(b))
            }
        }
        return out
    }

    static func pad2(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
    static func pad3(_ v: Int) -> String { v < 10 ? "00\(v)" : (v < 100 ? "0\(v)" : String(v)) }
    static func hex2(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String(digits[Int(b >> 4)]) + String(digits[Int(b & 0xF)])
    }
}
