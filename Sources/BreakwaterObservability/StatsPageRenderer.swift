/// The HTML statistics page, modelled on HAProxy's: a short process summary, then one table per
/// proxy with its FRONTEND row, one row per server and its BACKEND row, rows coloured by state.
public enum StatsPageRenderer {
    /// Process-wide facts printed above the tables.
    public struct ProcessInfo: Sendable {
        public var version: String
        public var pid: Int
        public var uptimeSeconds: Int
        public var currentConnections: Int
        public var maxconn: Int
        public var nodeName: String
        public init(version: String, pid: Int, uptimeSeconds: Int, currentConnections: Int, maxconn: Int, nodeName: String) {
            self.version = version
            self.pid = pid
            self.uptimeSeconds = uptimeSeconds
            self.currentConnections = currentConnections
            self.maxconn = maxconn
            self.nodeName = nodeName
        }
    }

    /// Background colour of each state class (legend order).
    public static let colours: [(DisplayState, String, String)] = [
        (.up, "#c0ffc0", "active UP"),
        (.goingDown, "#ffd080", "active UP, going down"),
        (.goingUp, "#ffe0a0", "active DOWN, going up"),
        (.down, "#ff9090", "active or backup DOWN"),
        (.maint, "#c0a080", "MAINT (set by admin)"),
        (.drain, "#a0d0ff", "DRAIN (set by admin)"),
        (.noCheck, "#e0f0e0", "not checked"),
    ]

    static func cssClass(_ state: DisplayState) -> String {
        switch state {
        case .up: return "up"
        case .goingDown: return "goingdown"
        case .goingUp: return "goingup"
        case .down: return "down"
        case .maint: return "maint"
        case .drain: return "drain"
        case .noCheck: return "nocheck"
        case .unknown: return "unknown"
        }
    }

    public static func render(rows: [StatsRow], info: ProcessInfo, refreshMs: Int?) -> String {
        var html = "<!DOCTYPE html>\n<html><head>\n<meta charset=\"utf-8\">\n"
        if let refreshMs, refreshMs > 0 {
            html += "<meta http-equiv=\"refresh\" content=\"\(max(1, (refreshMs + 999) / 1000))\">\n"
        }
        html += "<title>Statistics Report for Breakwater on \(escape(info.nodeName))</title>\n<style>\n"
        html += "body{font-family:arial,helvetica,sans-serif;font-size:12px;margin:8px}\n"
        html += "table.px{border-collapse:collapse;margin:10px 0;font-size:12px}\n"
        html += "table.px th,table.px td{border:1px solid #999;padding:1px 4px;text-align:right}\n"
        html += "table.px th.pxname{background:#b00040;color:#fff;text-align:left}\n"
        html += "table.px tr.titre th{background:#20a0ff;color:#000}\n"
        html += "table.px td.name{text-align:left}\n"
        html += "tr.frontend,tr.backend{background:#e8e8d0;font-weight:bold}\n"
        for (state, colour, _) in colours { html += "tr.\(cssClass(state)){background:\(colour)}\n" }
        html += "tr.unknown{background:#e0e0e0}\n"
        html += "</style>\n</head><body>\n"
        html += "<h1>Breakwater statistics</h1>\n"
        html += "<p>Breakwater version \(escape(info.version)), pid \(info.pid), node \(escape(info.nodeName)), "
            + "uptime \(uptime(info.uptimeSeconds)), current connections \(info.currentConnections), "
            + "maxconn \(info.maxconn)</p>\n"
        html += "<table class=\"legend\"><tr>"
        for (state, colour, label) in colours {
            html += "<td class=\"\(cssClass(state))\" style=\"background:\(colour)\">\(escape(label))</td>"
        }
        html += "</tr></table>\n"

        // Group rows by proxy (same name and iid), preserving order: a proxy's rows are contiguous.
        var groups: [[StatsRow]] = []
        for row in rows {
            if let first = groups.last?.first, first.proxy == row.proxy, first[.iid] == row[.iid] {
                groups[groups.count - 1].append(row)
            } else {
                groups.append([row])
            }
        }
        for proxyRows in groups { html += table(proxy: proxyRows[0].proxy, rows: proxyRows) }
        html += "</body></html>\n"
        return html
    }

    private static let headers: [(String, [String])] = [
        ("Queue", ["Cur", "Max", "Limit"]),
        ("Sessions", ["Cur", "Max", "Limit", "Total", "LbTot"]),
        ("Bytes", ["In", "Out"]),
        ("Denied", ["Req", "Resp"]),
        ("Errors", ["Req", "Conn", "Resp"]),
        ("Warnings", ["Retr", "Redis"]),
        ("Server", ["Status", "LastChg", "Wght", "Act", "Bck", "Chk", "Dwn", "Dwntme", "LastChk"]),
    ]

    private static func table(proxy: String, rows: [StatsRow]) -> String {
        let total = 1 + headers.reduce(0) { $0 + $1.1.count }
        var t = "<table class=\"px\" id=\"\(escape(proxy))\">\n"
        t += "<tr><th class=\"pxname\" colspan=\"\(total)\">\(escape(proxy))</th></tr>\n"
        t += "<tr class=\"titre\"><th rowspan=\"2\"></th>"
        for (group, cols) in headers { t += "<th colspan=\"\(cols.count)\">\(group)</th>" }
        t += "</tr>\n<tr class=\"titre\">"
        for (_, cols) in headers { for c in cols { t += "<th>\(c)</th>" } }
        t += "</tr>\n"
        for row in rows {
            let cls: String
            switch row.type {
            case .frontend: cls = "frontend"
            case .backend: cls = "backend " + cssClass(row.displayState)
            default: cls = cssClass(row.displayState)
            }
            let name = row.type == .frontend ? "FRONTEND" : row.type == .backend ? "BACKEND" : row.name
            t += "<tr class=\"\(cls)\"><td class=\"name\">\(escape(name))</td>"
            let isServer = row.type == .server
            let cells: [String] = [
                row[.qcur], row[.qmax], row[.qlimit],
                row[.scur], row[.smax], row[.slim], row[.stot], row[.lbtot],
                bytes(row[.bin]), bytes(row[.bout]),
                row[.dreq], row[.dresp],
                row[.ereq], row[.econ], row[.eresp],
                row[.wretr], row[.wredis],
                row[.status], duration(row[.lastchg]), row[.weight],
                isServer ? (row[.act] == "1" ? "Y" : "-") : row[.act],
                isServer ? (row[.bck] == "1" ? "Y" : "-") : row[.bck],
                row[.chkfail], row[.chkdown], duration(row[.downtime]),
                lastCheck(row),
            ]
            for c in cells { t += "<td>\(escape(c))</td>" }
            t += "</tr>\n"
        }
        t += "</table>\n"
        return t
    }

    private static func lastCheck(_ row: StatsRow) -> String {
        let status = row[.check_status]
        guard !status.isEmpty else { return "" }
        var s = status
        if !row[.check_code].isEmpty { s += "/" + row[.check_code] }
        if !row[.check_duration].isEmpty { s += " in \(row[.check_duration])ms" }
        return s
    }

    /// `1d2h`, `3h4m`, `5m6s`, `7s` like HAProxy's page.
    static func duration(_ text: String) -> String {
        guard let s = Int(text), s >= 0 else { return text }
        if s >= 86400 { return "\(s / 86400)d\((s % 86400) / 3600)h" }
        if s >= 3600 { return "\(s / 3600)h\((s % 3600) / 60)m" }
        if s >= 60 { return "\(s / 60)m\(s % 60)s" }
        return "\(s)s"
    }

    static func uptime(_ s: Int) -> String {
        "\(s / 86400)d \((s % 86400) / 3600)h\(pad2((s % 3600) / 60))m\(pad2(s % 60))s"
    }

    private static func pad2(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }

    private static func bytes(_ text: String) -> String { text }

    /// HTML-escapes text for element content and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}
