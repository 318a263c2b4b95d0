import Foundation
import Testing

/// All integration tests live under this suite. They run one at a time: several of them measure
/// time loosely or memory, and the CI machine has two cores.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct Integration {}

/// Builds a whole configuration: global (log to stdout), defaults, one frontend `fe` bound to the
/// chosen port, and the given backend sections.
func config(port: Int, defaults extra: String = "", timeouts: String? = nil,
            frontend: String, backends: String) -> String {
    var s = Cfg.global
    if let t = timeouts {
        s += Cfg.defaults(extra, timeouts: t)
    } else {
        s += Cfg.defaults(extra)
    }
    s += "frontend fe\n    bind 127.0.0.1:\(port)\n\(frontend)\n\n\(backends)\n"
    return s
}

/// `server NAME 127.0.0.1:PORT` for a backend.
func serverLine(_ name: String, _ b: TestBackend, _ params: String = "") -> String {
    "    server \(name) 127.0.0.1:\(b.port) \(params)"
}

/// Builds an HTTP/1.1 request text.
func requestText(_ method: String = "GET", _ target: String, host: String = "test.local",
                 headers: [(String, String)] = [], body: String? = nil) -> String {
    var s = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
    for (k, v) in headers { s += "\(k): \(v)\r\n" }
    if let b = body { s += "Content-Length: \(b.utf8.count)\r\n" }
    s += "\r\n"
    if let b = body { s += b }
    return s
}

extension RawClient {
    /// Sends one request on this connection and waits for the next response.
    func exchange(_ text: String, timeout: Double = 10) async throws -> RawResponse? {
        let before = responses.count
        try await send(text)
        let all = await waitForResponses(before + 1, timeout: timeout)
        // skip interim 1xx responses
        let finals = all.dropFirst(before).filter { $0.status >= 200 }
        if finals.isEmpty {
            let more = await waitForResponses(all.count + 1, timeout: timeout)
            return more.dropFirst(before).first { $0.status >= 200 }
        }
        return finals.first
    }
}

/// One request on a fresh connection.
func oneShot(_ port: Int, _ text: String, timeout: Double = 10) async throws -> RawResponse? {
    let c = try await RawClient.connect(port: port)
    defer { c.close() }
    return try await c.exchange(text, timeout: timeout)
}

/// Checks the ERR-1 shape of a proxy-generated error response.
func expectErrorPage(_ r: RawResponse?, status: Int, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let r else {
        Issue.record("no response (expected \(status))", sourceLocation: sourceLocation)
        return
    }
    #expect(r.status == status, sourceLocation: sourceLocation)
    #expect(r.header("content-length") == String(r.body.count), "content-length matches body", sourceLocation: sourceLocation)
    #expect(r.header("cache-control")?.lowercased() == "no-cache", sourceLocation: sourceLocation)
    #expect(r.header("content-type")?.lowercased().hasPrefix("text/html") == true, sourceLocation: sourceLocation)
    #expect(r.bodyText.contains("<h1>"), "body has an <h1>: \(r.bodyText)", sourceLocation: sourceLocation)
    #expect(r.bodyText.contains("\(status)"), "body repeats the status", sourceLocation: sourceLocation)
}

/// A parsed `option httplog` line (LOG-3).
struct LogLine {
    var clientIP: String
    var clientPort: Int
    var date: String
    var frontend: String
    var backend: String
    var server: String
    var timers: [Int]
    var status: Int
    var bytes: String
    var tsc: String
    var counters: String
    var queues: String
    var request: String

    static let pattern = try! NSRegularExpression(pattern:
        #"^(\d{1,3}(?:\.\d{1,3}){3}):(\d+) \[(\d{2}/(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3})\] (\S+) (\S+)/(\S+) (-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(\+?-?\d+) (-?\d+) (\+?\d+) (\S+) (\S+) (\S{4}) (\d+/\d+/\d+/\d+/\+?\d+) (\d+/\d+) "(.*)"$"#)

    init?(_ line: String) {
        let ns = line as NSString
        guard let m = LogLine.pattern.firstMatch(in: line, range: NSRange(location: 0, length: ns.length)) else { return nil }
        func g(_ i: Int) -> String { ns.substring(with: m.range(at: i)) }
        clientIP = g(1); clientPort = Int(g(2)) ?? -1; date = g(3)
        frontend = g(4); backend = g(5); server = g(6)
        timers = (7...11).map { Int(g($0).replacingOccurrences(of: "+", with: "")) ?? -99 }
        status = Int(g(12)) ?? -99; bytes = g(13)
        tsc = g(16); counters = g(17); queues = g(18); request = g(19)
    }
}

/// Starts named echo backends.
func echoBackends(_ names: String...) async throws -> [TestBackend] {
    var out: [TestBackend] = []
    for n in names { out.append(try await TestBackend.start(n)) }
    return out
}

func stopAll(_ backends: [TestBackend]) async {
    for b in backends { await b.stop() }
}
