import Testing

@testable import BreakwaterConfig

@Suite struct ValueParserTests {
    @Test(arguments: [
        ("4000", 4000), ("0", 0), ("10s", 10_000), ("2m", 120_000), ("1h", 3_600_000), ("1d", 86_400_000),
        ("250ms", 250), ("1000us", 1), ("1500us", 1), ("2147483647", 2_147_483_647), ("24d", 2_073_600_000),
    ])
    func times(_ s: String, _ ms: Int) throws {
        #expect(try ValueParsers.time(s, keyword: "timeout connect") == ms)
    }

    @Test(arguments: [
        ("1.5s", "unexpected character '.'"), ("10x", "unexpected character 'x'"), ("10sx", "unexpected character 'x'"),
        ("abc", "unexpected character 'a'"), ("500us", "underflow"), ("2147483648", "overflow"), ("25d", "overflow"),
        ("99999999999999999999999", "overflow"), ("", "expects"),
    ])
    func badTimes(_ s: String, _ keyword: String) {
        do {
            _ = try ValueParsers.time(s, keyword: "timeout connect")
            Issue.record("expected an error for '\(s)'")
        } catch let e as ConfigError {
            #expect(e.message.contains(keyword), "\(e.message)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test(arguments: [("100", 100), ("2m", 2_097_152), ("1k", 1024), ("1K", 1024), ("3G", 3 * 1_073_741_824), ("2M", 2_097_152)])
    func sizes(_ s: String, _ v: Int) throws {
        #expect(try ValueParsers.size(s, keyword: "size") == v)
    }

    @Test(arguments: ["4g", "2x", "k", "1.5k", ""])
    func badSizes(_ s: String) {
        #expect(throws: ConfigError.self) { try ValueParsers.size(s, keyword: "size") }
    }

    @Test func integers() throws {
        #expect(try ValueParsers.integer("42", keyword: "k", range: 1...100) == 42)
        #expect(throws: ConfigError.self) { try ValueParsers.integer("abc", keyword: "k", range: 1...100) }
        #expect(throws: ConfigError.self) { try ValueParsers.integer("-1", keyword: "k", range: 1...100) }
        #expect(throws: ConfigError.self) { try ValueParsers.integer("0", keyword: "k", range: 1...100) }
        #expect(throws: ConfigError.self) { try ValueParsers.integer("101", keyword: "k", range: 1...100) }
        #expect(throws: ConfigError.self) { try ValueParsers.integer(nil, keyword: "k", range: 1...100) }
        #expect(throws: ConfigError.self) { try ValueParsers.integer("1e3", keyword: "k", range: 1...10000) }
    }

    @Test func octal() throws {
        #expect(try ValueParsers.octal("600", keyword: "mode") == 0o600)
        #expect(try ValueParsers.octal("0660", keyword: "mode") == 0o660)
        #expect(throws: ConfigError.self) { try ValueParsers.octal("680", keyword: "mode") }
        #expect(throws: ConfigError.self) { try ValueParsers.octal("rw", keyword: "mode") }
    }

    static let strict = AddressParser.Options(allowUnix: false, defaultPort: nil, resolveHostnames: false)

    @Test(arguments: [
        ("127.0.0.1:80", "127.0.0.1", 80), ("*:443", "0.0.0.0", 443), (":443", "0.0.0.0", 443),
        (":::443", "::", 443), ("[::1]:8080", "::1", 8080), ("::1:8080", "::1", 8080),
        ("2001:db8::1:443", "2001:db8::1", 443), ("ipv4@10.0.0.1:65535", "10.0.0.1", 65535),
        ("ipv6@[2001:db8::2]:1", "2001:db8::2", 1), ("ipv4@*:80", "0.0.0.0", 80), ("ipv6@:80", "::", 80),
        ("localhost:80", "127.0.0.1", 80),
    ])
    func addresses(_ s: String, _ host: String, _ port: Int) throws {
        #expect(try AddressParser.parse(s, options: Self.strict) == .inet(host: host, port: port))
    }

    @Test(arguments: [
        ("127.0.0.1", "missing port"), ("127.0.0.1:", "missing port"), ("127.0.0.1:0", "invalid port"),
        ("127.0.0.1:65536", "invalid port"), ("127.0.0.1:http", "invalid port"), ("1.2.3.4:80-90", "port ranges"),
        ("fd@3", "not supported"), ("/tmp/sock", "UNIX"), ("[::1:80", "missing ']'"), ("999.1.1.1:80", "invalid address"),
        ("ipv4@::1:80", "invalid address"),
    ])
    func badAddresses(_ s: String, _ keyword: String) {
        do {
            _ = try AddressParser.parse(s, options: Self.strict)
            Issue.record("expected an error for '\(s)'")
        } catch let e as ConfigError {
            #expect(e.message.contains(keyword), "\(e.message)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func unixAndDefaultPort() throws {
        let o = AddressParser.Options(allowUnix: true, defaultPort: 514, resolveHostnames: false)
        #expect(try AddressParser.parse("/dev/log", options: o) == .unix(path: "/dev/log"))
        #expect(try AddressParser.parse("unix@/run/x.sock", options: o) == .unix(path: "/run/x.sock"))
        #expect(try AddressParser.parse("10.1.2.3", options: o) == .inet(host: "10.1.2.3", port: 514))
        #expect(try AddressParser.parse("::1", options: o) == .inet(host: "::1", port: 514))
        #expect(try AddressParser.parse("10.1.2.3:1514", options: o) == .inet(host: "10.1.2.3", port: 1514))
    }

    @Test func ipPatterns() throws {
        #expect(try AddressParser.ipPattern("10.0.0.0/8") == .init(address: [10, 0, 0, 0], prefixLength: 8))
        #expect(try AddressParser.ipPattern("10.1.2.3") == .init(address: [10, 1, 2, 3], prefixLength: 32))
        #expect(try AddressParser.ipPattern("192.168.0.0/255.255.0.0").prefixLength == 16)
        #expect(try AddressParser.ipPattern("2001:db8::/32").prefixLength == 32)
        #expect(try AddressParser.ipPattern("::1").address.count == 16)
        #expect(throws: ConfigError.self) { try AddressParser.ipPattern("10.0.0.0/33") }
        #expect(throws: ConfigError.self) { try AddressParser.ipPattern("10.0.0.0/255.0.255.0") }
        #expect(throws: ConfigError.self) { try AddressParser.ipPattern("example.com") }
    }

    @Test func editDistanceSuggestion() {
        #expect(UnsupportedKeywords.suggestion(for: "maxconnn", among: ["maxconn", "mode"]) == "maxconn")
        #expect(UnsupportedKeywords.suggestion(for: "zzzzzz", among: ["maxconn", "mode"]) == nil)
    }
}
