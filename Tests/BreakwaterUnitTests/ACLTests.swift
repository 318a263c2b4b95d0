import BreakwaterACL
import BreakwaterConfigModel
import Testing

struct FakeRequest: ACLRequestView {
    var aclPath: Substring = "/"
    var aclMethod: String = "GET"
    var headers: [(String, String)] = []
    var aclSourceAddress: [UInt8]? = [127, 0, 0, 1]
    func aclHeaderValues(_ lowercasedName: String) -> [Substring] {
        headers.filter { $0.0.lowercased() == lowercasedName }.flatMap { splitHeaderList(Substring($0.1)) }
    }
}

/// Condition evaluation (spec ACL-1..ACL-5).
@Suite struct ACLEvaluationTests {
    static let here = SourceLocation(file: "t.cfg", line: 1)

    static func test(_ fetch: SampleFetch, _ method: MatchMethod, _ strings: [String] = [], i: Bool = false,
                     ints: [IntegerPattern] = [], ips: [IPPattern] = []) -> ACLTest {
        ACLTest(fetch: fetch, method: method, caseInsensitive: i, strings: strings, integers: ints, addresses: ips, location: here)
    }

    static func cond(_ terms: [[ConditionFactor]]) -> CompiledCondition { cond(.if, terms) }
    static func cond(_ polarity: RuleCondition.Polarity, _ terms: [[ConditionFactor]]) -> CompiledCondition {
        CompiledCondition(RuleCondition(polarity: polarity, terms: terms))
    }

    static func factor(_ t: ACLTest, negated: Bool = false) -> ConditionFactor {
        ConditionFactor(negated: negated, name: "x", tests: [t])
    }

    @Test func stringMethods() {
        let r = FakeRequest(aclPath: "/api/v1/users.json")
        #expect(Self.cond([[Self.factor(Self.test(.path, .beg, ["/api"]))]]).evaluate(r))
        #expect(Self.cond([[Self.factor(Self.test(.path, .end, [".json"]))]]).evaluate(r))
        #expect(Self.cond([[Self.factor(Self.test(.path, .sub, ["v1"]))]]).evaluate(r))
        #expect(!Self.cond([[Self.factor(Self.test(.path, .str, ["/api"]))]]).evaluate(r))
        #expect(Self.cond([[Self.factor(Self.test(.path, .reg, ["^/api/v[0-9]+/"]))]]).evaluate(r))
        #expect(!Self.cond([[Self.factor(Self.test(.path, .reg, ["^/static"]))]]).evaluate(r))
    }

    @Test func caseInsensitiveHeaderMatchAndCommaLists() {
        let r = FakeRequest(headers: [("Host", "Donate.Example.org"), ("X-List", "a, b ,c")])
        #expect(Self.cond([[Self.factor(Self.test(.header("host"), .str, ["donate.example.org"], i: true))]]).evaluate(r))
        #expect(!Self.cond([[Self.factor(Self.test(.header("host"), .str, ["donate.example.org"]))]]).evaluate(r))
        #expect(Self.cond([[Self.factor(Self.test(.header("x-list"), .str, ["b"]))]]).evaluate(r))
        #expect(Self.cond([[Self.factor(Self.test(.header("x-list"), .found))]]).evaluate(r))
        #expect(!Self.cond([[Self.factor(Self.test(.header("x-none"), .found))]]).evaluate(r))
    }

    @Test func missingSampleIsFalseAndNegationTrue() {
        let r = FakeRequest()
        let missing = Self.test(.header("x-none"), .str, ["a"])
        #expect(!Self.cond([[Self.factor(missing)]]).evaluate(r))
        #expect(Self.cond([[Self.factor(missing, negated: true)]]).evaluate(r))
        #expect(!Self.cond(.unless, [[Self.factor(missing, negated: true)]]).evaluate(r))
    }

    @Test func orOfAndTerms() {
        let r = FakeRequest(aclPath: "/img/a.png", aclMethod: "GET")
        let isImg = Self.factor(Self.test(.path, .beg, ["/img"]))
        let isPost = Self.factor(Self.test(.method, .str, ["POST"]))
        let alwaysTrue = Self.factor(Self.test(.alwaysTrue, .bool))
        #expect(!Self.cond([[isImg, isPost]]).evaluate(r))
        #expect(Self.cond([[isImg, isPost], [alwaysTrue]]).evaluate(r))
        #expect(Self.cond([[isPost], [isImg]]).evaluate(r))
    }

    @Test func sourceAddressCIDR() {
        let v4 = FakeRequest(aclSourceAddress: [10, 1, 2, 3])
        let net = IPPattern(address: [10, 0, 0, 0], prefixLength: 8)
        let other = IPPattern(address: [192, 168, 0, 0], prefixLength: 16)
        #expect(Self.cond([[Self.factor(Self.test(.src, .ip, ips: [net]))]]).evaluate(v4))
        #expect(!Self.cond([[Self.factor(Self.test(.src, .ip, ips: [other]))]]).evaluate(v4))
        // v4 patterns match v4-mapped IPv6 clients.
        let mapped = FakeRequest(aclSourceAddress: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 9, 9, 9])
        #expect(Self.cond([[Self.factor(Self.test(.src, .ip, ips: [net]))]]).evaluate(mapped))
    }

    @Test func parseIPAddresses() {
        #expect(parseIPAddress("127.0.0.1") == [127, 0, 0, 1])
        #expect(parseIPAddress("256.0.0.1") == nil)
        #expect(parseIPAddress("::1") == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
        #expect(parseIPAddress("2001:db8::") == [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(parseIPAddress("::ffff:10.0.0.1") == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 0, 0, 1])
        #expect(parseIPAddress("1:2:3") == nil)
    }

    @Test func integerPatterns() {
        #expect(IntegerPattern.gt(50).matches(51))
        #expect(!IntegerPattern.gt(50).matches(50))
        #expect(IntegerPattern.range(10, 20).matches(10))
        #expect(IntegerPattern.range(nil, 20).matches(-5))
        #expect(!IntegerPattern.range(10, nil).matches(9))
    }
}
