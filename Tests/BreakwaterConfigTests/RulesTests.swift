import BreakwaterConfigModel
import Foundation
import Testing

@testable import BreakwaterConfig

@Suite struct RulesTests {
    func fe(_ lines: [String]) -> ConfigParseResult { parse(proxyConfig(frontend: lines)) }

    @Test func httpRequestActions() throws {
        let path = NSTemporaryDirectory() + "bw-return-\(getpid()).html"
        try "<h1>maintenance</h1>".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = fe([
            "acl admin path_beg /admin",                                                  // 8
            "http-request deny if admin",                                                 // 9
            "http-request deny deny_status 429 unless { src 10.0.0.0/8 }",                // 10
            "http-request return status 503 content-type text/html file \(path)",         // 11
            "http-request return status 200 content-type \"text/plain\" string \"ok\\n\" if { path /health }", // 12
            "http-request return",                                                         // 13
            "http-request set-header X-Forwarded-Proto https",                            // 14
            "http-request add-header X-Pct \"100%% sure\"",                               // 15
            "http-request del-header Proxy",                                               // 16
        ])
        expectNoErrors(r)
        guard let rules = r.snapshot?.frontends[0].httpRequestRules else { return }
        #expect(rules.count == 8)
        #expect(rules[0].action == .deny(status: 403) && rules[0].condition?.terms[0][0].name == "admin")
        #expect(rules[0].location.line == 9)
        #expect(rules[1].action == .deny(status: 429) && rules[1].condition?.polarity == .unless)
        #expect(rules[2].action == .returnResponse(status: 503, contentType: "text/html", body: Array("<h1>maintenance</h1>".utf8)))
        #expect(rules[3].action == .returnResponse(status: 200, contentType: "text/plain", body: Array("ok\n".utf8)))
        #expect(rules[4].action == .returnResponse(status: 200, contentType: nil, body: []))
        #expect(rules[5].action == .setHeader(name: "X-Forwarded-Proto", value: "https") && rules[5].condition == nil)
        #expect(rules[6].action == .addHeader(name: "X-Pct", value: "100% sure"))
        #expect(rules[7].action == .delHeader(name: "Proxy"))
    }

    @Test(arguments: [200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503, 504])
    func allowedDenyStatuses(_ status: Int) {
        let r = fe(["http-request deny deny_status \(status)"])
        expectNoErrors(r)
        #expect(r.snapshot?.frontends[0].httpRequestRules[0].action == .deny(status: status))
    }

    @Test(arguments: [
        ("http-request", "expects an action"), ("http-request deny deny_status 418", "not supported; use one of"),
        ("http-request deny deny_status 302", "not supported"), ("http-request deny deny_status abc", "integer"),
        ("http-request deny deny_status", "integer"), ("http-request deny please", "unexpected argument"),
        ("http-request deny hdr x y", "not supported yet"),
        ("http-request return status 99", "between 200 and 599"), ("http-request return status 600", "between"),
        ("http-request return status 200 string ok", "content-type"),
        ("http-request return file /no/such/file.html content-type text/html", "failed to read file '/no/such/file.html'"),
        ("http-request return content-type a string x file /y", "only one of"),
        ("http-request return lf-string %[path] content-type a", "not supported yet"),
        ("http-request return status 204 content-type a string x", "cannot have a body"),
        ("http-request return bogus", "unexpected argument 'bogus'"), ("http-request return string", "expects a value"),
        ("http-request set-header X-A", "expects <name> and <value>"), ("http-request set-header X-A a b", "expects <name> and <value>"),
        ("http-request set-header X-A %[src]", "log-format expressions in header values are not supported yet"),
        ("http-request add-header X-A %ci", "log-format expressions"), ("http-request set-header X-A 100%", "log-format"),
        ("http-request set-header \"Bad Name\" x", "invalid header name"), ("http-request del-header", "expects <name>"),
        ("http-request del-header X -m beg", "not supported yet"), ("http-request redirect location /", "not supported by breakwater"),
        ("http-request frobnicate", "unknown http-request action 'frobnicate'"), ("http-request dny", "did you mean 'deny'"),
        ("http-request deny if nope", "no such ACL : 'nope'"),
    ])
    func badRules(_ line: String, _ keyword: String) {
        let r = fe([line])
        expectError(r, line: 8, keyword)
    }

    @Test func backendRulesAndOrderWarning() {
        let r = parse(proxyConfig(frontend: ["use_backend be if { path_beg /x }", "http-request deny"],
                                  backend: ["server s 127.0.0.1:1", "acl a path /a", "http-request deny if a"]))
        expectNoErrors(r)
        expectWarning(r, line: 9, "will still be processed before")
        #expect(r.snapshot?.backends[0].httpRequestRules.count == 1)
        #expect(r.snapshot?.backends[0].httpRequestRules[0].condition?.terms[0][0].tests[0].strings == ["/a"])
    }
}
