import BreakwaterConfigModel
import BreakwaterObservability
import Testing

/// httplog layout (spec LOG-3) and syslog framing (spec LOG-1).
@Suite struct LogFormatTests {
    @Test func httplogLineHasHAProxyFieldLayout() {
        var r = HTTPLogRecord(clientAddress: "10.0.0.7", clientPort: 51234, requestDateMs: 1_795_000_000_123,
                              frontend: "https-in", backend: "php_fpm_cluster", server: "fpm_node_01")
        r.isTLS = true
        (r.tR, r.tW, r.tC, r.tr, r.tA) = (0, 0, 1, 12, 13)
        r.status = 200
        r.bytesOut = 5120
        (r.processConnections, r.frontendConnections, r.backendConnections, r.serverConnections, r.retries) = (3, 3, 1, 1, 0)
        r.requestLine = "GET /index.php HTTP/1.1"
        let line = HTTPLogFormatter.format(r)
        let date = HTTPLogFormatter.accessDate(1_795_000_000_123)
        #expect(line == "10.0.0.7:51234 [\(date)] https-in~ php_fpm_cluster/fpm_node_01 0/0/1/12/13 200 5120 - - ---- 3/3/1/1/0 0/0 \"GET /index.php HTTP/1.1\"")
        #expect(date.hasSuffix(".123"))
        #expect(date.count == "21/Nov/2026:22:33:46.811".count)
    }

    @Test func badRequestAndRedispatchRendering() {
        var r = HTTPLogRecord(clientAddress: "127.0.0.1", clientPort: 1, requestDateMs: 0, frontend: "fe", backend: "fe", server: "<NOSRV>")
        r.retries = 3
        r.redispatched = true
        r.terminationState = "PR--"
        let line = HTTPLogFormatter.format(r)
        #expect(line.hasSuffix("PR-- 0/0/0/0/+3 0/0 \"<BADREQ>\""))
    }

    @Test func requestLineEscaping() {
        #expect(HTTPLogFormatter.escapeRequestLine("GET /a\"b HTTP/1.1") == "GET /a#22b HTTP/1.1")
        #expect(HTTPLogFormatter.escapeRequestLine("GET /\u{1}") == "GET /#01")
        #expect(HTTPLogFormatter.escapeRequestLine("GET /#x") == "GET /#23x")
    }

    @Test func dontlogNormalDefinition() {
        var r = HTTPLogRecord(clientAddress: "a", clientPort: 1, requestDateMs: 0, frontend: "f", backend: "b", server: "s")
        r.status = 404
        #expect(r.isNormal)
        r.status = 503
        #expect(!r.isNormal)
        r.status = 200
        r.retries = 1
        #expect(!r.isNormal)
        r.retries = 0
        r.terminationState = "LR--"
        #expect(r.isNormal)
        r.terminationState = "PT--"
        #expect(!r.isNormal)
    }

    @Test func syslogFramingFormats() {
        let framer = SyslogFramer(tag: "breakwater", pid: 42, hostname: "edge1")
        var target = LogTarget(destination: .stdout, format: .local, facility: 16)
        let local = String(decoding: framer.frame("hello", severity: 6, target: target, nowMs: 0), as: UTF8.self)
        #expect(local.hasPrefix("<134>"))
        #expect(local.hasSuffix(" breakwater[42]: hello\n"))
        target.format = .raw
        #expect(framer.frame("hello", severity: 6, target: target, nowMs: 0) == Array("hello\n".utf8))
        target.format = .short
        #expect(framer.frame("x", severity: 1, target: target, nowMs: 0) == Array("<129>x\n".utf8))
        target.format = .rfc5424
        let r5424 = String(decoding: framer.frame("m", severity: 6, target: target, nowMs: 1_000), as: UTF8.self)
        #expect(r5424 == "<134>1 1970-01-01T00:00:01.000000+00:00 edge1 breakwater 42 - - m\n")
        target.format = .raw
        target.maxLength = 80
        let long = framer.frame(String(repeating: "x", count: 200), severity: 6, target: target, nowMs: 0)
        #expect(long.count == 80)
        #expect(long.last == 0x0A)
    }
}
