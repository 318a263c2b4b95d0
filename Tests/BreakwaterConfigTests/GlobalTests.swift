import BreakwaterConfigModel
import Testing

@testable import BreakwaterConfig

@Suite struct GlobalTests {
    @Test func goodGlobal() {
        let r = parse([
            "global",
            "  maxconn 250000",
            "  nbthread 4",
            "  log /dev/log local0",
            "  log /dev/log local1 notice",
            "  log 10.0.0.5:1514 len 2048 format rfc5424 local2 info err",
            "  log stdout format raw daemon",
            "  log unix@/run/log.sock user",
            "  log 10.0.0.6 local7",
            "  pidfile /run/bw.pid",
            "  daemon",
            "  stats socket /run/bw/admin.sock mode 660 level admin",
            "  stats socket ipv4@127.0.0.1:9999 level user",
            "  stats timeout 2m",
            "  stats maxconn 5",
            "  log-tag breakwater",
            "  spread-checks 5",
            "  tune.bufsize 32768",
            "  tune.http.maxhdr 200",
            "global",
            "  log stderr format short local3",
        ])
        expectNoErrors(r)
        guard let g = r.snapshot?.global else { return }
        #expect(g.maxconn == 250_000)
        #expect(g.nbthread == 4)
        #expect(g.logTargets.count == 7)
        #expect(g.logTargets[0] == LogTarget(destination: .unixDatagram(path: "/dev/log"), facility: 16))
        #expect(g.logTargets[1].maxLevel == 5)
        #expect(g.logTargets[2] == LogTarget(destination: .udp(host: "10.0.0.5", port: 1514), format: .rfc5424,
                                             maxLength: 2048, facility: 18, maxLevel: 6, minLevel: 3))
        #expect(g.logTargets[3] == LogTarget(destination: .stdout, format: .raw, facility: 3))
        #expect(g.logTargets[4].destination == .unixDatagram(path: "/run/log.sock"))
        #expect(g.logTargets[5].destination == .udp(host: "10.0.0.6", port: 514))
        #expect(g.logTargets[6] == LogTarget(destination: .stderr, format: .short, facility: 19))
        #expect(g.pidfile == "/run/bw.pid")
        #expect(g.daemon)
        #expect(g.statsSockets == [
            StatsSocketConfig(address: .unix(path: "/run/bw/admin.sock"), mode: 0o660, level: .admin,
                              location: .init(file: "t.cfg", line: 12)),
            StatsSocketConfig(address: .tcp(host: "127.0.0.1", port: 9999), level: .user,
                              location: .init(file: "t.cfg", line: 13)),
        ])
        #expect(g.statsTimeoutMs == 120_000)
        #expect(g.statsMaxconn == 5)
        #expect(g.logTag == "breakwater")
        #expect(g.spreadChecks == 5)
        #expect(g.maxHeaderBytes == 32768)
        #expect(g.maxHeaderCount == 200)
        // No frontend: valid with a warning.
        #expect(warnings(r).contains { $0.message.contains("no enabled listener") })
    }

    @Test(arguments: [
        ("maxconn abc", "integer"), ("maxconn 0", "between"), ("maxconn -1", "between"), ("maxconn", "expects"),
        ("nbthread 0", "between 1 and 64"), ("nbthread 65", "between 1 and 64"), ("nbthread x", "integer"),
        ("log global", "only valid in a proxy"), ("log /dev/log local9", "unknown log facility"),
        ("log /dev/log local0 loud", "unknown log level"), ("log /dev/log", "facility"),
        ("log /dev/log format xml local0", "unknown log format"), ("log /dev/log len 70 local0", "between 80 and 65535"),
        ("log /dev/log len 65536 local0", "between 80"), ("log ring@r local0", "not supported yet"),
        ("log 10.0.0.1:99999 local0", "invalid port"), ("log /dev/log local0 info err extra", "unexpected argument"),
        ("stats socket", "expects an address"), ("stats socket /run/a mode 999", "octal"),
        ("stats socket /run/a level root", "'level' only supports 'user', 'operator', and 'admin'"),
        ("stats socket /run/a uid 0", "not supported yet"), ("stats socket /run/a expose-fd all", "'expose-fd' only supports 'listeners'"),
        ("stats socket /run/a user haproxy", "not supported yet"), ("stats socket /run/a bogus", "unknown stats socket option"),
        ("stats timeout 1.5s", "unexpected character"), ("stats maxconn 0", "between"), ("stats frobnicate", "unknown"),
        ("spread-checks 51", "between 0 and 50"), ("tune.ssl.default-dh-param 512", "between 1024"),
        ("tune.ssl.default-dh-param abc", "integer"), ("daemon now", "extra argument"), ("pidfile", "expects"),
        ("nbproc 2", "not supported"), ("maxconnn 10", "did you mean 'maxconn'"), ("tune.http.maxhdr 0", "between"),
        ("ulimit-n abc", "integer"),
    ])
    func badGlobal(_ line: String, _ keyword: String) {
        let r = parse(["global", "  " + line])
        expectError(r, line: 2, keyword)
    }

    @Test func acceptedWithWarnings() {
        let r = parse(["global", "user haproxy", "group haproxy", "chroot /var/empty", "ulimit-n 100000",
                       "tune.ssl.default-dh-param 2048", "ssl-default-bind-ciphers ECDHE", "tune.ssl.lifetime 5m"])
        expectNoErrors(r)
        for line in 2...5 { expectWarning(r, line: line, "no effect") }
        // The TLS defaults are real settings now: no warning, and they land in the snapshot.
        #expect(r.diagnostics.filter { $0.location.line >= 6 }.isEmpty, "\(r.diagnostics)")
        #expect(r.snapshot?.global.tlsDefaults.dhParamBits == 2048)
        #expect(r.snapshot?.global.tlsDefaults.ciphers == "ECDHE")
        #expect(r.snapshot?.global.tlsDefaults.sessionLifetimeSeconds == 300)
    }

    @Test func keywordOutOfSection() {
        let r = parse(["# comment", "maxconn 10", "global"])
        expectError(r, line: 2, "unknown keyword 'maxconn' out of section")
    }

    @Test func unsupportedSections() {
        let r = parse(["peers mypeers", "  peer a 127.0.0.1:1000", "userlist u", "  user x password y",
                       "resolvers dns", "ring r", "cache c", "program p", "http-errors e", "mailers m",
                       "fcgi-app wordpress", "  docroot /var/www", "  path-info ^(/.+\\.php)(/.*)?$", "global", "  maxconn 5"])
        expectError(r, line: 1, "section 'peers' is not supported by breakwater")
        expectError(r, line: 3, "section 'userlist' is not supported")
        for (i, s) in ["resolvers", "ring", "cache", "program", "http-errors", "mailers"].enumerated() {
            expectError(r, line: 5 + i, "section '\(s)' is not supported")
        }
        // Unsupported section bodies are skipped: no errors for lines 2 and 4. `fcgi-app` is a supported
        // section now (spec §12): lines 11-13 parse without diagnostics.
        #expect(errors(r).map(\.location.line) == [1, 3, 5, 6, 7, 8, 9, 10])
        #expect(!r.diagnostics.contains { (11...13).contains($0.location.line) })
    }

    @Test func strictModePromotesSeedWarnings() {
        var s = ConfigParseSession(environment: [:], strict: true)
        s.seedWarning("seed spelling", .init(file: "f", line: 3))
        #expect(s.diagnostics == [Diagnostic(severity: .error, location: .init(file: "f", line: 3), message: "seed spelling",
                                             isSeedExtension: true)])
        var l = ConfigParseSession(environment: [:], strict: false)
        l.seedWarning("seed spelling", .init(file: "f", line: 3))
        #expect(l.diagnostics.first?.severity == .warning)
        #expect(l.diagnostics.first?.isSeedExtension == true)
        #expect(l.diagnostics.first?.description == "f:3: warning: seed spelling")
    }

    @Test func strictModeDoesNotChangeOrdinaryWarnings() {
        let r = parse(["global", "  user haproxy"], strict: true)
        expectNoErrors(r)
        #expect(warnings(r).count == 2, "\(r.diagnostics)")
    }

    @Test func errorCap() {
        let lines = ["global"] + Array(repeating: "  bogus", count: 150)
        let r = parse(lines)
        #expect(errors(r).count == 101)
        #expect(errors(r).last?.message.contains("too many errors") == true)
    }
}
