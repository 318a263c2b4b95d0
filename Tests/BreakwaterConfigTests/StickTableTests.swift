import BreakwaterConfigModel
import Testing

@testable import BreakwaterConfig

/// Stick tables, tracking, counter fetches, tarpit and tcp-request connection (issue 4; spec STK-1, STK-2,
/// STK-5, STK-6, STK-9, ACL-2, ACT-1, ACT-2, PRX-6).
@Suite struct StickTableTests {
    static let defaultTable = "stick-table type ip size 1k expire 30s store http_req_rate(10s),bytes_out_rate(10s),gpc0"

    /// Prologue (1-5), `backend st` (6) holding `table` (7), `frontend fe` (8), `bind` (9); `lines` start at 10.
    func withTable(_ lines: [String], table: String = defaultTable, strict: Bool = false) -> ConfigParseResult {
        parse(prologue + ["backend st", "  " + table, "frontend fe", "  bind :8080"] + lines.map { "  " + $0 }, strict: strict)
    }

    /// Prologue (1-5), `backend b` (6); `line` is line 7; then a frontend (8-9) so that there is a listener.
    func inBackend(_ line: String) -> ConfigParseResult {
        parse(prologue + ["backend b", "  " + line, "frontend f", "  bind :80"])
    }

    // MARK: the seed block of issue 4

    static let seed = [
        "backend st_req_rate",                                                                          // 6
        "    stick-table type ip size 2m expire 30s store http_req_rate(10s),bytes_out_rate(10s)",      // 7
        "",                                                                                             // 8
        "frontend https-in",                                                                            // 9
        "    bind 127.0.0.1:8443",                                                                      // 10
        "    http-request track-sc0 src table st_req_rate",                                             // 11
        "    acl is_abusive sc_http_req_rate(0) gt 50",                                                 // 12
        "    acl is_bandwidth_hog sc_bytes_out_rate(0) gt 52428800",                                    // 13
        "    http-request tarpit if is_abusive || is_bandwidth_hog",                                    // 14
        "    timeout tarpit 5s",                                                                        // 15
    ]

    @Test func seedBlockRoundTrip() throws {
        let r = parse(prologue + Self.seed)
        expectNoErrors(r)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        let snap = try #require(r.snapshot)
        let be = try #require(snap.backend(named: "st_req_rate"))
        #expect(be.stickTable == StickTableConfig(keyType: .ip, size: 2_097_152, expireMs: 30_000, nopurge: false,
                                                  stores: [.httpReqRate(periodMs: 10_000), .bytesOutRate(periodMs: 10_000)]))
        #expect(be.servers.isEmpty && be.location.line == 6)
        let fe = try #require(snap.frontends.first { $0.name == "https-in" })
        #expect(fe.stickTable == nil)
        #expect(fe.timeouts.tarpit == 5000)
        #expect(fe.tcpConnectionRules.isEmpty)
        let rules = fe.httpRequestRules
        #expect(rules.count == 2)
        #expect(rules[0].action == .track(slot: 0, key: .source, table: "st_req_rate"))
        #expect(rules[0].condition == nil && rules[0].location.line == 11)
        #expect(!rules[0].action.isTerminal)
        #expect(rules[1].action == .tarpit(status: 500) && rules[1].action.isTerminal)
        #expect(rules[1].location.line == 14)
        let cond = try #require(rules[1].condition)
        #expect(cond.polarity == .if)
        #expect(cond.terms.count == 2)
        #expect(cond.terms.map { $0.map(\.name) } == [["is_abusive"], ["is_bandwidth_hog"]])
        let abusive = try #require(cond.terms[0].first?.tests.first)
        #expect(abusive.fetch == .stickCounter(slot: 0, data: .httpReqRate, table: nil))
        #expect(abusive.method == .int && abusive.integers == [.gt(50)] && abusive.location.line == 12)
        let hog = try #require(cond.terms[1].first?.tests.first)
        #expect(hog.fetch == .stickCounter(slot: 0, data: .bytesOutRate, table: nil))
        #expect(hog.method == .int && hog.integers == [.gt(52_428_800)] && hog.location.line == 13)
        #expect(hog.fetch.description == "sc_bytes_out_rate(0)")
    }

    @Test func seedBlockUnderStrictModeAndWithoutDefaultsTimeouts() {
        // Strict mode changes nothing (no seed extension involved).
        expectNoErrors(parse(prologue + Self.seed, strict: true))
        // The table-only backend never needs connect/server timeouts: only the frontend's client timeout is missing.
        let r = parse(["defaults", "  mode http"] + Self.seed)
        expectNoErrors(r)
        #expect(warnings(r).count == 1, "\(warnings(r))")
        #expect(warnings(r).allSatisfy { $0.message.contains("frontend 'https-in'") && $0.message.contains("'timeout client'") })
    }

    @Test func appendixATableAndFrontendParse() throws {
        let config = try HealthCheckTests.appendixA()
        let r = parse(config, file: "appendix-a.cfg")
        #expect(!errors(r).contains { $0.message.contains("stick") || $0.message.contains("track") || $0.message.contains("tarpit") })
        // The table-only backend draws no diagnostic at all.
        let tableLine = try #require(config.firstIndex { $0.contains("stick-table") }) + 1
        #expect(!r.diagnostics.contains { $0.location.line == tableLine || $0.location.line == tableLine - 1 })
    }

    @Test func tableOnlyBackendCarriesNoTraffic() {
        let r = parse(["defaults", "  mode http", "backend st", "  stick-table type ip size 10"])  // no timeouts at all
        expectNoErrors(r)
        #expect(warnings(r).allSatisfy { !$0.message.contains("missing timeouts") && $0.location.line != 3 && $0.location.line != 4 },
                "\(r.diagnostics)")
        // Built-in mode tcp does not matter either: the backend has no server.
        expectNoErrors(parse(["backend st", "  stick-table type ip size 10", "frontend f", "  mode http", "  bind :80",
                              "  timeout client 1s", "  http-request track-sc0 src table st"]))
        // Routing requests to it is allowed but warned about.
        let routed = withTable(["default_backend st"])
        expectNoErrors(routed)
        expectWarning(routed, line: 10, "only holds a stick-table")
    }

    // MARK: stick-table declarations

    @Test(arguments: [
        ("stick-table type ip size 2m", StickTableConfig(keyType: .ip, size: 2_097_152)),
        ("stick-table size 100 type ipv6", StickTableConfig(keyType: .ipv6, size: 100)),
        ("stick-table type integer size 1K expire 1m nopurge", StickTableConfig(keyType: .integer, size: 1024, expireMs: 60_000, nopurge: true)),
        ("stick-table type string size 1g", StickTableConfig(keyType: .string(len: 32), size: 1 << 30)),
        ("stick-table type string len 64 size 10", StickTableConfig(keyType: .string(len: 64), size: 10)),
        ("stick-table type binary len 16 size 10 expire 0", StickTableConfig(keyType: .binary(len: 16), size: 10)),
        ("stick-table type binary size 10 expire 500", StickTableConfig(keyType: .binary(len: 32), size: 10, expireMs: 500)),
        ("stick-table type ip size 10 store conn_cnt,conn_cur store conn_rate(1m) store gpc0,gpc0_rate(1s)",
         StickTableConfig(keyType: .ip, size: 10, stores: [.connCnt, .connCur, .connRate(periodMs: 60_000), .gpc0, .gpc0Rate(periodMs: 1000)])),
        ("stick-table type ip size 10 store sess_cnt,sess_rate(10s),http_req_cnt,http_req_rate(10s),http_err_cnt,http_err_rate(5s)",
         StickTableConfig(keyType: .ip, size: 10, stores: [.sessCnt, .sessRate(periodMs: 10_000), .httpReqCnt,
                                                           .httpReqRate(periodMs: 10_000), .httpErrCnt, .httpErrRate(periodMs: 5000)])),
        ("stick-table type ip size 10 store bytes_in_cnt,bytes_in_rate(10s),bytes_out_cnt,bytes_out_rate(2000)",
         StickTableConfig(keyType: .ip, size: 10, stores: [.bytesInCnt, .bytesInRate(periodMs: 10_000), .bytesOutCnt, .bytesOutRate(periodMs: 2000)])),
    ])
    func goodTables(_ line: String, _ expected: StickTableConfig) throws {
        let r = inBackend(line)
        expectNoErrors(r)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        #expect(try #require(r.snapshot?.backend(named: "b")).stickTable == expected)
    }

    @Test(arguments: [
        ("stick-table type ip", "missing size"), ("stick-table size 10", "missing type"), ("stick-table", "missing size"),
        ("stick-table type ip size", "missing argument after 'size'"), ("stick-table type", "missing argument after 'type'"),
        ("stick-table type ip size 10x", "unexpected character 'x' in argument of 'size'"),
        ("stick-table type ip size 5G", "too large"), ("stick-table type ip size 0", "invalid size '0'"),
        ("stick-table type ip size -1", "unexpected character '-'"),
        ("stick-table type ip size 10 expire 30x", "unexpected character 'x' in 'expire'"),
        ("stick-table type ip size 10 expire 30d", "timer overflow"), ("stick-table type ip size 10 expire", "missing argument after 'expire'"),
        ("stick-table type ip size 10 expire 1.5s", "unexpected character '.'"),
        ("stick-table type ipv4 size 10", "unknown type 'ipv4'"), ("stick-table type str size 10", "did you mean 'string'"),
        ("stick-table type ip len 4 size 10", "'len' is only valid"), ("stick-table type string len 0 size 10", "len"),
        ("stick-table type string len x size 10", "integer"), ("stick-table type string len", "integer"),
        ("stick-table type ip size 10 store foo", "unknown store option 'foo'"),
        ("stick-table type ip size 10 store http_req_rat(10s)", "did you mean 'http_req_rate'"),
        ("stick-table type ip size 10 store http_req_rate", "missing argument to store option 'http_req_rate'"),
        ("stick-table type ip size 10 store bytes_out_rate", "missing argument to store option 'bytes_out_rate'"),
        ("stick-table type ip size 10 store http_req_rate(10x)", "unexpected character 'x'"),
        ("stick-table type ip size 10 store http_req_rate(0)", "must not be 0"),
        ("stick-table type ip size 10 store http_req_rate()", "expects a time value"),
        ("stick-table type ip size 10 store http_req_rate(10s", "missing ')'"),
        ("stick-table type ip size 10 store http_req_cnt(10s)", "unexpected argument '10s' to store option 'http_req_cnt'"),
        ("stick-table type ip size 10 store gpc0(1)", "unexpected argument"), ("stick-table type ip size 10 store conn_cur()", "unexpected argument"),
        ("stick-table type ip size 10 store gpt0", "'gpt0' is not supported by breakwater"),
        ("stick-table type ip size 10 store gpc(2)", "'gpc' is not supported by breakwater"),
        ("stick-table type ip size 10 store server_id", "not supported by breakwater"),
        ("stick-table type ip size 10 store gpc1,gpc0", "'gpc1' is not supported by breakwater"),
        ("stick-table type ip size 10 store http_req_cnt,,gpc0", "empty store option"),
        ("stick-table type ip size 10 store", "missing argument after 'store'"),
        ("stick-table type ip size 10 peers mypeers", "'peers' is not supported by breakwater"),
        ("stick-table type ip size 10 purge", "unknown stick-table argument 'purge'"),
        ("stick-table type ip size 10 expires 1s", "did you mean 'expire'"),
    ])
    func badTables(_ line: String, _ keyword: String) {
        let r = inBackend(line)
        expectError(r, line: 7, keyword)
        #expect(errors(r).allSatisfy { $0.location.line == 7 }, "\(errors(r))")
    }

    @Test func oneTablePerProxyAndDuplicateStores() throws {
        let r = parse(prologue + [
            "backend b",                                                                            // 6
            "  stick-table type ip size 10 store gpc0,http_req_rate(10s) store http_req_rate(1s),gpc0", // 7
            "  stick-table type ip size 20",                                                        // 8
        ])
        expectError(r, line: 8, "only one stick-table per proxy")
        expectWarning(r, line: 7, "store option 'http_req_rate' already enabled")
        expectWarning(r, line: 7, "store option 'gpc0' already enabled")
        #expect(errors(r).count == 1)

        // The first of repeated store types wins.
        let ok = parse(prologue + ["backend b", "  stick-table type ip size 10 store http_req_rate(10s),http_req_rate(1s)"])
        expectNoErrors(ok)
        #expect(try #require(ok.snapshot?.backend(named: "b")).stickTable?.stores == [.httpReqRate(periodMs: 10_000)])
        #expect(warnings(ok).filter { $0.message.contains("already enabled") }.count == 1)
    }

    @Test func tablePlacement() throws {
        let r = parse(prologue + [
            "frontend f", "  bind :80", "  stick-table type ip size 10", "  http-request track-sc0 src", // 6-9
            "listen l", "  bind :81", "  stick-table type ipv6 size 20", "  http-request track-sc1 src", // 10-13
            "  server s 127.0.0.1:1",                                                                   // 14
        ])
        expectNoErrors(r)
        let snap = try #require(r.snapshot)
        let f = try #require(snap.frontends.first { $0.name == "f" })
        #expect(f.stickTable == StickTableConfig(keyType: .ip, size: 10))
        #expect(f.httpRequestRules.map(\.action) == [.track(slot: 0, key: .source, table: "f")])
        // A listen section's table is on its backend side only (one table per name).
        let lf = try #require(snap.frontends.first { $0.name == "l" })
        let lb = try #require(snap.backend(named: "l"))
        #expect(lf.stickTable == nil && lb.stickTable == StickTableConfig(keyType: .ipv6, size: 20))
        #expect(lf.httpRequestRules.map(\.action) == [.track(slot: 1, key: .source, table: "l")])

        let d = parse(["defaults", "  stick-table type ip size 10"])
        expectError(d, line: 2, "'stick-table' not allowed in 'defaults' section")
    }

    @Test func tableNamesAreShared() {
        // A frontend and a backend may share a name, but then only one of them may hold a table.
        let r = parse(prologue + [
            "backend x", "  stick-table type ip size 10",       // 6-7
            "frontend x", "  bind :80", "  stick-table type ip size 10", // 8-10
        ])
        expectError(r, line: 10, "same name as the table of backend 'x'")
    }

    // MARK: http-request track-sc*

    @Test func trackForms() throws {
        let r = withTable([
            "http-request track-sc0 src table st",                // 10
            "http-request track-sc1 hdr(X-Client) table st",      // 11
            "http-request track-sc2 req.hdr(x-real-ip) table st if { path_beg /api }", // 12
            "http-request track-sc0 src table st unless { src 10.0.0.0/8 }",           // 13
        ])
        expectNoErrors(r)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        let rules = try #require(r.snapshot?.frontends.first?.httpRequestRules)
        #expect(rules.map(\.action) == [
            .track(slot: 0, key: .source, table: "st"), .track(slot: 1, key: .header("x-client"), table: "st"),
            .track(slot: 2, key: .header("x-real-ip"), table: "st"), .track(slot: 0, key: .source, table: "st"),
        ])
        #expect(rules.map(\.location.line) == [10, 11, 12, 13])
        #expect(rules[2].condition?.terms[0][0].tests[0].fetch == .path)
        #expect(rules[3].condition?.polarity == .unless)

        // In a backend, the table defaults to the backend's own.
        let b = parse(prologue + ["backend b", "  stick-table type string len 40 size 10 store http_req_cnt",
                                  "  http-request track-sc2 hdr(host)"])
        expectNoErrors(b)
        #expect(try #require(b.snapshot?.backend(named: "b")).httpRequestRules.map(\.action) == [.track(slot: 2, key: .header("host"), table: "b")])
    }

    @Test(arguments: [
        ("http-request track-sc3 src table st", "invalid tracking slot 3"),
        ("http-request track-sc10 src table st", "invalid tracking slot 10"),
        ("http-request track-scx src table st", "expected track-sc0, track-sc1 or track-sc2"),
        ("http-request track-sc0", "expects a key fetch"),
        ("http-request track-sc0 path table st", "key fetch 'path' is not supported"),
        ("http-request track-sc0 base table st", "key fetch 'base' is not supported"),
        ("http-request track-sc0 src,ipmask(24) table st", "converters are not supported yet"),
        ("http-request track-sc0 hdr() table st", "requires a header name"),
        ("http-request track-sc0 hdr table st", "requires a header name"),
        ("http-request track-sc0 hdr(x-client,1) table st", "occurrence"),
        ("http-request track-sc0 hdr(bad@name) table st", "invalid header name"),
        ("http-request track-sc0 src table", "missing table name"),
        ("http-request track-sc0 src tabel st", "unexpected argument 'tabel'"),
        ("http-request track-sc0 src table st extra", "unexpected argument 'extra'"),
        ("http-request track-sc0 src table st if", "missing condition"),
        ("http-request track-sc0 src table st if nope", "no such ACL"),
    ])
    func badTrackRules(_ line: String, _ keyword: String) {
        let r = withTable([line])
        expectError(r, line: 10, keyword)
        #expect(errors(r).count == 1, "\(errors(r))")
    }

    @Test func trackTableResolution() {
        let r = withTable([
            "http-request track-sc0 src table nope",          // 10
            "acl ok path /",                                  // 11
            "http-request track-sc1 src if ok",               // 12: fe has no table of its own
            "tcp-request connection track-sc2 src table gone", // 13
        ])
        expectError(r, line: 10, "unable to find table 'nope' referenced by track-sc0")
        expectError(r, line: 12, "unable to find table 'fe' referenced by track-sc1")
        expectError(r, line: 13, "unable to find table 'gone' referenced by track-sc2")
        #expect(errors(r).map(\.location.line) == [10, 12, 13])
        // Cross-reference errors come after the errors found in file order.
        let mixed = withTable(["http-request track-sc0 src table nope", "http-request track-sc3 src"])
        #expect(errors(mixed).map(\.location.line) == [11, 10])
        // A table declared later in the file is found; a bad table line is not reported twice.
        expectNoErrors(parse(prologue + ["frontend fe", "  bind :80", "  http-request track-sc0 src table later",
                                         "backend later", "  stick-table type ip size 10"]))
        let bad = parse(prologue + ["frontend fe", "  bind :80", "  http-request track-sc0 src table later",
                                    "backend later", "  stick-table type ip size 10 store nope"])
        #expect(errors(bad).map(\.location.line) == [10])
    }

    // MARK: tcp-request connection

    @Test func tcpRequestConnection() throws {
        let r = withTable([
            "acl blocked src 192.0.2.0/24",                                 // 10
            "acl flood sc1_conn_rate gt 100",                               // 11
            "tcp-request connection reject if blocked",                     // 12
            "tcp-request connection track-sc1 src table st",                // 13
            "tcp-request connection reject if flood || { src_conn_cur(st) ge 10 }", // 14
            "tcp-request connection reject",                                // 15
            "tcp-request connection track-sc0 src unless { src 127.0.0.0/8 }", // 16 (own table: see below)
        ], table: "stick-table type ip size 1k store conn_rate(10s),conn_cur,conn_cnt")
        expectError(r, line: 16, "unable to find table 'fe' referenced by track-sc0")
        #expect(errors(r).count == 1, "\(errors(r))")

        let ok = parse(prologue + [
            "frontend fe", "  bind :80",                                   // 6-7
            "  stick-table type ip size 1k store conn_rate(10s),conn_cur",  // 8
            "  acl blocked src 192.0.2.0/24",                               // 9
            "  tcp-request connection reject if blocked",                   // 10
            "  tcp-request connection track-sc0 src",                       // 11
            "  tcp-request connection reject if { sc0_conn_rate gt 100 }",  // 12
            "  tcp-request connection track-sc2 src table fe unless { src 127.0.0.0/8 }", // 13
        ])
        expectNoErrors(ok)
        #expect(ok.diagnostics.isEmpty, "\(ok.diagnostics.map(\.description))")
        let fe = try #require(ok.snapshot?.frontends.first)
        let rules = fe.tcpConnectionRules
        #expect(rules.map(\.action) == [.reject, .track(slot: 0, table: "fe"), .reject, .track(slot: 2, table: "fe")])
        #expect(rules.map(\.location.line) == [10, 11, 12, 13])
        #expect(rules[0].condition?.terms[0][0].name == "blocked")
        #expect(rules[0].condition?.terms[0][0].tests[0].addresses == [IPPattern(address: [192, 0, 2, 0], prefixLength: 24)])
        #expect(rules[1].condition == nil)
        #expect(rules[2].condition?.terms[0][0].tests[0].fetch == .stickCounter(slot: 0, data: .connRate, table: nil))
        #expect(rules[3].condition?.polarity == .unless)
        #expect(fe.httpRequestRules.isEmpty)
    }

    @Test(arguments: [
        ("tcp-request", "expects 'connection'"), ("tcp-request connection", "expects an action"),
        ("tcp-request content accept", "'tcp-request content' is not supported yet"),
        ("tcp-request session track-sc0 src", "'tcp-request session' is not supported yet"),
        ("tcp-request inspect-delay 5s", "not supported yet"), ("tcp-request bogus reject", "unknown 'tcp-request' rule set"),
        ("tcp-request connection accept", "'tcp-request connection accept' is not supported yet"),
        ("tcp-request connection expect-proxy layer4", "not supported yet"),
        ("tcp-request connection sc-inc-gpc0(0)", "not supported yet"),
        ("tcp-request connection rejet", "did you mean 'reject'"),
        ("tcp-request connection reject now", "unexpected argument 'now'"),
        ("tcp-request connection track-sc3 src table st", "invalid tracking slot 3"),
        ("tcp-request connection track-sc0 hdr(x) table st", "not available at connection level"),
        ("tcp-request connection track-sc0 path table st", "key fetch 'path' is not supported"),
        ("tcp-request connection track-sc0 src table", "missing table name"),
        ("tcp-request connection reject if", "missing condition"),
    ])
    func badTCPRequests(_ line: String, _ keyword: String) {
        let r = withTable([line])
        expectError(r, line: 10, keyword)
        #expect(errors(r).count == 1, "\(errors(r))")
    }

    @Test func tcpRequestCapabilities() throws {
        // Backend: no frontend capability → warning, ignored (CFG-6).
        let r = parse(prologue + ["backend b", "  stick-table type ip size 10", "  tcp-request connection track-sc0 src"])
        expectNoErrors(r)
        expectWarning(r, line: 8, "'tcp-request connection' will be ignored because backend 'b' has no frontend capability")
        expectError(parse(["defaults", "  tcp-request connection reject"]), line: 2, "not allowed in 'defaults'")
        // HTTP fetches are not available at accept: warned about.
        let h = withTable(["acl api path_beg /api", "tcp-request connection reject if api", "tcp-request connection reject if { hdr(x) y }"])
        expectNoErrors(h)
        expectWarning(h, line: 11, "acl 'api' will never match in 'tcp-request connection'")
        expectWarning(h, line: 12, "will never match")
    }

    // MARK: tarpit, silent-drop, sc-inc-gpc0

    @Test func tarpitSilentDropIncrement() throws {
        let r = withTable([
            "http-request track-sc0 src table st",          // 10
            "http-request tarpit",                          // 11
            "http-request tarpit deny_status 429 if { sc_http_req_rate(0) gt 10 }", // 12
            "http-request tarpit status 503",               // 13
            "http-request silent-drop if { sc0_bytes_out_rate gt 100 }", // 14
            "http-request silent-drop",                     // 15
            "http-request sc-inc-gpc0(0)",                  // 16
            "http-request sc-inc-gpc0 if { path /x }",      // 17
            "http-request sc-inc-gpc0(2)",                  // 18
            "timeout tarpit 2s",                            // 19
        ])
        expectNoErrors(r)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        let fe = try #require(r.snapshot?.frontends.first)
        #expect(fe.httpRequestRules.map(\.action) == [
            .track(slot: 0, key: .source, table: "st"), .tarpit(status: 500), .tarpit(status: 429), .tarpit(status: 503),
            .silentDrop, .silentDrop, .incrementGPC0(slot: 0), .incrementGPC0(slot: 0), .incrementGPC0(slot: 2),
        ])
        #expect(fe.httpRequestRules.map(\.action.isTerminal) == [false, true, true, true, true, true, false, false, false])
        #expect(fe.timeouts.tarpit == 2000)
    }

    @Test(arguments: [200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503, 504])
    func tarpitStatuses(_ status: Int) throws {
        let r = withTable(["http-request tarpit deny_status \(status)"])
        expectNoErrors(r)
        #expect(try #require(r.snapshot?.frontends.first).httpRequestRules.map(\.action) == [.tarpit(status: status)])
    }

    @Test(arguments: [
        ("http-request tarpit deny_status 299", "status code '299' not handled by default"),
        ("http-request tarpit deny_status 302", "status code '302' not handled by default"),
        ("http-request tarpit deny_status 600", "between 200 and 599"), ("http-request tarpit status 199", "between 200 and 599"),
        ("http-request tarpit deny_status", "integer"), ("http-request tarpit deny_status x", "integer"),
        ("http-request tarpit please", "unexpected argument 'please'"),
        ("http-request tarpit content-type text/plain", "not supported yet"),
        ("http-request tarpit if", "missing condition"),
        ("http-request silent-drop now", "unexpected argument 'now'"),
        ("http-request sc-inc-gpc0(3)", "invalid stick counter 3"), ("http-request sc-inc-gpc0(x)", "invalid stick counter"),
        ("http-request sc-inc-gpc0(", "invalid stick counter"), ("http-request sc-inc-gpc0(0) 1", "unexpected argument '1'"),
        ("http-request tarpt", "did you mean 'tarpit'"), ("http-request silentdrop", "did you mean 'silent-drop'"),
    ])
    func badActions(_ line: String, _ keyword: String) {
        let r = withTable([line])
        expectError(r, line: 10, keyword)
        #expect(errors(r).count == 1, "\(errors(r))")
    }

    @Test func timeoutTarpitEverywhere() throws {
        let r = parse(["defaults", "  mode http", "  timeout tarpit 1s", "  timeout connect 1s", "  timeout client 1s",
                       "  timeout server 1s", "frontend f", "  bind :80", "backend b", "  timeout tarpit 3s",
                       "  server s 127.0.0.1:1", "listen l", "  bind :81", "  server s 127.0.0.1:2", "  timeout tarpit 0"])
        expectNoErrors(r)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        let snap = try #require(r.snapshot)
        #expect(snap.frontends.first { $0.name == "f" }?.timeouts.tarpit == 1000)
        #expect(snap.backend(named: "b")?.timeouts.tarpit == 3000)
        #expect(snap.frontends.first { $0.name == "l" }?.timeouts.tarpit == 0)
        expectError(parse(prologue + ["frontend f", "  timeout tarpit 5x"]), line: 7, "unexpected character 'x' in 'timeout tarpit'")
    }

    // MARK: counter fetches

    static let dataNames: [(String, StoreType.Kind)] = [
        ("http_req_rate", .httpReqRate), ("http_req_cnt", .httpReqCnt), ("http_err_rate", .httpErrRate),
        ("http_err_cnt", .httpErrCnt), ("bytes_out_rate", .bytesOutRate), ("bytes_out_cnt", .bytesOutCnt),
        ("bytes_in_rate", .bytesInRate), ("bytes_in_cnt", .bytesInCnt), ("conn_cur", .connCur), ("conn_cnt", .connCnt),
        ("conn_rate", .connRate), ("sess_rate", .sessRate), ("sess_cnt", .sessCnt), ("gpc0_rate", .gpc0Rate),
        ("get_gpc0", .gpc0),
    ]
    /// A table storing every supported type.
    static let fullTable = "stick-table type ip size 10 store gpc0,gpc0_rate(1s),conn_cnt,conn_rate(1s),conn_cur,sess_cnt,"
        + "sess_rate(1s),http_req_cnt,http_req_rate(1s),http_err_cnt,http_err_rate(1s),bytes_in_cnt,bytes_in_rate(1s),"
        + "bytes_out_cnt,bytes_out_rate(1s)"

    @Test(arguments: dataNames)
    func counterFetchForms(_ name: String, _ kind: StoreType.Kind) throws {
        let r = withTable([
            "http-request track-sc0 src table st", "http-request track-sc1 src table st", "http-request track-sc2 src table st", // 10-12
            "acl a sc_\(name)(0) gt 5",         // 13
            "acl a sc_\(name)(2,st) ge 5",      // 14
            "acl a sc1_\(name) lt 5",           // 15
            "acl a sc2_\(name)(st) le 5",       // 16
            "acl a sc0_\(name) eq 5",           // 17
            "acl a src_\(name)(st) 5 7:9",      // 18
            "acl a sc_\(name)(3) 1: :0",        // 19: parses; never has a value
            "http-request deny if a",
        ], table: Self.fullTable)
        expectNoErrors(r)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        let tests = try #require(r.snapshot?.frontends.first?.httpRequestRules.last?.condition?.terms[0][0].tests)
        #expect(tests.map(\.fetch) == [
            .stickCounter(slot: 0, data: kind, table: nil), .stickCounter(slot: 2, data: kind, table: "st"),
            .stickCounter(slot: 1, data: kind, table: nil), .stickCounter(slot: 2, data: kind, table: "st"),
            .stickCounter(slot: 0, data: kind, table: nil), .sourceCounter(data: kind, table: "st"),
            .stickCounter(slot: 3, data: kind, table: nil),
        ])
        #expect(tests.allSatisfy { $0.method == .int })
        #expect(tests.map(\.integers) == [[.gt(5)], [.ge(5)], [.lt(5)], [.le(5)], [.eq(5)], [.eq(5), .range(7, 9)], [.range(1, nil), .range(nil, 0)]])
        #expect(tests.map(\.location.line) == Array(13...19))
    }

    @Test func incrementFetchAndMatchMethods() throws {
        let r = withTable([
            "http-request track-sc0 src table st",        // 10
            "acl inc sc_inc_gpc0(0) gt 3",                // 11
            "acl inc sc1_inc_gpc0 gt 3",                  // 12
            "acl tracked sc0_http_req_rate -m found",     // 13
            "acl nonzero sc_get_gpc0(0) -m bool",         // 14
            "acl neg sc_http_req_rate(0) -m int ge -1",    // 15
            "acl own src_http_req_rate gt 1",             // 16: src_ without table reads the proxy's own
            "http-request deny if inc tracked nonzero neg own",
        ])
        // fe has no table: the implicit table of src_http_req_rate is unknown.
        expectError(r, line: 16, "unable to find table 'fe' referenced by fetch 'src_http_req_rate(fe)'")
        #expect(errors(r).count == 1)

        let ok = withTable([
            "http-request track-sc0 src table st",
            "acl inc sc_inc_gpc0(0) gt 3", "acl inc sc1_inc_gpc0 gt 3", "acl tracked sc0_http_req_rate -m found",
            "acl nonzero sc_get_gpc0(0) -m bool", "acl neg sc_http_req_rate(0) -m int ge -1",
            "http-request deny if inc tracked nonzero neg",
        ])
        expectNoErrors(ok)
        let factors = try #require(ok.snapshot?.frontends.first?.httpRequestRules.last?.condition?.terms[0])
        #expect(factors[0].tests.map(\.fetch) == [.stickIncrementGPC0(slot: 0), .stickIncrementGPC0(slot: 1)])
        #expect(factors[1].tests[0].method == .found && factors[1].tests[0].integers.isEmpty)
        #expect(factors[2].tests[0].method == .bool && factors[2].tests[0].fetch == .stickCounter(slot: 0, data: .gpc0, table: nil))
        #expect(factors[3].tests[0].integers == [.ge(-1)])

        let own = parse(prologue + ["frontend fe", "  bind :80", "  stick-table type ip size 10 store http_req_rate(10s)",
                                    "  acl x src_http_req_rate gt 1", "  http-request deny if x"])
        expectNoErrors(own)
        #expect(own.snapshot?.frontends.first?.httpRequestRules.first?.condition?.terms[0][0].tests[0].fetch
                == .sourceCounter(data: .httpReqRate, table: "fe"))
    }

    @Test(arguments: [
        ("acl a sc_http_req_rate gt 1", "expects a stick counter number"),
        ("acl a sc_http_req_rate() gt 1", "expects a stick counter number"),
        ("acl a sc_http_req_rate(x) gt 1", "must be a non-negative integer, got 'x'"),
        ("acl a sc_http_req_rate(-1) gt 1", "non-negative"),
        ("acl a sc_http_req_rate(0,) gt 1", "empty table name"),
        ("acl a sc_http_req_rate(0,st,x) gt 1", "at most 2 arguments"),
        ("acl a sc0_http_req_rate() gt 1", "empty table name"), ("acl a sc0_http_req_rate(a,b) gt 1", "at most 1 argument"),
        ("acl a src_http_req_rate(a,b) gt 1", "at most 1 argument"),
        ("acl a sc_http_req_rate(0) gt 50m", "'50m' is neither a number nor a supported operator"),
        ("acl a sc_http_req_rate(0) gt", "missing value after operator 'gt'"),
        ("acl a sc_http_req_rate(0) abc", "neither a number"),
        ("acl a sc_http_req_rate(0) -m str x", "cannot be used with fetch 'sc_http_req_rate'"),
        ("acl a sc_http_req_rate(0) -m ip 1.2.3.4", "cannot be used"),
        ("acl a sc_http_req_rate(0),add(1) gt 1", "converters are not supported yet"),
        ("acl a sc_http_req_rate(0 gt 1", "missing ')'"),
        ("acl a sc_inc_gpc0(0,st) gt 1", "table argument is not supported yet"),
        ("acl a src_inc_gpc0(st) gt 1", "'src_inc_gpc0' is not supported yet"),
        ("acl a sc_kbytes_out(0) gt 1", "fetch 'sc_kbytes_out' is not supported yet"),
        ("acl a sc3_http_req_rate gt 1", "unknown fetch method 'sc3_http_req_rate'"),
        ("acl a src_port gt 1", "not supported yet"),
    ])
    func badCounterFetches(_ line: String, _ keyword: String) {
        let r = withTable([line])
        expectError(r, line: 10, keyword)
        #expect(errors(r).count == 1, "\(errors(r))")
    }

    @Test func counterFetchTableResolution() {
        let r = withTable([
            "http-request track-sc0 src table st",          // 10
            "acl a sc_http_req_rate(0,nope) gt 1",          // 11
            "acl b sc1_http_req_rate(gone) gt 1",           // 12
            "acl c src_bytes_out_rate(missing) gt 1",       // 13
            "acl unused src_http_req_rate(missing2) gt 1",  // 14: unused ACLs are resolved too
            "http-request deny if a b c { sc2_conn_cur(nope2) gt 1 }", // 15
        ])
        #expect(errors(r).map(\.location.line) == [11, 12, 13, 14, 15], "\(errors(r))")
        expectError(r, line: 11, "unable to find table 'nope' referenced by fetch 'sc_http_req_rate(0,nope)'")
        expectError(r, line: 12, "unable to find table 'gone'")
        expectError(r, line: 13, "unable to find table 'missing' referenced by fetch 'src_bytes_out_rate(missing)'")
        expectError(r, line: 15, "unable to find table 'nope2'")
    }

    @Test func fetchOfUnstoredDataIsAcceptedWithWarning() throws {
        let r = withTable([
            "http-request track-sc0 src table st",          // 10
            "acl a sc_http_err_rate(0) gt 1",               // 11: st has no http_err_rate
            "acl b sc_conn_cur(0,st) gt 1",                 // 12
            "acl c src_http_req_cnt(st) gt 1",              // 13
            "acl d sc_http_req_rate(0) gt 1",               // 14: stored, no warning
            "acl e sc1_http_err_rate gt 1",                 // 15: slot 1 is not tracked here: nothing to check
            "http-request deny if a || b || c || d || e || { sc0_sess_cnt gt 1 }", // 16
        ])
        expectNoErrors(r)
        expectWarning(r, line: 11, "reads 'http_err_rate'")
        expectWarning(r, line: 12, "table 'st' does not store")
        expectWarning(r, line: 13, "reads 'http_req_cnt'")
        expectWarning(r, line: 16, "reads 'sess_cnt'")
        #expect(warnings(r).map(\.location.line) == [11, 12, 13, 16], "\(warnings(r))")
        // The ACL stays in the model; at run time it simply has no value.
        let terms = try #require(r.snapshot?.frontends.first?.httpRequestRules.last?.condition?.terms)
        #expect(terms[0][0].tests[0].fetch == .stickCounter(slot: 0, data: .httpErrRate, table: nil))

        // sc-inc-gpc0 on a slot whose table has no gpc0.
        let g = parse(prologue + ["frontend fe", "  bind :80", "  stick-table type ip size 10 store http_req_rate(1s)",
                                  "  http-request track-sc0 src", "  http-request sc-inc-gpc0(0)"])
        expectNoErrors(g)
        expectWarning(g, line: 10, "'gpc0'")
    }

    @Test func counterFetchInBackendAndListen() throws {
        let r = parse(prologue + [
            "listen l", "  bind :80", "  server s 127.0.0.1:1",                    // 6-8
            "  stick-table type ip size 10 store http_req_rate(10s)",               // 9
            "  http-request track-sc0 src",                                         // 10
            "  http-request deny deny_status 429 if { sc_http_req_rate(0) gt 5 }",  // 11
            "  tcp-request connection reject if { src_http_req_rate(l) gt 100 }",   // 12
        ])
        expectNoErrors(r)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        let snap = try #require(r.snapshot)
        let f = try #require(snap.frontends.first)
        #expect(f.httpRequestRules.map(\.action) == [.track(slot: 0, key: .source, table: "l"), .deny(status: 429)])
        #expect(f.tcpConnectionRules.count == 1)
        #expect(snap.backend(named: "l")?.httpRequestRules.isEmpty == true)
        #expect(snap.backend(named: "l")?.stickTable?.stores == [.httpReqRate(periodMs: 10_000)])
    }
}
