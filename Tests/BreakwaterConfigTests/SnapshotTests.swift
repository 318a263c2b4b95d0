import BreakwaterConfigModel
import Foundation
import Testing

@testable import BreakwaterConfig

@Suite struct SnapshotTests {
    static let realistic = """
        # Realistic multi-section configuration
        global
            log /dev/log local0
            log 127.0.0.1:5140 format rfc5424 local1 notice
            maxconn 50000
            nbthread 2
            stats socket /run/breakwater/admin.sock mode 600 level admin
            stats timeout 30s

        defaults
            log global
            mode http
            option httplog
            option dontlognull
            option forwardfor
            timeout connect 4000
            timeout client 45000
            timeout server 45000
            timeout queue 30s

        frontend www
            bind *:8080
            bind :::8080
            maxconn 10000
            acl is_api path_beg /api/
            acl is_static path_end .css .js .png
            acl is_static path_beg -i /static/
            acl internal src 10.0.0.0/8 192.168.0.0/16
            http-request deny deny_status 403 if { path_beg /admin } !internal
            http-request set-header X-Forwarded-Proto http
            http-request del-header X-Debug
            use_backend api if is_api
            use_backend static if is_static || { hdr(host) -i static.example.org }
            default_backend app

        backend api
            balance leastconn
            option redispatch
            retries 2
            default-server maxconn 100
            server api1 10.0.1.1:9000
            server api2 10.0.1.2:9000 weight 2

        backend static
            http-reuse always
            server st1 10.0.2.1:80 maxconn 500 maxqueue 50

        backend app
            timeout server 60s
            server app1 10.0.3.1:8000
            server app2 10.0.3.2:8000 backup

        listen admin
            bind 127.0.0.1:9090
            no option forwardfor
            http-request return status 200 content-type text/plain string "ok" if { path /ping }
            server local 127.0.0.1:9091
        """

    @Test func realisticRoundTrip() throws {
        let r = ConfigParser(environment: [:]).parse([ConfigSource(path: "bw.cfg", text: Self.realistic)])
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.description))")
        #expect(r.summary == "Configuration file is valid: 2 frontends, 4 backends, 6 servers")
        let s = try #require(r.snapshot)
        func at(_ l: Int) -> Loc { .init(file: "bw.cfg", line: l) }

        var g = GlobalSettings()
        g.maxconn = 50_000
        g.nbthread = 2
        g.logTargets = [
            LogTarget(destination: .unixDatagram(path: "/dev/log"), facility: 16),
            LogTarget(destination: .udp(host: "127.0.0.1", port: 5140), format: .rfc5424, facility: 17, maxLevel: 5),
        ]
        g.statsSockets = [StatsSocketConfig(address: .unix(path: "/run/breakwater/admin.sock"), mode: 0o600, level: .admin, location: at(7))]
        g.statsTimeoutMs = 30_000
        #expect(s.global == g)

        var t = Timeouts()
        t.connect = 4000; t.client = 45000; t.server = 45000; t.queue = 30000
        var opts = ProxyOptions()
        opts.httplog = true; opts.dontlognull = true; opts.forwardfor = true

        var www = FrontendConfig(name: "www", location: at(21))
        www.mode = .http
        www.binds = [BindConfig(host: "0.0.0.0", port: 8080, location: at(22)), BindConfig(host: "::", port: 8080, location: at(23))]
        www.maxconn = 10000
        www.logTargets = g.logTargets
        www.options = opts
        www.timeouts = t
        let isStatic = [
            ACLTest(fetch: .path, method: .end, strings: [".css", ".js", ".png"], location: at(26)),
            ACLTest(fetch: .path, method: .beg, caseInsensitive: true, strings: ["/static/"], location: at(27)),
        ]
        let internalNet = [ACLTest(fetch: .src, method: .ip, addresses: [
            IPPattern(address: [10, 0, 0, 0], prefixLength: 8), IPPattern(address: [192, 168, 0, 0], prefixLength: 16),
        ], location: at(28))]
        www.httpRequestRules = [
            HTTPRequestRule(action: .deny(status: 403), condition: RuleCondition(polarity: .if, terms: [[
                ConditionFactor(negated: false, name: nil, tests: [ACLTest(fetch: .path, method: .beg, strings: ["/admin"], location: at(29))]),
                ConditionFactor(negated: true, name: "internal", tests: internalNet),
            ]]), location: at(29)),
            HTTPRequestRule(action: .setHeader(name: "X-Forwarded-Proto", value: "http"), condition: nil, location: at(30)),
            HTTPRequestRule(action: .delHeader(name: "X-Debug"), condition: nil, location: at(31)),
        ]
        www.useBackendRules = [
            UseBackendRule(backend: "api", condition: RuleCondition(polarity: .if, terms: [[
                ConditionFactor(negated: false, name: "is_api", tests: [ACLTest(fetch: .path, method: .beg, strings: ["/api/"], location: at(25))]),
            ]]), location: at(32)),
            UseBackendRule(backend: "static", condition: RuleCondition(polarity: .if, terms: [
                [ConditionFactor(negated: false, name: "is_static", tests: isStatic)],
                [ConditionFactor(negated: false, name: nil, tests: [
                    ACLTest(fetch: .header("host"), method: .str, caseInsensitive: true, strings: ["static.example.org"], location: at(33)),
                ])],
            ]), location: at(33)),
        ]
        www.defaultBackend = "app"
        #expect(s.frontends[0] == www)

        #expect(s.backends.map(\.name) == ["api", "static", "app", "admin"])
        let api = s.backends[0]
        #expect(api.balance == .leastconn && api.options.redispatch && api.retries == 2 && api.timeouts == t)
        #expect(api.servers.map(\.maxconn) == [100, 100] && api.servers.map(\.weight) == [1, 2])
        #expect(api.servers[1] == {
            var sv = ServerConfig(name: "api2", host: "10.0.1.2", port: 9000, location: at(42))
            sv.maxconn = 100
            sv.weight = 2
            return sv
        }())
        #expect(s.backends[1].httpReuse == .always && s.backends[1].servers[0].maxqueue == 50 && s.backends[1].balance == .roundrobin)
        #expect(s.backends[2].timeouts.server == 60_000 && s.backends[2].servers[1].backup)
        #expect(s.backends[2].logTargets == g.logTargets)

        let admin = s.frontends[1]
        #expect(admin.name == "admin" && admin.defaultBackend == "admin" && !admin.options.forwardfor)
        #expect(admin.httpRequestRules[0].action == .returnResponse(status: 200, contentType: "text/plain", body: Array("ok".utf8)))
        #expect(s.backend(named: "admin")?.servers.first?.port == 9091)
    }

    @Test func seedConfigOfWriteUpOne() throws {
        let seedPath = try #require(try FileManager.default.contentsOfDirectory(atPath: "/work/shared/seeds")
            .first { $0.hasPrefix("000_") }.map { "/work/shared/seeds/" + $0 })
        let text = try String(contentsOfFile: seedPath, encoding: .utf8)
        let all = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        try #require(all.count >= 205 && all[171] == "global" && all[203].hasPrefix("server pod_02"))
        let config = Array(all[169..<205])   // lines 170-205
        let r = parse(config, file: "seed1.cfg")
        func lineOf(_ prefix: String) -> [Int] {
            config.indices.filter { config[$0].hasPrefix(prefix) }.map { $0 + 1 }
        }
        // No errors: the health-check directives parse, the backend-level observe/error-limit/on-error are
        // accepted as SEED-1 extensions.
        #expect(errors(r).isEmpty, "\(r.diagnostics.map(\.description))")
        let seedLines = (lineOf("observe") + lineOf("error-limit") + lineOf("on-error")).sorted()
        #expect(seedLines.count == 3)
        #expect(warnings(r).filter(\.isSeedExtension).map(\.location.line) == seedLines)
        #expect(warnings(r).filter(\.isSeedExtension).allSatisfy { $0.message.contains("Breakwater extension") && $0.message.contains("default-server") })
        #expect(r.snapshot?.global.tlsDefaults.dhParamBits == 2048)
        #expect(warnings(r).map(\.message).contains { $0.contains("no enabled listener") })
        #expect(warnings(r).count == 4, "\(warnings(r).map(\.description))")

        let be = try #require(r.snapshot?.backend(named: "poora_donation_cluster"))
        #expect(be.checkKind == .tcp && be.balance == .leastconn && be.mode == .http)
        var h = HealthCheckConfig()
        h.enabled = true
        h.port = 80
        h.inter = 10_000
        h.fastinter = 2_000
        h.downinter = 10_000
        h.rise = 2
        h.fall = 3
        h.observe = .layer7
        h.errorLimit = 50
        h.onError = .markDown
        #expect(be.servers.map(\.name) == ["pod_01", "pod_02"])
        #expect(be.servers.map(\.health) == [h, h])
        #expect(be.servers.map(\.host) == ["10.0.2.15", "10.0.2.16"])

        // Under --strict the three seed spellings are errors, and nothing else is.
        let strict = parse(config, strict: true, file: "seed1.cfg")
        #expect(errors(strict).map(\.location.line) == seedLines)
        #expect(errors(strict).allSatisfy { $0.isSeedExtension })
        #expect(strict.snapshot == nil)
    }

    @Test func multiFileParse() {
        let a = ConfigSource(path: "a.cfg", text: "global\n  maxconn 100\n\ndefaults\n  mode http\n  timeout client 1s\n  timeout connect 1s\n  timeout server 1s\n")
        let b = ConfigSource(path: "b.cfg", text: "frontend f\n  bind :80\n  bogus\n  default_backend be\n")
        let c = ConfigSource(path: "c.cfg", text: "backend be\n  server s 127.0.0.1:80 weight x\n")
        let r = ConfigParser(environment: [:]).parse([a, b, c])
        #expect(errors(r).map(\.description) == [
            "b.cfg:3: error: unknown keyword 'bogus' in 'frontend' section",
            "c.cfg:2: error: 'weight' expects an integer argument, got 'x'",
        ])
        // Sections continue across files: b.cfg's frontend inherits a.cfg's defaults.
        let ok = ConfigParser(environment: [:]).parse([a, ConfigSource(path: "b.cfg", text: "frontend f\n  bind :80\n  default_backend be\n"),
                                                       ConfigSource(path: "c.cfg", text: "backend be\n  server s 127.0.0.1:80\n")])
        #expect(ok.diagnostics.isEmpty, "\(ok.diagnostics)")
        #expect(ok.snapshot?.frontends[0].mode == .http && ok.snapshot?.global.maxconn == 100)
    }

    @Test func loadFromDisk() throws {
        let dir = NSTemporaryDirectory() + "bw-cfg-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/x.cfg"
        try Self.realistic.write(toFile: path, atomically: true, encoding: .utf8)
        let r = ConfigParser(environment: [:]).load(paths: [path])
        #expect(r.snapshot?.frontends.count == 2)
        #expect(r.snapshot?.frontends[0].location == Loc(file: path, line: 21))
        let missing = ConfigParser(environment: [:]).load(paths: [path, dir + "/missing.cfg"])
        #expect(missing.snapshot == nil)
        #expect(errors(missing).count == 1)
        #expect(errors(missing)[0].description.hasPrefix("\(dir)/missing.cfg:0: error: cannot read"))
        #expect(missing.summary.hasPrefix("Configuration file is invalid: 1 error"))
    }

    @Test func diagnosticFormat() {
        let r = parse(["global", "  nbthread 100"])
        #expect(r.diagnostics.first?.description == "t.cfg:2: error: 'nbthread' value must be between 1 and 64, got '100'")
        #expect(r.hasErrors)
    }
}
