import BreakwaterConfigModel
@testable import BreakwaterHTTP
@testable import BreakwaterObservability
import Testing

/// The renderers behind `show stat`, the Prometheus exporter and the HTML stats page.
@Suite struct StatsRenderTests {
    static func runtime() throws -> ProxyRuntime {
        try ProxyRuntime(snapshot: AdminCommandTests.snapshot(), logWriter: LogWriter(), framer: SyslogFramer(tag: "test"))
    }

    // MARK: - CSV

    @Test func csvQuoting() {
        #expect(StatCSVRenderer.quote("plain") == "plain")
        #expect(StatCSVRenderer.quote("") == "")
        #expect(StatCSVRenderer.quote("a,b") == "\"a,b\"")
        #expect(StatCSVRenderer.quote("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(StatCSVRenderer.quote("line\nbreak") == "\"line\nbreak\"")
        #expect(StatCSVRenderer.quote("cr\rhere") == "\"cr\rhere\"")
        #expect(StatCSVRenderer.quote("crlf\r\nhere") == "\"crlf\r\nhere\"")
    }

    @Test func csvRowHasEveryColumnFollowedByAComma() {
        var row = StatsRow(type: .server, proxy: "be", name: "s1")
        row[.status] = "UP"
        row.set(.weight, 3)
        row.set(.slim, nil as Int?)
        let out = StatCSVRenderer.render([row])
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3 && lines[2].isEmpty)
        #expect(lines[1].hasPrefix("be,s1,"))
        #expect(lines[1].split(separator: ",", omittingEmptySubsequences: false).count == 101)
        #expect(StatColumn.allCases.count == 100)
        #expect(StatColumn.uweight.rawValue == 99 && StatColumn.check_status.rawValue == 36 && StatColumn.addr.rawValue == 73)
    }

    @Test func displayStates() {
        #expect(DisplayState(status: "UP") == .up)
        #expect(DisplayState(status: "OPEN") == .up)
        #expect(DisplayState(status: "UP 2/3") == .goingDown)
        #expect(DisplayState(status: "DOWN 1/2") == .goingUp)
        #expect(DisplayState(status: "DOWN") == .down)
        #expect(DisplayState(status: "MAINT") == .maint)
        #expect(DisplayState(status: "DRAIN 1/3") == .drain)
        #expect(DisplayState(status: "no check") == .noCheck)
    }

    // MARK: - Histogram

    @Test func histogramBucketsAreCumulative() {
        let h = ResponseTimeHistogram()
        for ms in [0, 1, 3, 7, 2000, 99_999, -1] { h.record(milliseconds: ms) }
        let s = h.snapshot
        #expect(s.count == 6)
        #expect(s.sumMs == 0 + 1 + 3 + 7 + 2000 + 99_999)
        #expect(s.cumulative.count == ResponseTimeHistogram.boundsMs.count + 1)
        #expect(s.cumulative[0] == 2, "≤ 1 ms")
        #expect(s.cumulative[1] == 3, "≤ 5 ms")
        #expect(s.cumulative[2] == 4, "≤ 10 ms")
        #expect(s.cumulative.last == 6)
        #expect(zip(s.cumulative, s.cumulative.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test func secondsFormatting() {
        #expect(PrometheusRenderer.seconds(1) == "0.001")
        #expect(PrometheusRenderer.seconds(10) == "0.01")
        #expect(PrometheusRenderer.seconds(1000) == "1")
        #expect(PrometheusRenderer.seconds(2500) == "2.5")
        #expect(PrometheusRenderer.seconds(0) == "0")
    }

    // MARK: - Prometheus

    /// A small parser of the text exposition format: comments, families, samples.
    struct Exposition {
        var types: [String: String] = [:]
        var helps: Set<String> = []
        /// name → [(labels, value)]
        var samples: [String: [([String: String], Double)]] = [:]
        var errors: [String] = []

        init(_ text: String) {
            var familyOrder: [String] = []
            for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
                let line = String(raw)
                if line.isEmpty { continue }
                if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                    let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
                    guard parts.count == 4, Self.validName(parts[2]) else { errors.append("bad comment: \(line)"); continue }
                    if parts[1] == "HELP" {
                        if helps.contains(parts[2]) { errors.append("duplicate HELP \(parts[2])") }
                        helps.insert(parts[2])
                    } else {
                        if types[parts[2]] != nil { errors.append("duplicate TYPE \(parts[2])") }
                        guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                            errors.append("bad type: \(line)")
                            continue
                        }
                        types[parts[2]] = parts[3]
                        familyOrder.append(parts[2])
                    }
                    continue
                }
                if line.hasPrefix("#") { continue }
                guard let (name, labels, value) = Self.parseSample(line) else { errors.append("bad sample: \(line)"); continue }
                var family = name
                for suffix in ["_bucket", "_sum", "_count"] where types[name] == nil && name.hasSuffix(suffix) {
                    family = String(name.dropLast(suffix.count))
                }
                guard types[family] != nil else { errors.append("sample without TYPE: \(line)"); continue }
                if familyOrder.last != family { errors.append("sample out of its family block: \(line)") }
                samples[name, default: []].append((labels, value))
            }
        }

        static func validName(_ s: String) -> Bool {
            guard let first = s.first, first.isLetter || first == "_" || first == ":" else { return false }
            return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }
        }

        static func parseSample(_ line: String) -> (String, [String: String], Double)? {
            var chars = Array(line)
            var i = 0
            var name = ""
            while i < chars.count, chars[i] != "{", chars[i] != " " { name.append(chars[i]); i += 1 }
            guard validName(name) else { return nil }
            var labels: [String: String] = [:]
            if i < chars.count, chars[i] == "{" {
                i += 1
                while i < chars.count, chars[i] != "}" {
                    var key = ""
                    while i < chars.count, chars[i] != "=" { key.append(chars[i]); i += 1 }
                    guard validName(key), i + 1 < chars.count, chars[i + 1] == "\"" else { return nil }
                    i += 2
                    var value = ""
                    while i < chars.count, chars[i] != "\"" {
                        if chars[i] == "\\" {
                            guard i + 1 < chars.count else { return nil }
                            switch chars[i + 1] {
                            case "\\": value.append("\\")
                            case "\"": value.append("\"")
                            case "n": value.append("\n")
                            default: return nil
                            }
                            i += 2
                        } else {
                            value.append(chars[i])
                            i += 1
                        }
                    }
                    guard i < chars.count else { return nil }
                    i += 1
                    labels[key] = value
                    if i < chars.count, chars[i] == "," { i += 1 }
                }
                guard i < chars.count else { return nil }
                i += 1
            }
            guard i < chars.count, chars[i] == " " else { return nil }
            chars = Array(chars[(i + 1)...])
            let text = String(chars)
            let value: Double? = text == "+Inf" ? .infinity : text == "-Inf" ? -.infinity : text == "NaN" ? .nan : Double(text)
            guard let value, !text.contains(" ") else { return nil }
            return (name, labels, value)
        }

        func value(_ name: String, _ labels: [String: String]) -> Double? {
            samples[name]?.first { $0.0 == labels }?.1
        }
    }

    @Test func prometheusOutputParsesAndCarriesTheCounters() throws {
        let rt = try Self.runtime()
        let fe = rt.frontends[0], be = rt.backends[0]
        fe.counters.currentSessions.store(4, ordering: .relaxed)
        fe.counters.totalSessions.store(40, ordering: .relaxed)
        fe.counters.countResponse(status: 200)
        fe.counters.countResponse(status: 204)
        fe.counters.countResponse(status: 404)
        fe.counters.bytesOut.store(1234, ordering: .relaxed)
        be.counters.connectErrors.store(2, ordering: .relaxed)
        be.counters.retries.store(3, ordering: .relaxed)
        be.counters.responseTimes.record(milliseconds: 4)
        be.counters.responseTimes.record(milliseconds: 600)
        be.balancer.setAdminState(server: 1, .drain)
        let health = be.servers[0].health!
        for _ in 0..<2 {
            _ = health.recordCheck(passed: false, status: .l4timeout, info: nil, durationMs: 2000, nowMs: wallClockMs())
        }

        let text = StatsCollector(runtime: rt).prometheusText()
        let p = Exposition(text)
        #expect(p.errors.isEmpty, "\(p.errors)")
        #expect(Set(p.types.keys) == p.helps, "every family has HELP and TYPE")

        #expect(p.value("haproxy_frontend_current_sessions", ["proxy": "fe"]) == 4)
        #expect(p.types["haproxy_frontend_sessions_total"] == "counter")
        #expect(p.value("haproxy_frontend_sessions_total", ["proxy": "fe"]) == 40)
        #expect(p.value("haproxy_frontend_http_responses_total", ["proxy": "fe", "code": "2xx"]) == 2)
        #expect(p.value("haproxy_frontend_http_responses_total", ["proxy": "fe", "code": "4xx"]) == 1)
        #expect(p.value("haproxy_frontend_bytes_out_total", ["proxy": "fe"]) == 1234)
        #expect(p.value("haproxy_backend_current_queue", ["proxy": "be"]) == 0)
        #expect(p.value("haproxy_backend_connection_errors_total", ["proxy": "be"]) == 2)
        #expect(p.value("haproxy_backend_retry_warnings_total", ["proxy": "be"]) == 3)
        #expect(p.value("haproxy_backend_status", ["proxy": "be", "state": "UP"]) == 1)
        #expect(p.value("haproxy_server_status", ["proxy": "be", "server": "s1", "state": "DOWN"]) == 1)
        #expect(p.value("haproxy_server_status", ["proxy": "be", "server": "s1", "state": "UP"]) == 0)
        #expect(p.value("haproxy_server_status", ["proxy": "be", "server": "s2", "state": "DRAIN"]) == 1)
        #expect(p.value("haproxy_server_status", ["proxy": "be", "server": "s3", "state": "MAINT"]) == 1)
        #expect(p.value("haproxy_server_check_failures_total", ["proxy": "be", "server": "s1"]) == 2)
        #expect(p.value("haproxy_server_check_duration_seconds", ["proxy": "be", "server": "s1"]) == 2)
        #expect(p.value("haproxy_server_check_failures_total", ["proxy": "be", "server": "s2"]) == nil, "unchecked")

        #expect(p.types["breakwater_backend_response_time_seconds"] == "histogram")
        let h = "breakwater_backend_response_time_seconds"
        #expect(p.value(h + "_bucket", ["proxy": "be", "le": "0.005"]) == 1)
        #expect(p.value(h + "_bucket", ["proxy": "be", "le": "0.5"]) == 1)
        #expect(p.value(h + "_bucket", ["proxy": "be", "le": "1"]) == 2)
        #expect(p.value(h + "_bucket", ["proxy": "be", "le": "+Inf"]) == 2)
        #expect(p.value(h + "_count", ["proxy": "be"]) == 2)
        #expect(p.value(h + "_sum", ["proxy": "be"]) == 0.604)
        #expect(p.value(h + "_count", ["proxy": "app"]) == 0)
    }

    @Test func prometheusEscapesLabelValues() {
        var row = StatsRow(type: .frontend, proxy: "we\"ird\\na\nme", name: "FRONTEND")
        row[.status] = "OPEN"
        row.set(.scur, 1)
        let text = PrometheusRenderer.render(rows: [row])
        let p = Exposition(text)
        #expect(p.errors.isEmpty, "\(p.errors)")
        #expect(p.value("haproxy_frontend_current_sessions", ["proxy": "we\"ird\\na\nme"]) == 1)
    }

    // MARK: - HTML page

    @Test func htmlPageHasOneTablePerProxyAndColouredStates() throws {
        let rt = try Self.runtime()
        rt.backends[0].balancer.setAdminState(server: 1, .drain)
        let html = StatsCollector(runtime: rt).htmlPage(refreshMs: 5000)
        #expect(html.contains("<meta http-equiv=\"refresh\" content=\"5\">"))
        #expect(html.components("<table class=\"px\"") == 3, "fe, be, app (a listen is one table)")
        #expect(html.contains("<tr class=\"frontend\"><td class=\"name\">FRONTEND</td>"))
        #expect(html.contains("<tr class=\"drain\"><td class=\"name\">s2</td>"))
        #expect(html.contains("<tr class=\"maint\"><td class=\"name\">s3</td>"))
        #expect(html.contains("<td class=\"name\">BACKEND</td>"))
        #expect(html.contains("tr.up{background:#c0ffc0}") && html.contains("tr.down{background:#ff9090}"))
        #expect(html.contains("<td>MAINT</td>") && html.contains("<td>no check</td>"))
        #expect(!StatsCollector(runtime: rt).htmlPage(refreshMs: nil).contains("http-equiv"))
    }

    @Test func htmlEscapesNames() {
        var row = StatsRow(type: .server, proxy: "<be&\"x\">", name: "<script>")
        row.set(.iid, 2)
        row[.status] = "UP"
        let info = StatsPageRenderer.ProcessInfo(version: "1", pid: 1, uptimeSeconds: 3661, currentConnections: 0, maxconn: 10, nodeName: "n")
        let html = StatsPageRenderer.render(rows: [row], info: info, refreshMs: nil)
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;"))
        #expect(html.contains("&lt;be&amp;&quot;x&quot;&gt;"))
        #expect(html.contains("<tr class=\"up\">"))
        #expect(html.contains("0d 1h01m01s"))
    }
}

extension String {
    /// Number of non-overlapping occurrences of `needle`.
    func components(_ needle: String) -> Int {
        var count = 0
        var rest = Substring(self)
        while let r = rest.firstRange(of: needle) {
            count += 1
            rest = rest[r.upperBound...]
        }
        return count
    }
}
