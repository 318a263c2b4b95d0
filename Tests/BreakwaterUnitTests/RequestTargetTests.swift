@testable import BreakwaterHTTP
import Testing

/// Request-target normalisation (issue 9 #1, #2): one view of the path for every fetch.
@Suite struct RequestTargetTests {
    func parse(_ s: String, connect: Bool = false) -> Result<RequestTarget, RequestTarget.Invalid> {
        RequestTarget.parse(s, isConnect: connect)
    }

    @Test func originForm() throws {
        let t = try parse("/admin/x?a=1").get()
        #expect(t.form == .origin)
        #expect(t.path == "/admin/x")
        #expect(t.pathAndQuery == "/admin/x?a=1")
        #expect(t.authority == nil)
    }

    @Test(arguments: ["http://", "HTTP://", "Http://", "hTTpS://", "ws://"])
    func absoluteFormAnySchemeCase(_ prefix: String) throws {
        let t = try parse(prefix + "127.0.0.1:8080/admin?x=1").get()
        #expect(t.form == .absolute)
        #expect(t.scheme == prefix.dropLast(3).lowercased())
        #expect(t.authority == "127.0.0.1:8080")
        #expect(t.path == "/admin")
        #expect(t.pathAndQuery == "/admin?x=1")
    }

    @Test func absoluteWithoutPath() throws {
        #expect(try parse("http://example.com").get().pathAndQuery == "/")
        #expect(try parse("http://example.com?q").get().pathAndQuery == "/?q")
        #expect(try parse("http://[::1]:80/p").get().authority == "[::1]:80")
    }

    @Test func asterisk() throws {
        #expect(try parse("*").get().form == .asterisk)
    }

    @Test(arguments: [
        ("/a#frag", RequestTarget.Invalid.fragment),
        ("http://h/a#f", .fragment),
        ("http://h:99999/", .badPort),
        ("http://h:8o/", .badPort),
        ("http://h:123456/", .badPort),
        ("http://user@h/", .badAuthority),
        ("http:///x", .badAuthority),
        ("http://[::1/", .badAuthority),
        ("1http://h/", .badScheme),
        ("h%ttp://h/", .badScheme),
        ("admin", .unrecognised),
        ("http:/h", .unrecognised),
        ("/a\u{7F}", .controlCharacter),
        ("", .empty),
    ])
    func invalid(_ target: String, _ expected: RequestTarget.Invalid) {
        #expect(parse(target) == .failure(expected))
    }

    @Test func connectAuthority() throws {
        #expect(try parse("example.com:443", connect: true).get().form == .authority)
        #expect(parse("example.com:70000", connect: true) == .failure(.badPort))
    }

    @Test func hostComparison() throws {
        let t = try parse("http://Admin.Example:80/").get()
        #expect(t.authorityMatches(host: "admin.example:80"))
        #expect(!t.authorityMatches(host: "public.example"))
        #expect(t.authorityMatches(host: "admin.example"), "default port ignored")
        #expect(try parse("http://a.example/").get().authorityMatches(host: "a.example:80"))
        #expect(try !parse("http://a.example:443/").get().authorityMatches(host: "a.example"))
        #expect(try parse("https://a.example:443/").get().authorityMatches(host: "A.example"))
        #expect(try parse("/x").get().authorityMatches(host: "anything"))
        #expect(RequestTarget.validHost("a.example:8080"))
        #expect(!RequestTarget.validHost("a.example:80x"))
        #expect(!RequestTarget.validHost("a@b"))
    }
}
