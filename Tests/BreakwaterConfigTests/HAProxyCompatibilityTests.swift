import BreakwaterConfigModel
import Foundation
import Testing

@testable import BreakwaterConfig

/// What a new user meets first (issue 9, items 6, 16, 17): HAProxy keywords Breakwater lacks read
/// "not supported yet" (not "unknown"), one mistake gives one diagnostic, `-f DIR`, a server
/// without a port, and `bind … backlog`.
@Suite struct HAProxyCompatibilityTests {
    @Test(arguments: [
        (["global", "  tune.ssl.cachesize 20000"], 2, "'tune.ssl.cachesize' is not supported yet"),
        (["global", "  server-state-file /tmp/state"], 2, "'server-state-file' is not supported yet"),
        (prologue + ["backend b", "  retry-on all-retryable-errors"], 7, "'retry-on' is not supported yet"),
        (prologue + ["frontend f", "  bind :80", "  http-request set-var(txn.x) str(1)"], 8, "'http-request set-var' is not supported yet"),
        (prologue + ["frontend f", "  bind :80", "  acl a url_beg /x"], 8, "fetch 'url_beg' is not supported yet"),
        (prologue + ["frontend f", "  bind :80", "  acl a query -m found"], 8, "fetch 'query' is not supported yet"),
        (prologue + ["frontend f", "  bind :80", "  acl a url_param(x) -m found"], 8, "fetch 'url_param' is not supported yet"),
        (prologue + ["backend b", "  server s1 127.0.0.1:80 send-proxy"], 7, "'send-proxy' is not supported yet"),
        (prologue + ["backend b", "  server s1 127.0.0.1:80 init-addr last,libc"], 7, "'init-addr' is not supported yet"),
        (prologue + ["frontend f", "  bind :80 accept-netscaler-cip 1234"], 7, "bind option 'accept-netscaler-cip' is not supported yet"),
        (prologue + ["frontend f", "  bind :80", "  option http-use-htx"], 8, "not supported"),
        (prologue + ["frontend f", "  bind :80", "  timeout client-fin 1s"], 8, "not supported"),
        (prologue + ["frontend f", "  bind :80", "  tcp-request connection expect-proxy layer4"], 8, "not supported yet"),
    ] as [([String], Int, String)])
    func haproxyKeywordsAreNotSupportedYet(lines: [String], line: Int, message: String) {
        let r = parse(lines)
        expectError(r, line: line, message)
        #expect(!r.diagnostics.contains { $0.message.contains("unknown") }, "\(r.diagnostics.map(\.description))")
    }

    @Test(arguments: [
        (["global", "  tune.ssl.cachsize 20000"], 2),
        (prologue + ["backend b", "  retires 3"], 7),
        (prologue + ["backend b", "  server s1 127.0.0.1:80 wieght 3"], 7),
        (prologue + ["frontend f", "  bind :80", "  http-request set-hedaer X y"], 8),
    ] as [([String], Int)])
    func typosStayUnknown(lines: [String], line: Int) {
        let r = parse(lines)
        expectError(r, line: line, "unknown")
    }

    @Test func keywordTableComesFromHAProxy26() {
        // A few names from each part of the generated table.
        #expect(HAProxy26Keywords.global.contains("tune.ssl.cachesize"))
        #expect(HAProxy26Keywords.proxy.contains("retry-on"))
        #expect(HAProxy26Keywords.serverOptions["init-addr"] == 1)
        #expect(HAProxy26Keywords.bindOptions["backlog"] == 1)
        #expect(HAProxy26Keywords.fetches.contains("url_beg"))
        #expect(HAProxy26Keywords.httpRequestActions.contains("set-var"))
        #expect(!HAProxy26Keywords.global.contains("tune.ssl.cachsize"))
    }

    @Test func badBindDoesNotAddNoBindWarning() {
        let r = parse(prologue + ["frontend f", "  bind 127.0.0.1", "  default_backend b", "backend b",
                                  "  server s1 127.0.0.1:80"])
        expectError(r, line: 7, "missing port")
        #expect(r.diagnostics.count == 1, "\(r.diagnostics.map(\.description))")
    }

    @Test func badModeInDefaultsIsOneError() {
        let r = parse(["defaults", "  mode htp", "  timeout connect 5s", "  timeout client 30s", "  timeout server 30s",
                       "frontend f", "  bind :80", "  default_backend b", "backend b", "  server s1 127.0.0.1:80"])
        expectError(r, line: 2, "unknown proxy mode 'htp'")
        #expect(errors(r).count == 1, "\(r.diagnostics.map(\.description))")
        #expect(!r.diagnostics.contains { $0.message.contains("mode tcp") })
    }

    @Test func noDiagnosticAtLineZeroForLineProblems() {
        let r = parse(prologue + ["frontend f", "  bind :80 backlog", "  bogus 1", "  default_backend nowhere"])
        #expect(!r.diagnostics.isEmpty)
        #expect(r.diagnostics.allSatisfy { $0.location.line > 0 }, "\(r.diagnostics.map(\.description))")
    }

    @Test func bindBacklog() throws {
        let r = parse(prologue + ["frontend f", "  maxconn 500", "  bind :80 backlog 77", "  bind :81",
                                  "  default_backend b", "backend b", "  server s1 127.0.0.1:80"])
        expectNoErrors(r)
        let snap = try #require(r.snapshot)
        let fe = snap.frontends[0]
        #expect(fe.binds[0].backlog == 77)
        #expect(snap.listenBacklog(for: fe.binds[0], in: fe) == 77)
        #expect(snap.listenBacklog(for: fe.binds[1], in: fe) == 500)
        expectError(parse(prologue + ["frontend f", "  bind :80 backlog 0"]), line: 7, "backlog")
    }

    @Test func serverWithoutPortUsesTheFrontendPort() throws {
        let r = parse(prologue + ["frontend f", "  bind :8080", "  default_backend b", "backend b", "  server s1 127.0.0.1"])
        expectNoErrors(r)
        #expect(r.snapshot?.backends[0].servers[0].port == 8080)
        let two = parse(prologue + ["frontend f", "  bind :8080", "  bind :8081", "  default_backend b",
                                    "backend b", "  server s1 127.0.0.1"])
        expectError(two, line: 11, "reached through the ports 8080, 8081")
    }

    @Test func hasAnyListener() {
        #expect(parse(prologue + ["frontend f", "  bind :80"]).snapshot?.hasAnyListener == true)
        #expect(parse(prologue + ["backend b", "  server s1 127.0.0.1:80"]).snapshot?.hasAnyListener == false)
        #expect(parse([]).snapshot?.hasAnyListener == false)
    }

    @Test func directoryLoadsItsCfgFilesInLexicalOrder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bw-cfgdir-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try (prologue.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("10-defaults.cfg"), atomically: true, encoding: .utf8)
        try "frontend f\n  bind :80\n  default_backend b\n".write(to: dir.appendingPathComponent("20-frontend.cfg"), atomically: true, encoding: .utf8)
        try "backend b\n  server s1 127.0.0.1:80\n".write(to: dir.appendingPathComponent("30-backend.cfg"), atomically: true, encoding: .utf8)
        try "this is not read\n".write(to: dir.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        let r = ConfigParser(environment: [:]).load(paths: [dir.path])
        expectNoErrors(r)
        #expect(r.snapshot?.frontends.first?.location == Loc(file: dir.path + "/20-frontend.cfg", line: 1))
        #expect(r.snapshot?.frontends.first?.mode == .http, "the defaults file comes first")
    }

    @Test func missingFileHasNoSpuriousListenerWarning() {
        let r = ConfigParser(environment: [:]).load(paths: ["/nonexistent/breakwater.cfg"])
        #expect(r.diagnostics.count == 1, "\(r.diagnostics.map(\.description))")
        #expect(r.diagnostics[0].description == "/nonexistent/breakwater.cfg:0: error: cannot read configuration file "
                + "'/nonexistent/breakwater.cfg': No such file or directory")
    }
}
