import BreakwaterConfigModel
import Testing

@testable import BreakwaterConfig

@Suite struct ACLTests {
    func loc(_ l: Int) -> Loc { .init(file: "t.cfg", line: l) }

    /// Frontend lines start at line 8.
    func fe(_ lines: [String]) -> ConfigParseResult {
        parse(proxyConfig(frontend: lines))
    }

    @Test func fetchesAndFlags() {
        let r = fe([
            "acl a path /exact /other",                     // 8
            "acl b path_beg -i /API",                       // 9
            "acl c path_end .php",                          // 10
            "acl d path_reg ^/(a|b)/[0-9]+$",               // 11
            "acl e path_sub admin",                         // 12
            "acl f hdr(Host) -i example.org",               // 13
            "acl g req.hdr(x-k) v",                         // 14
            "acl h hdr_beg(host) www.",                     // 15
            "acl i hdr_end(host) .org",                     // 16
            "acl j hdr_sub(user-agent) bot",                // 17
            "acl k hdr_reg(host) -i ^a.*$",                 // 18
            "acl l method GET POST",                        // 19
            "acl m src 10.0.0.0/8 192.168.1.1 2001:db8::/32", // 20
            "acl n always_true",                            // 21
            "acl o always_false",                           // 22
            "acl p path -m beg /x",                         // 23
            "acl q hdr(x) -m found",                        // 24
            "acl r hdr(content-length) -m int gt 10 lt 5 100:200 :3 7: eq 9 42", // 25
            "acl s path -n -- -dash",                       // 26
            "acl a path /third",                            // 27 (adds to 'a')
            "use_backend be if a b c d e f g h i j k l m n !o p q r s", // 28
        ])
        expectNoErrors(r)
        guard let f = r.snapshot?.frontends[0], let cond = f.useBackendRules.first?.condition else { return }
        let factors = cond.terms[0]
        #expect(cond.polarity == .if && cond.terms.count == 1 && factors.count == 19)
        #expect(factors[0].tests == [
            ACLTest(fetch: .path, method: .str, strings: ["/exact", "/other"], location: loc(8)),
            ACLTest(fetch: .path, method: .str, strings: ["/third"], location: loc(27)),
        ])
        #expect(factors[1].tests == [ACLTest(fetch: .path, method: .beg, caseInsensitive: true, strings: ["/API"], location: loc(9))])
        #expect(factors[2].tests[0].method == .end && factors[3].tests[0].method == .reg && factors[4].tests[0].method == .sub)
        #expect(factors[5].tests[0] == ACLTest(fetch: .header("host"), method: .str, caseInsensitive: true, strings: ["example.org"], location: loc(13)))
        #expect(factors[6].tests[0].fetch == .header("x-k"))
        #expect(factors[7].tests[0].method == .beg && factors[8].tests[0].method == .end && factors[9].tests[0].method == .sub)
        #expect(factors[10].tests[0].method == .reg && factors[10].tests[0].caseInsensitive)
        #expect(factors[11].tests[0] == ACLTest(fetch: .method, method: .str, strings: ["GET", "POST"], location: loc(19)))
        #expect(factors[12].tests[0].addresses == [
            IPPattern(address: [10, 0, 0, 0], prefixLength: 8), IPPattern(address: [192, 168, 1, 1], prefixLength: 32),
            IPPattern(address: [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 12), prefixLength: 32),
        ])
        #expect(factors[13].tests[0].fetch == .alwaysTrue && factors[13].tests[0].method == .bool)
        #expect(factors[14].negated && factors[14].name == "o" && factors[14].tests[0].fetch == .alwaysFalse)
        #expect(factors[15].tests[0].method == .beg)
        #expect(factors[16].tests[0].method == .found)
        #expect(factors[17].tests[0].integers == [.gt(10), .lt(5), .range(100, 200), .range(nil, 3), .range(7, nil), .eq(9), .eq(42)])
        #expect(factors[18].tests[0].strings == ["-dash"])
    }

    @Test func conditions() {
        let r = fe([
            "acl a path /a", "acl b path /b", "acl c path /c",                  // 8-10
            "use_backend be if a b || c",                                        // 11
            "use_backend be if a or !b",                                         // 12
            "use_backend be unless { path_beg /img } ! a",                       // 13
            "use_backend be if { hdr(host) -i donate.example.org } || { src 127.0.0.1 }", // 14
            "use_backend be if TRUE !FALSE METH_GET LOCALHOST",                  // 15
            "use_backend be",                                                     // 16
        ])
        expectNoErrors(r)
        guard let rules = r.snapshot?.frontends[0].useBackendRules else { return }
        #expect(rules[0].condition?.terms.map { $0.map(\.name) } == [["a", "b"], ["c"]])
        #expect(rules[1].condition?.terms.map { $0.map(\.negated) } == [[false], [true]])
        #expect(rules[2].condition?.polarity == .unless)
        #expect(rules[2].condition?.terms[0][0].name == nil)
        #expect(rules[2].condition?.terms[0][0].tests[0].fetch == .path)
        #expect(rules[2].condition?.terms[0][1].negated == true)
        #expect(rules[3].condition?.terms.count == 2)
        #expect(rules[3].condition?.terms[1][0].tests[0].addresses == [IPPattern(address: [127, 0, 0, 1], prefixLength: 32)])
        #expect(rules[4].condition?.terms[0].map(\.name) == ["TRUE", "FALSE", "METH_GET", "LOCALHOST"])
        #expect(rules[4].condition?.terms[0][2].tests[0].strings == ["GET", "HEAD"])
        #expect(rules[5].condition == nil)
    }

    @Test(arguments: [
        ("acl bad$ path /", "character '$' is not permitted in acl name"), ("acl or path /", "'or' is forbidden"),
        ("acl a", "expects <name> and <criterion>"), ("acl a pth /", "unknown fetch method 'pth'"),
        ("acl a sc0_kbytes_out gt 50", "fetch 'sc0_kbytes_out' is not supported yet"),
        ("acl a sc_trackers(0) gt 50", "fetch 'sc_trackers' is not supported yet"),
        ("acl a sc1_get_gpt0 gt 1", "not supported yet"), ("acl a src_inc_gpc0(t) gt 1", "not supported yet"),
        ("acl a ssl_c_verify 0", "fetch 'ssl_c_verify' is not supported yet"), ("acl a ssl_fc(1) x", "takes no argument"),
        ("acl a nbsrv(be) lt 1", "fetch 'nbsrv' is not supported yet"),
        ("acl a path_reg ^(unclosed", "invalid regex"), ("acl a hdr_reg(host) [z-a]", "invalid regex"),
        ("acl a hdr() x", "requires a header name"), ("acl a hdr x", "requires a header name"),
        ("acl a path(x) /", "takes no argument"), ("acl a hdr(host,1) x", "occurrence"),
        ("acl a path,lower /", "converters are not supported yet"), ("acl a hdr(host),lower x", "converters"),
        ("acl a path -m foo /", "unknown matching method"), ("acl a path -m dom x", "not supported yet"),
        ("acl a src -m str 1.2.3.4", "cannot be used with fetch 'src'"), ("acl a path -x /", "unknown ACL flag '-x'"),
        ("acl a path -f /file", "not supported yet"), ("acl a src 10.0.0.0/33", "not a valid IPv4 or IPv6"),
        ("acl a src example.com", "not a valid"), ("acl a hdr(x) -m int abc", "'abc' is neither a number nor a supported operator"),
        ("acl a hdr(x) -m int gt", "missing value after operator 'gt'"), ("acl a hdr(x) -m int gt 50m", "neither a number"),
        ("acl a always_true yes", "takes no pattern"), ("acl a hdr(x) -m found y", "takes no pattern"),
        ("acl a path -m", "expects a matching method"), ("acl a hdr(x", "missing ')'"),
    ])
    func badACLs(_ line: String, _ keyword: String) {
        let r = fe([line])
        expectError(r, line: 8, keyword)
    }

    @Test(arguments: [
        ("use_backend be if", "missing condition after 'if'"), ("use_backend be unless", "missing condition after 'unless'"),
        ("http-request deny if", "missing condition"), ("use_backend be if nope", "no such ACL : 'nope'"),
        ("use_backend be if { path_beg /x", "missing closing '}'"), ("use_backend be if path_beg /x }", "no such ACL"),
        ("use_backend be if known }", "unexpected '}'"), ("use_backend be if { path_beg /x { y } }", "nested '{'"),
        ("use_backend be if {path_beg /x }", "separated by spaces"), ("use_backend be if { }", "empty anonymous ACL"),
        ("use_backend be if || known", "missing ACL before"), ("use_backend be if known ||", "missing ACL after '||'"),
        ("use_backend be if known or", "missing ACL after"), ("use_backend be if !", "missing ACL after '!'"),
        ("use_backend be if { pth /x }", "unknown fetch method 'pth'"), ("use_backend be when known", "expected 'if' or 'unless'"),
        ("use_backend be if { sc0_kbytes_out gt 5 }", "not supported yet"),
    ])
    func badConditions(_ line: String, _ keyword: String) {
        let r = fe(["acl known path /", line])
        expectError(r, line: 9, keyword)
    }

    @Test func failingACLIsNotDefined() {
        let r = fe(["acl bad path_reg ^(", "use_backend be if bad"])
        expectError(r, line: 8, "invalid regex")
        expectError(r, line: 9, "no such ACL : 'bad'")
    }

    @Test func aclUsedBeforeDeclarationIsError() {
        let r = fe(["use_backend be if later", "acl later path /"])
        expectError(r, line: 8, "no such ACL : 'later'")
    }

    @Test func aclsArePrivateToTheirSection() {
        let r = parse(proxyConfig(frontend: ["acl x path /"], backend: ["server s 127.0.0.1:1", "http-request deny if x"]))
        expectError(r, line: 12, "no such ACL : 'x'")
    }

    @Test func aclLinesAddedAfterReferenceStillApply() {
        let r = fe(["acl a path /1", "use_backend be if a", "acl a path /2"])
        expectNoErrors(r)
        #expect(r.snapshot?.frontends[0].useBackendRules[0].condition?.terms[0][0].tests.count == 2)
    }

    @Test func noPatternWarning() {
        let r = fe(["acl a path", "acl b path --", "acl c hdr(x) -m found"])
        expectNoErrors(r)
        expectWarning(r, line: 8, "will never match")
        #expect(!warnings(r).contains { $0.location.line == 9 || $0.location.line == 10 })
    }
}
