import Foundation
import Testing

/// Prometheus names (issue 9, item 18): the same configuration through HAProxy 2.6's
/// `prometheus-exporter` and Breakwater's. Every `haproxy_*` family Breakwater serves exists in
/// HAProxy's output with the same type and the same label names, and the families dashboards use
/// most are all there; Breakwater-only families stay under `breakwater_`.
extension Integration {
    @Suite struct PrometheusNames {
        struct Family: Equatable {
            var type: String?
            var labelSets: Set<[String]> = []
        }

        /// name → type and the label names of its samples (histogram suffixes folded into the family).
        static func families(_ text: String) -> [String: Family] {
            var out: [String: Family] = [:]
            for line in text.split(separator: "\n") {
                if line.hasPrefix("# TYPE ") {
                    let parts = line.split(separator: " ")
                    if parts.count >= 4 { out[String(parts[2]), default: Family()].type = String(parts[3]) }
                    continue
                }
                if line.hasPrefix("#") { continue }
                let nameEnd = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
                var name = String(line[..<nameEnd])
                for suffix in ["_bucket", "_sum", "_count"] where out[name] == nil && name.hasSuffix(suffix) {
                    name = String(name.dropLast(suffix.count))
                }
                var labels: [String] = []
                if nameEnd < line.endIndex, line[nameEnd] == "{", let close = line.lastIndex(of: "}") {
                    let body = line[line.index(after: nameEnd)..<close]
                    // label="value" pairs; values may hold commas, so split on `",`.
                    for pair in body.components(separatedBy: "\",") {
                        if let eq = pair.firstIndex(of: "=") { labels.append(String(pair[..<eq])) }
                    }
                }
                out[name, default: Family()].labelSets.insert(labels.filter { $0 != "le" }.sorted())
            }
            return out
        }

        static func config(port: Int, backend: TestBackend) -> String {
            """
            \(Cfg.defaults())
            frontend fe
                bind 127.0.0.1:\(port)
                http-request use-service prometheus-exporter if { path /metrics }
                default_backend be

            backend be
            \(serverLine("s1", backend, "check inter 1s"))

            """
        }

        @Test("haproxy_* names and labels match HAProxy 2.6's prometheus-exporter")
        func namesMatchHAProxy() async throws {
            guard FileManager.default.isExecutableFile(atPath: Differential.haproxyPath) else {
                Issue.record("haproxy is not installed at \(Differential.haproxyPath): run scripts/install-test-deps.sh")
                return
            }
            let bs = try await echoBackends("s1")
            let hport = Ports.free()
            let hdir = try makeTempDir("haproxy-prom")
            let hcfg = hdir.appendingPathComponent("haproxy.cfg")
            try Self.config(port: hport, backend: bs[0]).write(to: hcfg, atomically: true, encoding: .utf8)
            let haproxy = try ManagedProcess(executable: Differential.haproxyPath, arguments: ["-f", hcfg.path, "-db"], dir: hdir)
            try await ProxyProcess.waitForPort(hport, proc: haproxy, name: "haproxy")
            _ = try await oneShot(hport, requestText("GET", "/warm"))
            let theirs = try await curl(["http://127.0.0.1:\(hport)/metrics"]).bodyText
            await haproxy.stop()

            let proxy = try await ProxyProcess { port in Self.config(port: port, backend: bs[0]) }
            _ = try await oneShot(proxy.port, requestText("GET", "/warm"))
            let ours = try await curl(["http://127.0.0.1:\(proxy.port)/metrics"]).bodyText
            await proxy.stop()
            await stopAll(bs)

            let h = Self.families(theirs)
            let b = Self.families(ours)
            #expect(h.count > 100, "HAProxy's exporter answered: \(theirs.prefix(300))")
            for (name, family) in b where name.hasPrefix("haproxy_") {
                guard let expected = h[name] else {
                    Issue.record("\(name): HAProxy 2.6 has no such metric")
                    continue
                }
                #expect(family.type == expected.type, "\(name): type \(family.type ?? "-") vs HAProxy \(expected.type ?? "-")")
                #expect(family.labelSets == expected.labelSets, "\(name): labels \(family.labelSets) vs HAProxy \(expected.labelSets)")
            }
            for name in b.keys where !name.hasPrefix("haproxy_") {
                #expect(name.hasPrefix("breakwater_"), "\(name): outside both namespaces")
                #expect(h["haproxy_" + name.dropFirst("breakwater_".count)] == nil,
                        "\(name): HAProxy has this family, so it must carry HAProxy's name")
            }
            let core = [
                "haproxy_frontend_status", "haproxy_frontend_current_sessions", "haproxy_frontend_sessions_total",
                "haproxy_frontend_bytes_in_total", "haproxy_frontend_bytes_out_total", "haproxy_frontend_http_requests_total",
                "haproxy_frontend_http_responses_total", "haproxy_frontend_request_errors_total",
                "haproxy_backend_status", "haproxy_backend_current_queue", "haproxy_backend_current_sessions",
                "haproxy_backend_http_responses_total", "haproxy_backend_connection_errors_total", "haproxy_backend_active_servers",
                "haproxy_server_status", "haproxy_server_current_sessions", "haproxy_server_check_failures_total",
                "haproxy_server_http_responses_total", "haproxy_server_weight",
                "haproxy_process_nbthread", "haproxy_process_uptime_seconds", "haproxy_process_current_connections",
                "haproxy_process_max_connections", "haproxy_process_start_time_seconds", "haproxy_process_build_info",
            ]
            for name in core {
                #expect(h[name] != nil, "\(name) is not in HAProxy's output either")
                #expect(b[name] != nil, "\(name) is missing from Breakwater's output")
            }
        }
    }
}
