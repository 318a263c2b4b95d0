import BreakwaterConfigModel
import Testing

@testable import BreakwaterConfig

@Suite struct ProxyTests {
    @Test func frontendAndBackendKeywords() {
        let r = parse([
            "global", "  log 127.0.0.1 local0",                                           // 1-2
            "defaults", "  log global", "  mode http", "  option httplog",               // 3-6
            "  option dontlognull", "  option dontlog-normal", "  retries 2",             // 7-9
            "  timeout connect 4000", "  timeout client 45s", "  timeout server 45s",     // 10-12
            "  timeout http-request 10s", "  timeout http-keep-alive 2s", "  timeout queue 30s", // 13-15
            "  timeout tarpit 5s", "  timeout check 3s", "  timeout tunnel 1h",          // 16-18
            "frontend web", "  bind *:80,:::80 name web", "  bind 127.0.0.1:8080",        // 19-21
            "  maxconn 1000", "  option forwardfor", "  no option http-keep-alive",       // 22-24
            "  default_backend app",                                                       // 25
            "backend app", "  balance leastconn", "  option redispatch", "  http-reuse aggressive", // 26-29
            "  no log", "  log stdout local1",                                             // 30-31
            "  default-server maxconn 50 weight 10",                                       // 32
            "  server a 10.0.0.1:80", "  server b 10.0.0.2:8080 weight 0 maxconn 2 maxqueue 7 disabled", // 33-34
            "  server c [::1]:80 backup",                                                  // 35
        ])
        expectNoErrors(r)
        guard let s = r.snapshot else { return }
        let fe = s.frontends[0]
        #expect(fe.name == "web" && fe.location.line == 19 && fe.mode == .http)
        #expect(fe.binds == [
            BindConfig(host: "0.0.0.0", port: 80, name: "web", location: .init(file: "t.cfg", line: 20)),
            BindConfig(host: "::", port: 80, name: "web", location: .init(file: "t.cfg", line: 20)),
            BindConfig(host: "127.0.0.1", port: 8080, location: .init(file: "t.cfg", line: 21)),
        ])
        #expect(fe.maxconn == 1000)
        #expect(fe.logTargets == [LogTarget(destination: .udp(host: "127.0.0.1", port: 514), facility: 16)])
        #expect(fe.options.httplog && fe.options.dontlognull && fe.options.dontlogNormal && fe.options.forwardfor)
        #expect(!fe.options.httpKeepAlive)
        #expect(fe.defaultBackend == "app")
        var t = Timeouts()
        t.connect = 4000; t.client = 45000; t.server = 45000; t.httpRequest = 10000; t.httpKeepAlive = 2000
        t.queue = 30000; t.tarpit = 5000; t.check = 3000; t.tunnel = 3_600_000
        #expect(fe.timeouts == t)
        let be = s.backends[0]
        #expect(be.balance == .leastconn && be.retries == 2 && be.options.redispatch && be.httpReuse == .aggressive)
        #expect(be.logTargets == [LogTarget(destination: .stdout, facility: 17)])
        #expect(be.servers.count == 3)
        #expect(be.servers[0].maxconn == 50 && be.servers[0].weight == 10 && be.servers[0].host == "10.0.0.1")
        #expect(be.servers[1].weight == 0 && be.servers[1].maxconn == 2 && be.servers[1].maxqueue == 7 && be.servers[1].disabled)
        #expect(be.servers[1].port == 8080 && be.servers[1].location.line == 34)
        #expect(be.servers[2].host == "::1" && be.servers[2].backup && !be.servers[2].disabled)
        #expect(r.summary == "Configuration file is valid: 1 frontend, 1 backend, 3 servers")
    }

    @Test func inheritanceAndNoOption() {
        let r = parse([
            "defaults first", "  mode http", "  option forwardfor", "  timeout client 1s",   // 1-4
            "  timeout connect 1s", "  timeout server 1s", "  retries 5",                   // 5-7
            "frontend a", "  bind :1", "  no option forwardfor", "  timeout client 2s",      // 8-11
            "  default_backend b",                                                           // 12
            "backend b", "  server s 127.0.0.1:2",                                           // 13-14
            "defaults", "  mode http", "  timeout client 3s",                                // 15-17
            "frontend c", "  bind :3", "  default_backend b",                                // 18-20
        ])
        #expect(errors(r).isEmpty, "\(r.diagnostics)")
        guard let s = r.snapshot else { return }
        #expect(!s.frontends[0].options.forwardfor)
        #expect(s.frontends[0].timeouts.client == 2000)
        #expect(s.frontends[0].timeouts.connect == 1000)
        #expect(s.backends[0].retries == 5)
        #expect(s.backends[0].timeouts.server == 1000)
        // The second defaults section starts again from built-ins.
        #expect(s.frontends[1].timeouts.client == 3000)
        #expect(s.frontends[1].timeouts.connect == nil)
        #expect(!s.frontends[1].options.forwardfor)
    }

    @Test func defaultsBuiltIns() {
        let r = parse(["frontend f", "  mode http", "  bind :80", "  timeout client 1s"])
        expectNoErrors(r)
        let fe = r.snapshot!.frontends[0]
        #expect(fe.options == ProxyOptions())
        #expect(fe.logTargets.isEmpty && fe.defaultBackend == nil)
    }

    @Test func listenSection() {
        let r = parse(prologue + ["listen app", "  bind :8000", "  server s1 127.0.0.1:9000", "  balance leastconn",
                                  "  http-request set-header X-A 1"])
        expectNoErrors(r)
        guard let s = r.snapshot else { return }
        #expect(s.frontends.map(\.name) == ["app"] && s.backends.map(\.name) == ["app"])
        #expect(s.frontends[0].defaultBackend == "app")
        #expect(s.frontends[0].httpRequestRules.count == 1)
        #expect(s.backends[0].httpRequestRules.isEmpty)
        #expect(s.backends[0].balance == .leastconn && s.backends[0].servers.count == 1)
    }

    @Test func capabilityWarnings() {
        let r = parse(prologue + [
            "frontend f", "  bind :80", "  timeout queue 5s", "  balance leastconn", "  retries 1",   // 6-10
            "  option redispatch", "  http-reuse never", "  default-server maxconn 3", "  default_backend b", // 11-14
            "backend b", "  option httplog", "  timeout client 1s", "  maxconn 10",                  // 15-18
            "  default_backend x", "  bind :81", "  use_backend x", "  server s 127.0.0.1:80",       // 19-22
        ])
        expectNoErrors(r)
        expectWarning(r, line: 8, "'timeout queue' will be ignored because frontend 'f' has no backend capability")
        for l in 9...13 { expectWarning(r, line: l, "no backend capability") }
        for l in 16...21 { expectWarning(r, line: l, "no frontend capability") }
        #expect(r.snapshot?.frontends[0].timeouts.queue == nil)
        #expect(r.snapshot?.backends[0].options.httplog == false)
    }

    @Test(arguments: [
        ("server s 127.0.0.1:80", "'server' not allowed"), ("acl a path /", "'acl' not allowed in 'defaults' section"),
        ("http-request deny", "'http-request' not allowed in 'defaults'"), ("bind :80", "'bind' not allowed in 'defaults'"),
        ("use_backend b", "'use_backend' not allowed in 'defaults'"),
    ])
    func notAllowedInDefaults(_ line: String, _ keyword: String) {
        let r = parse(["defaults", "  " + line])
        expectError(r, line: 2, keyword)
    }

    @Test func serverInFrontendIsError() {
        let r = parse(prologue + ["frontend f", "  bind :80", "  server s 127.0.0.1:80"])
        expectError(r, line: 8, "'server' not allowed in frontend 'f'")
    }

    @Test func sectionNamesAndDuplicates() {
        let r = parse(prologue + [
            "frontend a", "  bind :1",        // 6-7
            "frontend a", "  bind :2",        // 8-9
            "backend a",                      // 10 (a frontend and a backend may share a name)
            "backend a",                      // 11
            "listen a",                       // 12
            "backend bad$name",               // 13
            "frontend",                       // 14
            "defaults x/y",                   // 15
        ])
        expectError(r, line: 8, "t.cfg:6")
        expectError(r, line: 11, "t.cfg:10")
        expectError(r, line: 12, "t.cfg:6")
        expectError(r, line: 12, "t.cfg:10")
        expectError(r, line: 13, "character '$' is not permitted in backend name")
        expectError(r, line: 14, "expects <name>")
        expectError(r, line: 15, "character '/' is not permitted")
        #expect(!errors(r).contains { $0.location.line == 10 })
    }

    @Test func unknownKeywordSuggestions() {
        let r = parse(prologue + ["frontend f", "  bind :80", "  maxconnn 10", "  defualt_backend b", "  frobnicate",
                                  "  option httplgo", "  timeout conect 1s", "  http-request dney"])
        expectError(r, line: 8, "unknown keyword 'maxconnn' in 'frontend' section; did you mean 'maxconn'")
        expectError(r, line: 9, "did you mean 'default_backend'")
        expectError(r, line: 10, "unknown keyword 'frobnicate' in 'frontend' section")
        #expect(errors(r).first { $0.location.line == 10 }?.message.contains("did you mean") == false)
        expectError(r, line: 11, "did you mean 'httplog'")
        expectError(r, line: 12, "did you mean 'connect'")
        expectError(r, line: 13, "did you mean 'deny'")
    }

    @Test(arguments: [
        ("mode health", "unknown proxy mode 'health'"), ("mode", "expects"), ("retries x", "integer"),
        ("retries -1", "between"), ("timeout connect", "expects a time value"), ("timeout connect 1.5s", "unexpected character '.'"),
        ("timeout connect 10x", "unexpected character 'x' in 'timeout connect'"), ("timeout server 500us", "underflow"),
        ("timeout client 25d", "overflow"), ("timeout client 1s 2s", "extra argument"), ("timeout bogus 1s", "unknown timeout"),
        ("maxconn abc", "integer"), ("maxconn 0", "between"), ("maxconn -5", "between"), ("option", "expects an option"),
        ("option frobnicate", "unknown option"), ("option httpclose", "not supported by breakwater"),
        ("option forwardfor except 127.0.0.1", "not supported yet"), ("option dontlognull now", "takes no argument"),
        ("no option", "expects an option"), ("no bind", "'no' is only supported"), ("log", "expects"),
        ("log global extra", "nothing after 'global'"), ("log /dev/log", "facility"), ("no log extra", "no argument"),
        ("balance source", "not supported yet"), ("balance hdr(host)", "not supported yet"), ("balance fastest", "balance only supports"),
        ("balance roundrobin extra", "extra argument"), ("balance", "expects an algorithm"),
        ("http-reuse sometimes", "'http-reuse' only supports"), ("default_backend", "expects"),
        ("default_backend %[req.hdr(host)]", "dynamic backend names"), ("bind", "expects an address"),
        ("bind 127.0.0.1", "missing port"), ("bind *:70000", "invalid port"), ("bind :80 ssl crt /x.pem", "unable to stat SSL certificate"),
        ("bind :80 ssl", "no SSL certificate specified"), ("bind :80 tls-ticket-keys /nonexistent/k", "unable to load ssl tickets keys file"),
        ("bind :80 ssl-min-ver TLSv9", "unknown version"), ("bind :80 crt-list /x", "not supported yet (TLS)"),
        ("bind :80 ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.2", "ssl-min-ver"), ("bind :80 proto h3", "proto h3"), ("bind :80 accept-proxy", "not supported yet"),
        ("bind :80 frob", "unknown bind option 'frob'"), ("bind :80 nmae x", "did you mean 'name'"),
        ("bind unix@/tmp/s", "only IPv4/IPv6"), ("bind :80 name", "expects an argument"), ("bind myhost:80", "invalid address"),
    ])
    func badProxyLines(_ line: String, _ keyword: String) {
        let r = parse(prologue + ["frontend f", "  bind :1", "  " + line, "  default_backend b", "backend b", "  server s 127.0.0.1:1"])
        expectError(r, line: 8, keyword)
    }

    @Test(arguments: [
        ("tcp-request content reject", "'tcp-request content' is not supported yet"),
        ("tcp-request inspect-delay 5s", "'tcp-request inspect-delay' is not supported yet"),
        ("tcp-request connection accept", "'tcp-request connection accept' is not supported yet"),
        ("stick on src", "'stick' is not supported yet"),
        ("tcp-check connect", "'tcp-check' is not supported yet"),
        ("stats auth admin:secret", "'stats auth' is not supported yet"), ("stats admin if TRUE", "'stats admin' is not supported yet"),
        ("stats realm Stats", "'stats realm' is not supported yet"), ("stats hide-version", "'stats hide-version' is not supported yet"),
        ("stats show-legends", "'stats show-legends' is not supported yet"),
        ("http-check send meth GET uri /", "'http-check send' is not supported yet"),
        ("http-check disable-on-404", "'http-check disable-on-404' is not supported yet"),
        ("http-check expect string OK", "'http-check expect string' is not supported yet"),
        ("http-check expect rstatus ^2", "'http-check expect rstatus' is not supported yet"),
        ("http-check expect status 200-399", "status ranges and lists are not supported yet"),
        ("option log-health-checks", "'option log-health-checks' is not supported yet"),
        ("server s2 127.0.0.1:80 proto h2", "'proto h2' is not supported yet"), ("server s2 127.0.0.1:80 slowstart 10s", "'slowstart'"),
        ("server s2 127.0.0.1:80 ssl verify none", "'ssl', 'verify'"),
        ("server s2 127.0.0.1:80 check slowstart 3s inter 3s", "parameter 'slowstart' is not supported yet"),
        ("default-server check slowstart 3s", "'slowstart'"),
        ("http-request sc-inc-gpc1(0)", "'http-request sc-inc-gpc1' is not supported yet"),
        ("http-request sc-set-gpt0(0) 1", "'http-request sc-set-gpt0' is not supported yet"),
        ("http-request tarpit string nope", "'http-request tarpit string' is not supported yet"),
    ])
    func laterIssueDirectives(_ line: String, _ keyword: String) {
        let r = parse(prologue + ["backend b", "  server s 127.0.0.1:1", "  " + line])
        expectError(r, line: 8, keyword)
        #expect(!errors(r).contains { $0.message.contains("unknown") })
        #expect(errors(r).count == 1, "\(errors(r))")
    }

    @Test func modeTCP() {
        let r = parse([
            "frontend f", "  bind :80",                                // 1-2: built-in mode tcp
            "backend t", "  mode tcp", "  server s 127.0.0.1:1",       // 3-5
            "backend table_only", "  mode tcp",                        // 6-7 (no servers, never carries traffic)
            "frontend h", "  mode http", "  bind :81", "  timeout client 1s", "  default_backend t", // 8-12
        ])
        expectError(r, line: 1, "mode tcp is not supported yet")
        expectError(r, line: 4, "mode tcp is not supported yet")
        expectError(r, line: 12, "incompatible tcp backend 't'")
        #expect(!errors(r).contains { $0.location.line == 7 || $0.location.line == 6 })
    }

    @Test func crossReferences() {
        let r = parse(prologue + [
            "frontend f", "  bind :80",                                       // 6-7
            "  acl api path_beg /api",                                        // 8
            "  use_backend api_be if api",                                    // 9
            "  use_backend f if !api",                                        // 10
            "  default_backend nowhere",                                      // 11
            "backend be", "  server s 127.0.0.1:1",                           // 12-13
        ])
        let errs = errors(r)
        #expect(errs.map(\.location.line) == [9, 10, 11], "\(errs)")
        expectError(r, line: 9, "unable to find required use_backend: 'api_be'")
        expectError(r, line: 10, "no backend capability")
        expectError(r, line: 11, "unable to find required default_backend: 'nowhere'")
    }

    @Test func crossReferenceErrorsComeAfterFileOrderErrors() {
        let r = parse(prologue + ["frontend f", "  bind :80", "  use_backend missing", "  bogus"])
        #expect(errors(r).map(\.location.line) == [9, 8])
    }

    @Test func missingTimeoutsAndNoBind() {
        let r = parse(["defaults", "  mode http", "frontend f", "  default_backend b", "backend b", "  server s 127.0.0.1:1",
                       "backend empty"])
        expectNoErrors(r)
        expectWarning(r, line: 3, "missing timeouts for frontend 'f'")
        expectWarning(r, line: 3, "has no 'bind' directive")
        expectWarning(r, line: 5, "missing timeouts for backend 'b'")
        #expect(!warnings(r).contains { $0.location.line == 7 })
        // A frontend without a bind listens nowhere (issue 9): the whole-configuration warning too.
        #expect(warnings(r).contains { $0.message.contains("no enabled listener") })
        #expect(r.summary.hasSuffix("(4 warnings)"))
    }

    @Test func serverLines() {
        let r = parse(prologue + [
            "backend b",                                         // 6
            "  server s1 localhost:80",                           // 7
            "  server s1 127.0.0.1:81",                           // 8 duplicate
            "  server s2 127.0.0.1",                              // 9 no port: accepted (HAProxy: the client's port)
            "  server s3 127.0.0.1:65536",                        // 10
            "  server s4 127.0.0.1:80 weight 257",                // 11
            "  server s5 127.0.0.1:80 maxconn abc",               // 12
            "  server s6 127.0.0.1:80 maxconn -1",                // 13
            "  server s7 127.0.0.1:80 maxconnn 5",                // 14
            "  server s8 no-such-host.invalid:80",                // 15
            "  server s9",                                        // 16
            "  server s10 127.0.0.1:80 maxqueue",                 // 17
            "  server s11 127.0.0.1:80 maxconn 0",                // 18
            "  server s@ 127.0.0.1:80",                           // 19
        ])
        expectError(r, line: 8, "already declared")
        #expect(!r.diagnostics.contains { $0.severity == .error && $0.location.line == 9 }, "\(r.diagnostics)")
        expectError(r, line: 10, "invalid port")
        expectError(r, line: 11, "between 0 and 256")
        expectError(r, line: 12, "integer")
        expectError(r, line: 13, "between")
        expectError(r, line: 14, "unknown keyword 'maxconnn' on 'server' line; did you mean 'maxconn'")
        expectError(r, line: 15, "could not resolve address 'no-such-host.invalid'")
        expectError(r, line: 16, "expects <name> and <address>")
        expectError(r, line: 17, "expects an integer")
        expectError(r, line: 18, "between")
        expectError(r, line: 19, "character '@'")
        #expect(!errors(r).contains { $0.location.line == 7 })
    }

    @Test func localhostServer() {
        let r = parse(prologue + ["backend b", "  server s1 localhost:80 enabled"])
        expectNoErrors(r)
        #expect(r.snapshot?.backends[0].servers[0].host == "127.0.0.1")
    }
}
