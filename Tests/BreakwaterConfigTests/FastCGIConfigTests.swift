import BreakwaterConfigModel
import Testing

@testable import BreakwaterConfig

/// `fcgi-app` sections, `use-fcgi-app`, `proto fcgi` and UNIX socket servers (issue 6; spec CFG-3, FCGI-1,
/// FCGI-3, FCGI-5, FCGI-6, SEED-2, SEED-3, SEED-4).
@Suite struct FastCGIConfigTests {
    /// Prologue (1-5), `frontend fe` (6-8), `fcgi-app app` (9) with `docroot /srv` (10); `appLines` start at
    /// line 11; then `backend be` and `use-fcgi-app app`, then `backendLines`.
    func withApp(_ appLines: [String], backend backendLines: [String] = ["server s1 127.0.0.1:9000 proto fcgi"],
                 strict: Bool = false) -> ConfigParseResult {
        parse(prologue + ["frontend fe", "  bind :8080", "  default_backend be", "fcgi-app app", "  docroot /srv"]
              + appLines.map { "  " + $0 } + ["backend be", "  use-fcgi-app app"] + backendLines.map { "  " + $0 },
              strict: strict)
    }

    func app(_ r: ConfigParseResult, _ backend: String = "be", sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> FastCGIAppConfig {
        try #require(r.snapshot?.backend(named: backend)?.fastCGIApp, "\(r.diagnostics.map(\.description))",
                     sourceLocation: sourceLocation)
    }

    // MARK: the issue's block

    /// Issue 6's block (lines 11-26) behind a frontend (6-9); `extra` is appended (line 27 on).
    static func issueBlock(_ extra: [String] = []) -> [String] {
        prologue + [
            "frontend fe",                                          // 6
            "  bind :8080",
            "  default_backend php_fpm_cluster",
            "",
            "",                                                     // 10
            "fcgi-app wordpress_backend",                           // 11
            "    log-stderr global",
            "    docroot /var/www/html",
            "    index index.php",
            "    path-info ^(/.+\\.php)(/.*)?$",                    // 15
            "    set-param SCRIPT_FILENAME /var/www/html/\\1",      // 16
            "    set-param HTTP_PROXY \"\"",                        // 17
            "    pass-header Authorization",
            "",
            "backend php_fpm_cluster",                              // 20
            "    mode http",
            "    use-fcgi-app wordpress_backend",                   // 22
            "    balance leastconn",
            "    option tcp-check",
            "    server fpm_node_01 127.0.0.1:9000 check maxconn 250",  // 25
            "    server fpm_node_02 127.0.0.1:9001 check maxconn 250",  // 26
        ] + extra
    }

    @Test func issueBlockParsesWithTheThreeSeedWarningsOnly() throws {
        let r = parse(Self.issueBlock())
        expectNoErrors(r)
        #expect(r.diagnostics.map(\.location.line) == [16, 17, 22], "\(r.diagnostics.map(\.description))")
        #expect(r.diagnostics.allSatisfy { $0.severity == .warning && $0.isSeedExtension })
        expectWarning(r, line: 16, "HAProxy sends '\\1' literally")
        expectWarning(r, line: 16, "Breakwater extension")
        expectWarning(r, line: 17, "HAProxy rejects an empty set-param value; the Proxy header is already hidden")
        expectWarning(r, line: 17, "Breakwater extension")
        expectWarning(r, line: 22, "proxy 'php_fpm_cluster': FCGI app configured but no FCGI server found")
        expectWarning(r, line: 22, "Breakwater extension")

        let be = try #require(r.snapshot?.backend(named: "php_fpm_cluster"))
        let a = try app(r, "php_fpm_cluster")
        #expect(a.name == "wordpress_backend" && a.location == Loc(file: "t.cfg", line: 11))
        #expect(a.docroot == "/var/www/html")
        #expect(a.index == "index.php")
        #expect(a.pathInfoRegex == "^(/.+\\.php)(/.*)?$")
        #expect(a.setParams == [
            .init(name: "SCRIPT_FILENAME", valueTemplate: "/var/www/html/\\1", location: Loc(file: "t.cfg", line: 16)),
            .init(name: "HTTP_PROXY", valueTemplate: "", location: Loc(file: "t.cfg", line: 17)),
        ])
        // `\1` reaches the model as the two characters, and compiles to capture 1.
        #expect(Array(a.setParams[0].valueTemplate.utf8.suffix(2)) == [UInt8(ascii: "\\"), UInt8(ascii: "1")])
        let t1 = try FastCGIValueTemplate(a.setParams[0].valueTemplate)
        #expect(t1.segments == [.literal(Array("/var/www/html/".utf8)), .capture(1)])
        #expect(try FastCGIValueTemplate(a.setParams[1].valueTemplate).isRemoval)
        #expect(a.passHeaders == [.init(name: "authorization", location: Loc(file: "t.cfg", line: 18))])
        // No `global` section: `log-stderr global` resolves to no target (STDERR discarded).
        #expect(a.logStderr.isEmpty)
        #expect(a.keepConn && !a.mpxsConns && !a.getValues && a.maxReqs == 1)
        // SEED-4: both servers speak FastCGI, with their health and maxconn.
        #expect(be.servers.map(\.proto) == [.fcgi, .fcgi])
        #expect(be.servers.map(\.maxconn) == [250, 250] && be.servers.allSatisfy { $0.health.enabled && $0.unixSocketPath == nil })
        #expect(be.servers.map(\.port) == [9000, 9001])
        #expect(be.balance == .leastconn && be.checkKind == .tcp && be.mode == .http)
        // The frontend routes to it.
        #expect(r.snapshot?.frontends.first?.defaultBackend == "php_fpm_cluster")
    }

    @Test func logStderrGlobalUsesTheGlobalTargetsEvenWhenDeclaredLater() throws {
        let r = parse(Self.issueBlock(["global", "  log stdout format raw local0", "  log 127.0.0.1:514 local1 notice"]))
        expectNoErrors(r)
        let a = try app(r, "php_fpm_cluster")
        #expect(a.logStderr == r.snapshot?.global.logTargets)
        #expect(a.logStderr.map(\.destination) == [.stdout, .udp(host: "127.0.0.1", port: 514)])
    }

    @Test func strictModeRejectsTheThreeSeedSpellings() {
        let r = parse(Self.issueBlock(), strict: true)
        #expect(errors(r).map(\.location.line) == [16, 17, 22], "\(r.diagnostics.map(\.description))")
        #expect(errors(r).allSatisfy { $0.isSeedExtension })
        expectError(r, line: 22, "proxy 'php_fpm_cluster': FCGI app configured but no FCGI server found (write 'proto fcgi'")
        #expect(!r.diagnostics.contains { $0.message.contains("Breakwater treats") })
        expectError(r, line: 16, "HAProxy sends '\\1' literally")
        expectError(r, line: 17, "HAProxy rejects an empty set-param value")

        // The HAProxy-valid spelling passes strict mode without any diagnostic.
        var valid = Self.issueBlock()
        valid.remove(at: 16)  // set-param HTTP_PROXY ""
        valid.remove(at: 15)  // set-param SCRIPT_FILENAME …\1
        valid = valid.map { $0.contains("server fpm_node_") ? $0 + " proto fcgi" : $0 }
        let ok = parse(valid, strict: true)
        expectNoErrors(ok)
        #expect(ok.diagnostics.isEmpty, "\(ok.diagnostics.map(\.description))")
        #expect(ok.snapshot?.backend(named: "php_fpm_cluster")?.servers.map(\.proto) == [.fcgi, .fcgi])
    }

    // MARK: SEED-4 and proto

    @Test func seed4OnlyWhenNoServerWritesProto() throws {
        // One server with `proto fcgi`: HAProxy semantics, the other stays HTTP, no warning.
        var r = withApp([], backend: ["server f 127.0.0.1:9000 proto fcgi", "server h 127.0.0.1:8080"])
        expectNoErrors(r)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        #expect(r.snapshot?.backend(named: "be")?.servers.map(\.proto) == [.fcgi, .http])
        // `proto fcgi` from default-server counts as written.
        r = withApp([], backend: ["default-server proto fcgi", "server a 127.0.0.1:9000", "server b 127.0.0.1:9001"])
        expectNoErrors(r)
        #expect(!r.diagnostics.contains { $0.isSeedExtension })
        #expect(r.snapshot?.backend(named: "be")?.servers.map(\.proto) == [.fcgi, .fcgi])
        // A single server without proto: SEED-4 warning at the use-fcgi-app line (12).
        r = withApp([], backend: ["server a 127.0.0.1:9000"])
        expectNoErrors(r)
        expectWarning(r, line: 12, "FCGI app configured but no FCGI server found")
        #expect(r.snapshot?.backend(named: "be")?.servers.map(\.proto) == [.fcgi])
        // Only explicit `proto h1` servers: no seed rule, HAProxy's error at the use-fcgi-app line.
        r = withApp([], backend: ["server a 127.0.0.1:9000 proto h1"])
        expectError(r, line: 12, "proxy 'be': FCGI app configured but no FCGI server found")
        #expect(!r.diagnostics.contains { $0.isSeedExtension })
        // No server at all.
        r = withApp([], backend: [])
        expectError(r, line: 12, "proxy 'be': FCGI app configured but no FCGI server found")
    }

    @Test func fcgiServerWithoutApp() {
        let r = parse(proxyConfig(backend: ["  server s1 127.0.0.1:9000 check proto fcgi", "  server s2 127.0.0.1:9001"]))
        expectError(r, line: 10, "proxy 'be': FCGI server 's1' has no FCGI app configured")
        #expect(errors(r).count == 1, "\(errors(r))")
        // `proto h1` is plain HTTP and needs no app.
        let h1 = parse(proxyConfig(backend: ["  server s1 127.0.0.1:9000 proto h1"]))
        expectNoErrors(h1)
        #expect(h1.snapshot?.backend(named: "be")?.servers.first?.proto == .http)
        #expect(h1.snapshot?.backend(named: "be")?.fastCGIApp == nil)
    }

    @Test(arguments: [
        ("server s2 127.0.0.1:9001 proto h2", "server parameter 'proto h2' is not supported yet"),
        ("server s2 127.0.0.1:9001 proto fcgl", "'proto': unknown protocol 'fcgl'"),
        ("server s2 127.0.0.1:9001 proto", "'proto' expects a protocol name"),
        ("default-server proto spdy", "'proto': unknown protocol 'spdy'"),
        ("server s2 unix@relative.sock proto fcgi", "UNIX socket path must be absolute"),
        ("server s2 unix@ proto fcgi", "missing UNIX socket path"),
    ])
    func badProto(_ line: String, _ message: String) {
        let r = withApp([], backend: ["server s1 127.0.0.1:9000 proto fcgi", line])
        expectError(r, line: 14, message)
        #expect(errors(r).count == 1, "\(errors(r))")
    }

    @Test func protoFcgiSuggestion() {
        expectError(withApp([], backend: ["server s1 127.0.0.1:9000 proto fcgl"]), line: 13, "did you mean 'fcgi'?")
    }

    // MARK: UNIX sockets

    @Test func unixSocketServers() throws {
        let r = withApp([], backend: ["server sock /run/php/fpm.sock proto fcgi check maxconn 4",
                                      "server sock2 unix@/run/php/other.sock proto fcgi"])
        expectNoErrors(r)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        let s = try #require(r.snapshot?.backend(named: "be")?.servers)
        #expect(s.map(\.unixSocketPath) == ["/run/php/fpm.sock", "/run/php/other.sock"])
        #expect(s.map(\.proto) == [.fcgi, .fcgi])
        #expect(s[0].maxconn == 4 && s[0].health.enabled)
        // SEED-4 applies to socket servers too.
        let seed = withApp([], backend: ["server sock /run/php/fpm.sock"])
        expectNoErrors(seed)
        #expect(seed.snapshot?.backend(named: "be")?.servers.map(\.proto) == [.fcgi])
        // A UNIX socket HTTP server in a plain backend is fine.
        let http = parse(proxyConfig(backend: ["  server web /run/web.sock check"]))
        expectNoErrors(http)
        let w = try #require(http.snapshot?.backend(named: "be")?.servers.first)
        #expect(w.unixSocketPath == "/run/web.sock" && w.proto == .http)
    }

    // MARK: fcgi-app keywords

    @Test func keywordValues() throws {
        let r = withApp([
            "index default.php",                               // 11
            "path-info ^(/[^/]+\\.php)(/.*)$",                  // 12
            "set-param x-low v",                               // 13
            "set-param SERVER_NAME %[req.hdr(host),lower]",    // 14
            "set-param Q \"%[query] %ci:%cp %%\"",              // 15
            "pass-header X-Custom",                            // 16
            "no option keep-conn",                             // 17
            "option max-reqs 8",                               // 18
            "option mpxs-conns",                               // 19
            "option get-values",                               // 20
            "no option get-values",                            // 21
            "log-stderr 127.0.0.1:514 local0 err",             // 22
            "log-stderr stderr format raw daemon",             // 23
        ])
        expectNoErrors(r)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        let a = try app(r)
        #expect(a.docroot == "/srv" && a.index == "default.php" && a.pathInfoRegex == "^(/[^/]+\\.php)(/.*)$")
        #expect(a.setParams.map(\.name) == ["X_LOW", "SERVER_NAME", "Q"])
        #expect(a.setParams.map(\.valueTemplate) == ["v", "%[req.hdr(host),lower]", "%[query] %ci:%cp %%"])
        #expect(a.setParams.map(\.location.line) == [13, 14, 15])
        #expect(a.passHeaders.map(\.name) == ["x-custom"])
        #expect(!a.keepConn && a.mpxsConns && !a.getValues && a.maxReqs == 8)
        #expect(a.logStderr == [
            LogTarget(destination: .udp(host: "127.0.0.1", port: 514), facility: 16, maxLevel: 3),
            LogTarget(destination: .stderr, format: .raw, facility: 3),
        ])
    }

    @Test func laterLinesWinAndNoLogStderrClears() throws {
        let r = withApp(["docroot /other", "index a.php", "index b.php", "path-info ^(/a)", "path-info ^(/b)",
                         "log-stderr stdout local0", "no log-stderr", "log-stderr global", "option keep-conn"])
        expectNoErrors(r)
        let a = try app(r)
        #expect(a.docroot == "/other" && a.index == "b.php" && a.pathInfoRegex == "^(/b)")
        #expect(a.logStderr.isEmpty && a.keepConn)
    }

    @Test func maxReqsNeedsMultiplexing() throws {
        // Without mpxs-conns or get-values: warning at the max-reqs line, forced to 1.
        var r = withApp(["option max-reqs 4"])
        expectNoErrors(r)
        expectWarning(r, line: 11, "fcgi-app 'app': multiplexing is off, 'option max-reqs 4' is ignored (forced to 1")
        #expect(try app(r).maxReqs == 1)
        // get-values is enough, and may come after max-reqs.
        r = withApp(["option max-reqs 4", "option get-values"])
        expectNoErrors(r)
        #expect(r.diagnostics.isEmpty)
        #expect(try app(r).maxReqs == 4 && app(r).getValues)
        // Turned off again later: the warning is back.
        r = withApp(["option mpxs-conns", "option max-reqs 2", "no option mpxs-conns"])
        expectWarning(r, line: 12, "forced to 1")
        #expect(try app(r).maxReqs == 1)
        // max-reqs 1 never warns.
        #expect(withApp(["option max-reqs 1"]).diagnostics.isEmpty)
    }

    @Test(arguments: [
        ("docroot", "'docroot' expects <path> as an argument"),
        ("docroot \"\"", "'docroot' expects <path> as an argument"),
        ("docroot /a /b", "'docroot' expects one argument, got extra argument '/b'"),
        ("index", "'index' expects <filename> as an argument"),
        ("index a.php b.php", "got extra argument 'b.php'"),
        ("path-info", "'path-info' expects <regex> as an argument"),
        ("path-info ^(/.+\\.php(/.*)?$", "'path-info': invalid regex '^(/.+\\.php(/.*)?$'"),
        ("path-info ^(/x) extra", "got extra argument 'extra'"),
        ("set-param", "'set-param' expects <name> and <value> as arguments"),
        ("set-param FOO", "'set-param' expects <name> and <value> as arguments"),
        ("set-param \"\" bar", "'set-param' expects <name> and <value> as arguments"),
        ("set-param FOO %[nope]", "'set-param FOO': invalid value '%[nope]': unknown fetch method 'nope'"),
        ("set-param FOO abc%", "'%' at end of log-format string"),
        ("set-param FOO %[path,reverse]", "unknown converter 'reverse'"),
        ("set-param FOO %zz", "unsupported log-format variable '%zz'"),
        ("set-param FOO bar baz", "'set-param FOO': unexpected argument 'baz' (expected 'if' or 'unless')"),
        ("set-param FOO bar if", "missing condition after 'if'"),
        ("set-param FOO bar if undefined_acl", "no such ACL : 'undefined_acl'"),
        ("set-param FOO bar unless { nosuch }", "anonymous acl: unknown fetch method 'nosuch'"),
        ("pass-header", "'pass-header' expects <name> as an argument"),
        ("pass-header \"\"", "'pass-header' expects <name> as an argument"),
        ("pass-header X-A b", "'pass-header X-A': unexpected argument 'b'"),
        ("pass-header Bad:Name", "invalid header name 'Bad:Name'"),
        ("pass-header X-A if nope", "no such ACL : 'nope'"),
        ("log-stderr", "'log-stderr' expects 'global' or a target and a facility"),
        ("log-stderr global extra", "'log-stderr global' takes no argument, got 'extra'"),
        ("log-stderr 127.0.0.1:514", "expects a facility after the target"),
        ("log-stderr stdout nofacility", "unknown log facility 'nofacility'"),
        ("log-stderr ring@buf local0", "log target 'ring@buf' is not supported yet"),
        ("option", "'option' expects an option name"),
        ("option keep-con", "unknown option 'keep-con' in 'fcgi-app' section; did you mean 'keep-conn'?"),
        ("option httplog", "unknown option 'httplog' in 'fcgi-app' section"),
        ("option keep-conn now", "'option keep-conn' takes no argument, got 'now'"),
        ("no option mpxs-conns x", "'no option mpxs-conns' takes no argument, got 'x'"),
        ("option max-reqs", "option 'max-reqs' expects an integer argument"),
        ("option max-reqs 0", "option 'max-reqs' expects a strictly positive integer argument, got '0'"),
        ("option max-reqs x", "'option max-reqs' expects an integer argument, got 'x'"),
        ("option max-reqs 2 3", "got extra argument '3'"),
        ("no option max-reqs", "negation is not supported for option 'max-reqs'"),
        ("no", "'no' expects 'option' or 'log-stderr'"),
        ("no docroot", "'no' is only supported before 'option' and 'log-stderr' in 'fcgi-app' section, not 'docroot'"),
        ("no log-stderr global", "'no log-stderr' takes no argument"),
        ("acl", "'acl' expects <name> and <criterion> as arguments"),
        ("acl x", "'acl' expects <name> and <criterion> as arguments"),
        ("acl bad! path /", "character '!' is not permitted in acl name 'bad!'"),
        ("acl or path /", "acl name 'or' is forbidden"),
        ("acl x nosuchfetch /", "acl 'x': unknown fetch method 'nosuchfetch'"),
        ("docrot /x", "unknown keyword 'docrot' in 'fcgi-app' section; did you mean 'docroot'?"),
        ("set-parm A b", "unknown keyword 'set-parm' in 'fcgi-app' section; did you mean 'set-param'?"),
        ("server s 127.0.0.1:1", "unknown keyword 'server' in 'fcgi-app' section"),
        ("mode http", "unknown keyword 'mode' in 'fcgi-app' section"),
        ("use-fcgi-app app", "unknown keyword 'use-fcgi-app' in 'fcgi-app' section"),
        ("hide-header X", "unknown keyword 'hide-header' in 'fcgi-app' section"),
    ])
    func badAppLines(_ line: String, _ message: String) {
        let r = withApp([line])
        expectError(r, line: 11, message)
        #expect(errors(r).count == 1, "\(errors(r).map(\.description))")
    }

    // MARK: conditions and private ACLs

    @Test func privateACLsResolveIntoConditions() throws {
        let r = withApp([
            "acl is_api path_beg /api",                                    // 11
            "set-param APP_ZONE api if is_api",                            // 12
            "pass-header Authorization unless !is_api || { hdr(x-internal) -m found }",  // 13
            "acl is_api path_beg /v2",                                     // 14: later lines still add to the ACL
            "set-param APP_ZONE \"\" if METH_POST",                        // 15: SEED-3 with a condition
        ])
        expectNoErrors(r)
        expectWarning(r, line: 15, "HAProxy rejects an empty set-param value")
        // The Proxy-header remark is only for HTTP_PROXY.
        #expect(!r.diagnostics.contains { $0.message.contains("Proxy header") })
        let a = try app(r)
        let apiTests = [
            ACLTest(fetch: .path, method: .beg, strings: ["/api"], location: Loc(file: "t.cfg", line: 11)),
            ACLTest(fetch: .path, method: .beg, strings: ["/v2"], location: Loc(file: "t.cfg", line: 14)),
        ]
        #expect(a.setParams[0].condition == RuleCondition(polarity: .if, terms: [[ConditionFactor(negated: false, name: "is_api", tests: apiTests)]]))
        let c = try #require(a.passHeaders.first?.condition)
        #expect(c.polarity == .unless && c.terms.count == 2)
        #expect(c.terms[0] == [ConditionFactor(negated: true, name: "is_api", tests: apiTests)])
        #expect(c.terms[1].first?.name == nil && c.terms[1].first?.tests.first?.fetch == .header("x-internal"))
        #expect(c.terms[1].first?.tests.first?.method == .found)
        #expect(a.setParams[1].valueTemplate == "" && a.setParams[1].condition?.terms.first?.first?.name == "METH_POST")
    }

    @Test func aclsArePrivateToTheirSection() {
        // The backend's ACL is not visible in the app…
        var r = parse(prologue + ["frontend fe", "  bind :80", "  default_backend be",
                                  "backend be", "  acl be_acl path /", "  use-fcgi-app app", "  server s 127.0.0.1:9000 proto fcgi",
                                  "fcgi-app app", "  docroot /srv", "  set-param A b if be_acl"])
        expectError(r, line: 15, "no such ACL : 'be_acl'")
        // …and the app's ACL is not visible in a proxy declared after it.
        r = parse(prologue + ["fcgi-app app", "  docroot /srv", "  acl app_acl path /",
                              "frontend fe", "  bind :80", "  http-request deny if app_acl", "  default_backend be",
                              "backend be", "  use-fcgi-app app", "  server s 127.0.0.1:9000 proto fcgi"])
        expectError(r, line: 11, "no such ACL : 'app_acl'")
        #expect(errors(r).count == 1)
        // An ACL of a previous fcgi-app is not visible in the next one.
        r = parse(prologue + ["fcgi-app a1", "  docroot /srv", "  acl x path /", "fcgi-app a2", "  docroot /srv",
                              "  pass-header X if x"])
        expectError(r, line: 11, "no such ACL : 'x'")
    }

    // MARK: section header, duplicates, docroot, defaults

    @Test func sectionHeaderErrors() {
        var r = parse(prologue + ["fcgi-app", "  docroot /srv"])
        expectError(r, line: 6, "'fcgi-app' expects <name> as an argument")
        #expect(errors(r).count == 1)
        r = parse(prologue + ["fcgi-app wp!", "  docroot /srv"])
        expectError(r, line: 6, "character '!' is not permitted in fcgi-app name 'wp!'")
        #expect(errors(r).count == 1)
        r = parse(prologue + ["fcgi-app wp extra", "  docroot /srv"])
        expectError(r, line: 6, "'fcgi-app wp' takes no argument after the name, got 'extra'")
        // The body of a badly named section is still checked.
        r = parse(prologue + ["fcgi-app wp!", "  docrot /srv"])
        expectError(r, line: 7, "unknown keyword 'docrot' in 'fcgi-app' section")
        // Allowed name characters.
        expectNoErrors(parse(prologue + ["fcgi-app A-z_0.9:x", "  docroot /srv"]))
    }

    @Test func duplicateAppNames() {
        let r = parse(prologue + ["fcgi-app wp", "  docroot /a", "fcgi-app wp", "  docroot /b",
                                  "frontend fe", "  bind :80", "  default_backend wp", "backend wp", "  use-fcgi-app wp",
                                  "  server s 127.0.0.1:9000 proto fcgi"])
        expectError(r, line: 8, "fcgi-app 'wp' has the same name as another fcgi-app declared at t.cfg:6")
        #expect(errors(r).count == 1, "\(errors(r))")
        // An fcgi-app may share its name with a proxy (separate namespace): the backend above is called 'wp' too.
        let ok = parse(prologue + ["fcgi-app wp", "  docroot /a", "frontend fe", "  bind :80", "  default_backend wp",
                                   "backend wp", "  use-fcgi-app wp", "  server s 127.0.0.1:9000 proto fcgi"])
        expectNoErrors(ok)
        #expect(ok.snapshot?.backend(named: "wp")?.fastCGIApp?.docroot == "/a")
    }

    @Test func docrootIsMandatory() {
        let r = parse(prologue + ["fcgi-app wp", "  index index.php", "frontend fe", "  bind :80", "  default_backend be",
                                  "backend be", "  use-fcgi-app wp", "  server s 127.0.0.1:9000 proto fcgi"])
        expectError(r, line: 6, "fcgi-app 'wp': no docroot configured")
        // No second error for the backend that uses it.
        #expect(errors(r).count == 1, "\(errors(r))")
        // At the end of the file too.
        expectError(parse(prologue + ["fcgi-app last", "  index index.php"]), line: 6, "fcgi-app 'last': no docroot configured")
    }

    @Test func nothingInheritedFromDefaults() throws {
        let r = parse(["defaults", "  mode http", "  timeout connect 5s", "  timeout client 30s", "  timeout server 30s",
                       "  log stdout local0", "  no option http-keep-alive",
                       "fcgi-app wp", "  docroot /srv", "frontend fe", "  bind :80", "  default_backend be",
                       "backend be", "  use-fcgi-app wp", "  server s 127.0.0.1:9000 proto fcgi"])
        expectNoErrors(r)
        let a = try app(r)
        #expect(a.logStderr.isEmpty && a.keepConn && a.setParams.isEmpty && a.passHeaders.isEmpty)
        // FastCGI keywords are not proxy keywords.
        expectError(parse(prologue + ["backend be", "  docroot /srv"]), line: 7, "unknown keyword 'docroot' in 'backend' section")
        expectError(parse(prologue + ["  option keep-conn"]), line: 6, "unknown option 'keep-conn'")
    }

    // MARK: use-fcgi-app

    @Test func useFcgiAppResolution() throws {
        // Declared after the backend that uses it, and in a listen section.
        let r = parse(prologue + ["listen web", "  bind :80", "  use-fcgi-app wp", "  server s /run/fpm.sock proto fcgi",
                                  "fcgi-app wp", "  docroot /srv"])
        expectNoErrors(r)
        let be = try #require(r.snapshot?.backend(named: "web"))
        #expect(be.fastCGIApp?.name == "wp" && be.fastCGIApp?.location == Loc(file: "t.cfg", line: 10))
        #expect(r.snapshot?.frontends.first?.defaultBackend == "web")
        // The same app twice is accepted.
        expectNoErrors(withApp([], backend: ["use-fcgi-app app", "server s 127.0.0.1:9000 proto fcgi"]))
        // A backend without use-fcgi-app has no app.
        let plain = parse(proxyConfig())
        #expect(plain.snapshot?.backend(named: "be")?.fastCGIApp == nil)
    }

    @Test func useFcgiAppErrorsCiteTheReferencingLine() {
        // Unknown app: second pass, at the use line, after the first-pass diagnostics.
        var r = parse(prologue + ["frontend fe", "  bind :80", "  default_backend be", "backend be", "  use-fcgi-app nope",
                                  "  server s 127.0.0.1:9000 proto fcgi", "  bogus"])
        expectError(r, line: 10, "fcgi-app 'nope' not found")
        expectError(r, line: 12, "unknown keyword 'bogus'")
        #expect(errors(r).map(\.location.line) == [12, 10])
        // Did-you-mean for a near miss.
        r = parse(prologue + ["fcgi-app wordpress", "  docroot /srv", "frontend fe", "  bind :80", "  default_backend be",
                              "backend be", "  use-fcgi-app wordpres", "  server s 127.0.0.1:9000 proto fcgi"])
        expectError(r, line: 12, "fcgi-app 'wordpres' not found; did you mean 'wordpress'?")
        #expect(errors(r).count == 1, "\(errors(r))")
        // In a frontend, in defaults.
        r = parse(prologue + ["frontend fe", "  bind :80", "  use-fcgi-app app"])
        expectError(r, line: 8, "'use-fcgi-app' only available in backend or listen section")
        r = parse(prologue + ["  use-fcgi-app app"])
        expectError(r, line: 6, "'use-fcgi-app' only available in backend or listen section")
        // Two different apps.
        r = parse(prologue + ["fcgi-app a", "  docroot /a", "fcgi-app b", "  docroot /b", "frontend fe", "  bind :80",
                              "  default_backend be", "backend be", "  use-fcgi-app a", "  use-fcgi-app b",
                              "  server s 127.0.0.1:9000 proto fcgi"])
        expectError(r, line: 15, "'use-fcgi-app': only one fcgi-app supported per backend (backend 'be' already uses 'a' at t.cfg:14)")
        #expect(errors(r).count == 1, "\(errors(r))")
        // Missing or extra arguments.
        expectError(withApp([], backend: ["use-fcgi-app", "server s 127.0.0.1:9000 proto fcgi"]), line: 13, "'use-fcgi-app' expects <name> as an argument")
        expectError(withApp([], backend: ["use-fcgi-app app x", "server s 127.0.0.1:9000 proto fcgi"]), line: 13, "got extra argument 'x'")
    }

    @Test func tcpModeBackend() {
        let r = parse(prologue + ["fcgi-app app", "  docroot /srv", "backend be", "  mode tcp", "  use-fcgi-app app"])
        expectError(r, line: 10, "proxy 'be': FCGI application cannot be used in non-HTTP mode")
        #expect(errors(r).count == 1, "\(errors(r))")
        // Mode may be switched after the use-fcgi-app line: the mode at the end of the section counts.
        let late = parse(prologue + ["fcgi-app app", "  docroot /srv", "backend be", "  use-fcgi-app app", "  mode tcp"])
        expectError(late, line: 9, "FCGI application cannot be used in non-HTTP mode")
    }
}
