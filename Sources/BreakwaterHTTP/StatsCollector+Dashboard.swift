import BreakwaterConfigModel
import BreakwaterCore
import BreakwaterObservability
import BreakwaterTLS

/// The views under `stats uri`: the HAProxy-style HTML table (the page itself and `;table`), `;csv`,
/// the live dashboard (`/live`) and the JSON snapshot its event stream (`/events`) sends every second.
extension StatsCollector {
    /// Body and content type for a request under `page.uri` (every suffix but `/events`).
    public func statsResponse(uri: String, page: StatsPageConfig) -> (body: String, contentType: String) {
        let rest = uri.dropFirst(page.uri.count)
        if rest.hasPrefix("/live") {
            return (DashboardPage.render(statsURI: page.uri), "text/html; charset=utf-8")
        }
        if rest.hasPrefix(";csv") {
            return (StatCSVRenderer.render(rows()), "text/csv; charset=utf-8")
        }
        return (htmlPage(refreshMs: page.refreshMs), "text/html; charset=utf-8")
    }

    /// Tables larger than this are not walked for top talkers every second.
    static let topTalkerScanLimit = 10_000

    /// One JSON object: backends with their servers (cumulative counters and the response-time histogram;
    /// the page derives rates and p50/p99 from successive snapshots), frontends, stick tables, data-tier gauges.
    public func dashboardJSON() -> String {
        var out = "{\"t\":\(nowMs),\"uptime\":\(uptimeSeconds),\"conns\":\(runtime.process.currentConnections.load(ordering: .relaxed))"
        out += ",\"bounds\":[" + ResponseTimeHistogram.boundsMs.map(String.init).joined(separator: ",") + "]"
        let all = rows()
        var backends: [String] = []
        for be in runtime.backends {
            let name = be.config.name
            guard let row = all.first(where: { $0.type == .backend && $0.proxy == name }) else { continue }
            let servers = all.filter { $0.type == .server && $0.proxy == name }.map { s in
                "{\"name\":\(json(s.name)),\"status\":\(json(s[.status])),\"req\":\(s.int(.stot) ?? 0),\"err\":\(errors(s)),"
                    + "\"scur\":\(s.int(.scur) ?? 0),\"qcur\":\(s.int(.qcur) ?? 0),\"chkdown\":\(s.int(.chkdown) ?? 0),\"lastchg\":\(s.int(.lastchg) ?? 0)}"
            }
            let hist = be.counters.responseTimes.snapshot.cumulative.map(String.init).joined(separator: ",")
            backends.append("{\"name\":\(json(name)),\"status\":\(json(row[.status])),\"req\":\(row.int(.stot) ?? 0),"
                + "\"err\":\(errors(row)),\"qcur\":\(row.int(.qcur) ?? 0),\"hist\":[\(hist)],\"servers\":[\(servers.joined(separator: ","))]}")
        }
        out += ",\"backends\":[" + backends.joined(separator: ",") + "]"
        let frontends = all.filter { $0.type == .frontend }.map { f in
            "{\"name\":\(json(f.proxy)),\"req\":\(f.int(.req_tot) ?? f.int(.stot) ?? 0),\"denied\":\(f.int(.dreq) ?? 0),"
                + "\"ereq\":\(f.int(.ereq) ?? 0),\"scur\":\(f.int(.scur) ?? 0),\"tls_resumed\":\(resumption(frontend: f.proxy))}"
        }
        out += ",\"frontends\":[" + frontends.joined(separator: ",") + "]"
        out += ",\"tables\":[" + runtime.tables.keys.sorted().compactMap { tableJSON($0) }.joined(separator: ",") + "]"
        let gauges = DataTierGauges.shared.snapshot.sorted { $0.key < $1.key }.map { section, values in
            json(section) + ":{" + values.sorted { $0.key < $1.key }.map { "\(json($0.key)):\($0.value.isFinite ? "\($0.value)" : "null")" }
                .joined(separator: ",") + "}"
        }
        out += ",\"gauges\":{" + gauges.joined(separator: ",") + "}}"
        return out
    }

    /// Resumed ÷ all TLS handshakes of the frontend so far, or null (no TLS bind, or no handshake yet).
    private func resumption(frontend name: String) -> String {
        TLSHandshakeCounters.existing(frontend: name)?.resumptionRatio.map { "\(($0 * 10_000).rounded() / 10_000)" } ?? "null"
    }

    private func errors(_ row: StatsRow) -> Int {
        (row.int(.econ) ?? 0) + (row.int(.eresp) ?? 0) + (row.int(.hrsp_5xx) ?? 0)
    }

    /// Top ten entries by the first rate the table stores (`http_req_rate` preferred).
    private func tableJSON(_ name: String) -> String? {
        guard let table = runtime.tables[name] else { return nil }
        var head = "{\"name\":\(json(name)),\"used\":\(table.count),\"size\":\(table.config.size)"
        guard table.count <= Self.topTalkerScanLimit else {
            return head + ",\"metric\":null,\"note\":\"over \(Self.topTalkerScanLimit) entries: top talkers via the admin socket\",\"top\":[]}"
        }
        let metric = table.config.store(of: .httpReqRate)?.description
            ?? table.config.stores.first { $0.kind.isRate }?.description ?? table.config.stores.first?.description
        var top: [(key: String, value: Int)] = []
        for line in table.showEntries(now: stickNow()) {
            var key = "", value = 0
            for token in line.split(separator: " ") {
                if token.hasPrefix("key=") { key = String(token.dropFirst(4)) }
                if let metric, token.hasPrefix(metric + "=") { value = Int(token.dropFirst(metric.count + 1)) ?? 0 }
            }
            top.append((key, value))
        }
        top.sort { $0.value > $1.value }
        head += ",\"metric\":\(metric.map(json) ?? "null"),\"top\":["
        return head + top.prefix(10).map { "{\"key\":\(json($0.key)),\"value\":\($0.value)}" }.joined(separator: ",") + "]}"
    }

    private func json(_ s: String) -> String { JSONText.quote(s) }
}
