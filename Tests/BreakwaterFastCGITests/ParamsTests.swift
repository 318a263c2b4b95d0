import BreakwaterConfigModel
import BreakwaterFastCGI
import NIOHTTP1
import Testing

typealias Loc = BreakwaterConfigModel.SourceLocation

/// FCGI_PARAMS derivation (spec FCGI-4 … FCGI-7, SEED-2, SEED-3).
@Suite struct ParamsTests {
    static let loc = Loc(file: "t.cfg", line: 1)

    /// The seed's app: docroot /var/www/html, index index.php, path-info ^(/.+\.php)(/.*)?$.
    static func seedApp(_ configure: (inout FastCGIAppConfig) -> Void = { _ in }) throws -> FastCGIApplication {
        var c = FastCGIAppConfig(name: "wordpress_backend", docroot: "/var/www/html", location: loc)
        c.index = "index.php"
        c.pathInfoRegex = #"^(/.+\.php)(/.*)?$"#
        configure(&c)
        return try FastCGIApplication(c)
    }

    static var ctx: FastCGIRequestContext { FastCGIRequestContext(clientAddress: "10.0.0.7", clientPort: 51234, frontendAddress: "127.0.0.1",
                                           frontendPort: 8443) }

    static func params(_ app: FastCGIApplication, _ uri: String, method: HTTPMethod = .GET,
                       headers: [(String, String)] = [("Host", "shop.example")], context: FastCGIRequestContext = ctx,
                       bodyLength: Int? = nil) throws -> [String: [String]] {
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
        var out: [String: [String]] = [:]
        for p in try app.parameters(head: head, context: context, bodyLength: bodyLength) {
            out[p.nameString, default: []].append(p.valueString)
        }
        return out
    }

    @Test func defaultsForPathInfoRequest() throws {
        let p = try Self.params(Self.seedApp(), "/app/index.php/extra/path%20x?a=1&b=%41")
        #expect(p["SCRIPT_NAME"] == ["/app/index.php"])
        #expect(p["PATH_INFO"] == ["/extra/path x"])
        #expect(p["SCRIPT_FILENAME"] == ["/var/www/html/app/index.php"])
        #expect(p["PATH_TRANSLATED"] == ["/var/www/html/extra/path x"])
        #expect(p["REQUEST_URI"] == ["/app/index.php/extra/path%20x?a=1&b=%41"])
        #expect(p["QUERY_STRING"] == ["a=1&b=%41"])
        #expect(p["DOCUMENT_ROOT"] == ["/var/www/html"])
        #expect(p["REQUEST_METHOD"] == ["GET"])
        #expect(p["GATEWAY_INTERFACE"] == ["CGI/1.1"])
        #expect(p["SERVER_NAME"] == ["shop.example"])
        #expect(p["SERVER_PORT"] == ["8443"])
        #expect(p["SERVER_PROTOCOL"] == ["HTTP/1.1"])
        #expect(p["REMOTE_ADDR"] == ["10.0.0.7"])
        #expect(p["REMOTE_PORT"] == ["51234"])
        #expect(p["CONTENT_LENGTH"] == ["0"])
        #expect(p["HTTP_HOST"] == ["shop.example"])
        #expect(p["SERVER_SOFTWARE"]?.first?.hasPrefix("breakwater ") == true)
        #expect(p["HTTPS"] == nil)
        #expect(p["CONTENT_TYPE"] == nil)
        #expect(p["AUTH_TYPE"] == nil && p["REMOTE_USER"] == nil)
    }

    @Test func spec7Examples() throws {
        let app = try Self.seedApp()
        var p = try Self.params(app, "/dir/")
        #expect(p["SCRIPT_NAME"] == ["/dir/index.php"])
        #expect(p["PATH_INFO"] == nil && p["PATH_TRANSLATED"] == nil)
        #expect(p["SCRIPT_FILENAME"] == ["/var/www/html/dir/index.php"])
        #expect(p["QUERY_STRING"] == nil)
        p = try Self.params(app, "/x.php")
        #expect(p["SCRIPT_NAME"] == ["/x.php"])
        #expect(p["PATH_INFO"] == nil)
        p = try Self.params(app, "/a+b%2Bc.php")
        #expect(p["SCRIPT_NAME"] == ["/a+b+c.php"])
        p = try Self.params(app, "/")
        #expect(p["SCRIPT_NAME"] == ["/index.php"])
        #expect(p["SCRIPT_FILENAME"] == ["/var/www/html/index.php"])
    }

    @Test func withoutRegexOrIndex() throws {
        let app = try FastCGIApplication(FastCGIAppConfig(name: "a", docroot: "/srv", location: Self.loc))
        let p = try Self.params(app, "/index.php/extra?q")
        #expect(p["SCRIPT_NAME"] == ["/index.php/extra"])
        #expect(p["PATH_INFO"] == nil)
        #expect(try Self.params(app, "/d/")["SCRIPT_NAME"] == ["/d/"])
    }

    @Test func badPathsAreInternalErrors() throws {
        let app = try Self.seedApp()
        #expect(throws: FastCGIError.self) { try Self.params(app, "/bad%zz.php") }
        #expect(throws: FastCGIError.self) { try Self.params(app, "/bad%4") }
        #expect(throws: FastCGIError.self) { try Self.params(app, "/x%0a.php") }
        #expect(throws: FastCGIError.self) { try Self.params(app, "/x%00.php") }
        #expect(throws: FastCGIError.self) { try Self.params(app, "?only-query") }
        // Without a path-info regex LF is allowed (HAProxy only checks before matching).
        let plain = try FastCGIApplication(FastCGIAppConfig(name: "a", docroot: "/srv", location: Self.loc))
        #expect(try Self.params(plain, "/x%0a")["SCRIPT_NAME"] == ["/x\n"])
    }

    @Test func headersBecomeHTTPParams() throws {
        let p = try Self.params(Self.seedApp(), "/x.php", method: .POST, headers: [
            ("Host", "h"), ("User-Agent", "curl/8"), ("X-Dash", "1"), ("x-dash", "2"), ("Accept", "*/*"),
            ("Content-Type", "text/plain"), ("Content-Length", "5"), ("X_Under", "deleted"), ("Proxy", "http://evil:1"),
            ("Authorization", "Basic YWxpY2U6c2VjcmV0"), ("Connection", "keep-alive"), ("Transfer-Encoding", "chunked"),
            ("TE", "trailers"), ("Upgrade", "h2c"), ("Proxy-Authorization", "x"), ("Keep-Alive", "5"),
        ])
        #expect(p["HTTP_HOST"] == ["h"])
        #expect(p["HTTP_USER_AGENT"] == ["curl/8"])
        #expect(p["HTTP_X_DASH"] == ["1", "2"])
        #expect(p["HTTP_ACCEPT"] == ["*/*"])
        #expect(p["CONTENT_TYPE"] == ["text/plain"])
        #expect(p["CONTENT_LENGTH"] == ["5"])
        #expect(p["HTTP_CONTENT_TYPE"] == nil && p["HTTP_CONTENT_LENGTH"] == nil)
        #expect(p["HTTP_X_UNDER"] == nil, "FCGI-2: names outside [A-Za-z0-9-] are deleted")
        #expect(p["HTTP_PROXY"] == nil, "httpoxy")
        for hidden in ["HTTP_AUTHORIZATION", "HTTP_CONNECTION", "HTTP_TRANSFER_ENCODING", "HTTP_TE", "HTTP_UPGRADE",
                       "HTTP_PROXY_AUTHORIZATION", "HTTP_KEEP_ALIVE"] {
            #expect(p[hidden] == nil, "\(hidden) hidden")
        }
        #expect(p["AUTH_TYPE"] == ["Basic"])
        #expect(p["REMOTE_USER"] == ["alice"])
        #expect(p["REQUEST_METHOD"] == ["POST"])
    }

    @Test func passHeaderReenablesHiddenHeader() throws {
        let app = try Self.seedApp { $0.passHeaders = [FastCGIAppConfig.PassHeader(name: "Authorization", location: Self.loc)] }
        let p = try Self.params(app, "/x.php", headers: [("Authorization", "Basic YWxpY2U6c2VjcmV0"), ("Proxy", "x")])
        #expect(p["HTTP_AUTHORIZATION"] == ["Basic YWxpY2U6c2VjcmV0"])
        #expect(p["HTTP_PROXY"] == nil)
    }

    @Test func conditionsAreEvaluatedByTheProxy() throws {
        let cond = RuleCondition(polarity: .if, terms: [[ConditionFactor(negated: false, name: "admin", tests: [])]])
        let app = try Self.seedApp {
            $0.passHeaders = [FastCGIAppConfig.PassHeader(name: "Authorization", condition: cond, location: Self.loc)]
            $0.setParams = [FastCGIAppConfig.SetParam(name: "x-low", valueTemplate: "v", condition: cond, location: Self.loc)]
        }
        #expect(app.conditions == [cond])
        var ctx = Self.ctx
        ctx.conditionHolds = { _ in false }
        var p = try Self.params(app, "/x.php", headers: [("Authorization", "Bearer t")], context: ctx)
        #expect(p["HTTP_AUTHORIZATION"] == nil && p["X_LOW"] == nil)
        ctx.conditionHolds = { $0 == 0 }
        p = try Self.params(app, "/x.php", headers: [("Authorization", "Bearer t")], context: ctx)
        #expect(p["HTTP_AUTHORIZATION"] == ["Bearer t"])
        #expect(p["X_LOW"] == ["v"], "names normalised")
        #expect(p["AUTH_TYPE"] == nil, "only Basic sets AUTH_TYPE")
    }

    @Test func seed2BackReferenceWithSlashRule() throws {
        let app = try Self.seedApp {
            $0.setParams = [FastCGIAppConfig.SetParam(name: "SCRIPT_FILENAME", valueTemplate: #"/var/www/html/\1"#, location: Self.loc)]
        }
        var p = try Self.params(app, "/blog/index.php/x")
        #expect(p["SCRIPT_FILENAME"] == ["/var/www/html/blog/index.php"])
        #expect(p["PATH_INFO"] == ["/x"])
        p = try Self.params(app, "/index.php/extra/path?x=1")
        #expect(p["SCRIPT_FILENAME"] == ["/var/www/html/index.php"])
        // No match: `\1` stands for the derived script name (the write-up's intent, SEED-2), so `/`
        // still names the index script.
        p = try Self.params(app, "/static/logo.png")
        #expect(p["SCRIPT_FILENAME"] == ["/var/www/html/static/logo.png"])
        p = try Self.params(app, "/")
        #expect(p["SCRIPT_FILENAME"] == ["/var/www/html/index.php"])
        // Text before \N not ending in '/' keeps the capture's slash.
        let app2 = try Self.seedApp {
            $0.setParams = [FastCGIAppConfig.SetParam(name: "X_SCRIPT", valueTemplate: #"root\1|\2"#, location: Self.loc)]
        }
        #expect(try Self.params(app2, "/a.php/b")["X_SCRIPT"] == ["root/a.php|/b"])
    }

    @Test func seed3EmptyValueRemovesTheParam() throws {
        let app = try Self.seedApp {
            $0.passHeaders = [FastCGIAppConfig.PassHeader(name: "Proxy", location: Self.loc)]
            $0.setParams = [
                FastCGIAppConfig.SetParam(name: "HTTP_PROXY", valueTemplate: "", location: Self.loc),
                FastCGIAppConfig.SetParam(name: "SERVER_SOFTWARE", valueTemplate: "", location: Self.loc),
            ]
        }
        let p = try Self.params(app, "/x.php", headers: [("Proxy", "http://evil:1")])
        #expect(p["HTTP_PROXY"] == nil)
        #expect(p["SERVER_SOFTWARE"] == nil)
    }

    @Test func setParamOverridesAndComputedEmptyValues() throws {
        let app = try Self.seedApp {
            $0.setParams = [
                FastCGIAppConfig.SetParam(name: "SERVER_NAME", valueTemplate: "first", location: Self.loc),
                FastCGIAppConfig.SetParam(name: "SERVER_NAME", valueTemplate: "example.org", location: Self.loc),
                // Computed empty: ignored, the previous rule still wins.
                FastCGIAppConfig.SetParam(name: "SERVER_NAME", valueTemplate: "%[req.hdr(x-missing)]", location: Self.loc),
                FastCGIAppConfig.SetParam(name: "HTTP_X_A", valueTemplate: "from-rule", location: Self.loc),
                FastCGIAppConfig.SetParam(name: "X_CLIENT", valueTemplate: "%[src]:%cp %[method,lower] %[path] %[query] 100%%", location: Self.loc),
                FastCGIAppConfig.SetParam(name: "X_HDR", valueTemplate: "%[req.hdr(X-A)]", location: Self.loc),
            ]
        }
        let p = try Self.params(app, "/p.php?q=1", headers: [("Host", "h"), ("X-A", "from-header")])
        #expect(p["SERVER_NAME"] == ["example.org"])
        #expect(p["HTTP_X_A"] == ["from-header", "from-rule"], "both are sent, header first")
        #expect(p["X_CLIENT"] == ["10.0.0.7:51234 get /p.php q=1 100%"])
        #expect(p["X_HDR"] == ["from-header"])
    }

    @Test func scriptNameOverrideDisablesDerivation() throws {
        let app = try Self.seedApp {
            $0.setParams = [FastCGIAppConfig.SetParam(name: "SCRIPT_NAME", valueTemplate: "/front.php", location: Self.loc)]
        }
        let p = try Self.params(app, "/anything/else.php/x")
        #expect(p["SCRIPT_NAME"] == ["/front.php"])
        #expect(p["SCRIPT_FILENAME"] == ["/var/www/html/front.php"])
        #expect(p["PATH_INFO"] == nil)
    }

    @Test func httpsAndVersionsAndBodyLength() throws {
        var ctx = Self.ctx
        ctx.isTLS = true
        ctx.clientVersion = .http1_0
        let p = try Self.params(Self.seedApp(), "/x.php", method: .POST, headers: [], context: ctx, bodyLength: 1234)
        #expect(p["HTTPS"] == ["on"])
        #expect(p["SERVER_PROTOCOL"] == ["HTTP/1.0"])
        #expect(p["SERVER_NAME"] == ["127.0.0.1"], "no Host: the local address")
        #expect(p["CONTENT_LENGTH"] == ["1234"])
    }

    @Test func absoluteFormTarget() throws {
        let p = try Self.params(Self.seedApp(), "http://h.example/i.php/p?z")
        #expect(p["SCRIPT_NAME"] == ["/i.php"])
        #expect(p["PATH_INFO"] == ["/p"])
        #expect(p["QUERY_STRING"] == ["z"])
    }

    @Test func templateErrors() throws {
        #expect(throws: FastCGIValueTemplate.ParseError.self) { try FastCGIValueTemplate("%[nope]") }
        #expect(throws: FastCGIValueTemplate.ParseError.self) { try FastCGIValueTemplate("%[path") }
        #expect(throws: FastCGIValueTemplate.ParseError.self) { try FastCGIValueTemplate("%[path,bogus]") }
        #expect(throws: FastCGIValueTemplate.ParseError.self) { try FastCGIValueTemplate("50%") }
        #expect(try FastCGIValueTemplate("").isRemoval)
        #expect(try FastCGIValueTemplate(#"/var/www/html/\1"#).usesCaptures)
        #expect(throws: (any Error).self) {
            try FastCGIApplication(FastCGIAppConfig(name: "a", docroot: "/", location: Self.loc).with { $0.pathInfoRegex = "(" })
        }
    }
}

extension FastCGIAppConfig {
    func with(_ f: (inout FastCGIAppConfig) -> Void) -> FastCGIAppConfig {
        var c = self
        f(&c)
        return c
    }
}
