import Testing

@testable import BreakwaterConfig

@Suite struct LexerTests {
    let lexer = ConfigLexer(environment: ["HOME": "/root", "EMPTY": "", "X": "ex"])

    @Test(arguments: [
        ("a b\tc   d", ["a", "b", "c", "d"]),
        ("   indented  words  ", ["indented", "words"]),
        ("set-param X y # note", ["set-param", "X", "y"]),
        ("# only a comment", []),
        ("", []),
        ("a\\#b", ["a#b"]),
        ("a\\ b", ["a b"]),
        ("a\\\\b", ["a\\b"]),
        ("a\\'b", ["a'b"]),
        ("a\\\"b", ["a\"b"]),
        ("\"a b # c\"", ["a b # c"]),
        ("\"it's\"", ["it's"]),
        ("\"$HOME/x\"", ["/root/x"]),
        ("\"${HOME}x\"", ["/rootx"]),
        ("\"$UNSET-\"", ["-"]),
        ("$HOME", ["$HOME"]),
        ("'$HOME'", ["$HOME"]),
        ("\"\\$HOME\"", ["$HOME"]),
        ("\"a\\\"b\"", ["a\"b"]),
        ("\"a\\\\b\"", ["a\\b"]),
        ("'a\\nb \"c\"'", ["a\\nb \"c\""]),
        ("^(/.+\\.php)", ["^(/.+\\.php)"]),
        ("/var/www/\\1", ["/var/www/\\1"]),
        ("a\\nb", ["a\nb"]),
        ("a\\rb\\tc", ["a\rb\tc"]),
        ("\\x41\\x7a", ["Az"]),
        ("\"\\x41 \\n\"", ["A \n"]),
        ("a\"b c\"d", ["ab cd"]),
        ("a'b c'd", ["ab cd"]),
        ("x \"\" y", ["x", "", "y"]),
        ("x '' y", ["x", "", "y"]),
        ("\"$\"", ["$"]),
        ("\"$X$X\"", ["exex"]),
        ("\"$EMPTY\"", [""]),
        ("trailing\\", ["trailing\\"]),
    ])
    func splits(_ input: String, _ expected: [String]) throws {
        #expect(try lexer.split(input) == expected)
    }

    @Test(arguments: ["\"abc", "'abc", "a \"b' c"])
    func unmatchedQuote(_ input: String) {
        #expect(throws: ConfigError("unmatched quote")) { try lexer.split(input) }
    }

    @Test(arguments: ["\\x4", "\\xZZ", "\"\\x1\""])
    func badHexEscape(_ input: String) {
        #expect(throws: ConfigError.self) { try lexer.split(input) }
    }

    @Test func tooManyWords() throws {
        let ok = Array(repeating: "w", count: 64).joined(separator: " ")
        #expect(try lexer.split(ok).count == 64)
        let tooMany = Array(repeating: "w", count: 65).joined(separator: " ")
        #expect(throws: ConfigError.self) { try lexer.split(tooMany) }
    }

    @Test func unterminatedBraceVariable() {
        #expect(throws: ConfigError.self) { try lexer.split("\"${HOME\"") }
    }

    @Test func lexErrorsCarryLineNumbers() {
        let r = parse(["global", "  pidfile \"/run/x.pid", "  log-tag 'x"])
        expectError(r, line: 2, "unmatched quote")
        expectError(r, line: 3, "unmatched quote")
        let r2 = parse(["global", Array(repeating: "w", count: 65).joined(separator: " ")])
        expectError(r2, line: 2, "too many words")
    }

    @Test func environmentExpansionInConfig() {
        let r = parse(prologue + ["frontend fe", "  bind \"${ADDR}:$PORT\"", "  default_backend be",
                                  "backend be", "  server s1 \"$SRV\":80"],
                      env: ["ADDR": "127.0.0.1", "PORT": "8443", "SRV": "10.0.0.1"])
        expectNoErrors(r)
        #expect(r.snapshot?.frontends[0].binds[0].port == 8443)
        #expect(r.snapshot?.frontends[0].binds[0].host == "127.0.0.1")
        #expect(r.snapshot?.backends[0].servers[0].host == "10.0.0.1")
    }

    @Test func crlfLineEndings() {
        let r = ConfigParser(environment: [:]).parse([ConfigSource(path: "c", text: "global\r\n  maxconn 10\r\n")])
        expectNoErrors(r)
        #expect(r.snapshot?.global.maxconn == 10)
    }
}
