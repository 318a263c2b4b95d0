import BreakwaterConfigModel
import BreakwaterFastCGI
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// `FastCGIClientHandler` through an `EmbeddedChannel`: HTTP parts in, records out; records in,
/// HTTP parts out (FCGI-8, FCGI-9, FCGI-10).
@Suite struct ClientHandlerTests {
    final class Harness {
        let channel: EmbeddedChannel
        let handler: FastCGIClientHandler
        var stderrLines: [String] = []

        init(keepConn: Bool = true, configure: (inout FastCGIAppConfig) -> Void = { _ in }) throws {
            var c = FastCGIAppConfig(name: "app", docroot: "/var/www/html", location: ParamsTests.loc)
            c.index = "index.php"
            c.pathInfoRegex = #"^(/.+\.php)(/.*)?$"#
            c.keepConn = keepConn
            configure(&c)
            handler = FastCGIClientHandler(app: try FastCGIApplication(c))
            channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FastCGIRecordDecoder()))
            try channel.pipeline.syncOperations.addHandler(handler)
            handler.onStderr = { [unowned self] in self.stderrLines.append($0) }
        }

        /// Everything written so far, decoded as records.
        func sentRecords() throws -> [FastCGIRecord] {
            var all = ByteBuffer()
            while var b = try channel.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&b) }
            var out: [FastCGIRecord] = []
            while let r = try FastCGIRecordDecoder.decodeRecord(from: &all) { out.append(r) }
            #expect(all.readableBytes == 0)
            return out
        }

        func receive(_ records: [FastCGIRecord]) throws {
            var b = ByteBuffer()
            for r in records { r.encode(into: &b) }
            try channel.writeInbound(b)
        }

        func received() throws -> [HTTPClientResponsePart] {
            var out: [HTTPClientResponsePart] = []
            while let p = try channel.readInbound(as: HTTPClientResponsePart.self) { out.append(p) }
            return out
        }

        func request(_ method: HTTPMethod = .GET, _ uri: String, headers: [(String, String)] = [("Host", "h")],
                     body: [String] = []) throws {
            let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
            try handler.prepare(FastCGIRequestContext(clientAddress: "127.0.0.1", clientPort: 4000, frontendAddress: "127.0.0.1",
                                                      frontendPort: 80), head: head)
            try channel.writeOutbound(HTTPClientRequestPart.head(head))
            for b in body { try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: b)))) }
            try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        }
    }

    static func stdout(_ s: String) -> FastCGIRecord { FastCGIRecord(requestID: 1, body: .stdout(ByteBuffer(string: s))) }
    static let end = FastCGIRecord(requestID: 1, body: .endRequest(appStatus: 0, protocolStatus: .requestComplete))

    static func params(_ records: [FastCGIRecord]) throws -> [String: String] {
        var joined = ByteBuffer()
        for r in records { if case .params(var b) = r.body { joined.writeBuffer(&b) } }
        var out: [String: String] = [:]
        for p in try FastCGIRecord.parsePairs(joined) { out[p.nameString] = p.valueString }
        return out
    }

    static func body(_ parts: [HTTPClientResponsePart]) -> String {
        var s = ""
        for p in parts { if case .body(let b) = p { s += String(buffer: b) } }
        return s
    }

    @Test func getRequestRecords() throws {
        let h = try Harness()
        try h.request(.GET, "/index.php/extra/path?x=1")
        let records = try h.sentRecords()
        #expect(records.first == FastCGIRecord(requestID: 1, body: .beginRequest(role: .responder, keepConnection: true)))
        let p = try Self.params(records)
        #expect(p["SCRIPT_FILENAME"] == "/var/www/html/index.php")
        #expect(p["PATH_INFO"] == "/extra/path")
        #expect(p["QUERY_STRING"] == "x=1")
        // PARAMS stream ends with an empty record, then the empty STDIN.
        let types = records.map { $0.body.type }
        #expect(types == [.beginRequest, .params, .params, .stdin])
        #expect(records[2].body == .params(ByteBuffer()))
        #expect(records[3].body == .stdin(ByteBuffer()))
    }

    @Test func keepConnOffClearsFlagAndMarksResponseClose() throws {
        let h = try Harness(keepConn: false)
        try h.request(.GET, "/x.php")
        #expect(try h.sentRecords().first?.body == .beginRequest(role: .responder, keepConnection: false))
        try h.receive([Self.stdout("Content-Type: text/plain\r\n\r\nok"), Self.end])
        guard case .head(let head) = try h.received().first else { Issue.record("no head"); return }
        #expect(!head.isKeepAlive)
    }

    @Test func postBodyBecomesStdinRecords() throws {
        let h = try Harness()
        let big = String(repeating: "z", count: 150_000)
        try h.request(.POST, "/upload.php", headers: [("Host", "h"), ("Content-Length", "\(150_003)")], body: ["abc", big])
        let records = try h.sentRecords()
        #expect(try Self.params(records)["CONTENT_LENGTH"] == "150003")
        var stdin = ""
        var stdinRecords = 0
        for r in records { if case .stdin(let b) = r.body { stdin += String(buffer: b); stdinRecords += 1 } }
        #expect(stdin == "abc" + big)
        #expect(stdinRecords == 1 + 3 + 1, "abc, 150000 split in 3, empty end")
    }

    @Test func chunkedBodyIsBufferedForContentLength() throws {
        let h = try Harness()
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/c.php",
                                   headers: ["Host": "h", "Transfer-Encoding": "chunked"])
        try h.channel.writeOutbound(HTTPClientRequestPart.head(head))
        #expect(try h.channel.readOutbound(as: ByteBuffer.self) == nil, "nothing sent before the length is known")
        try h.channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: "hello "))))
        try h.channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: "world"))))
        try h.channel.writeOutbound(HTTPClientRequestPart.end(nil))
        let records = try h.sentRecords()
        #expect(try Self.params(records)["CONTENT_LENGTH"] == "11")
        var stdin = ""
        for r in records { if case .stdin(let b) = r.body { stdin += String(buffer: b) } }
        #expect(stdin == "hello world")
    }

    @Test func responseWithStatusHeadersAndLength() throws {
        let h = try Harness()
        try h.request(.GET, "/x.php")
        _ = try h.sentRecords()
        try h.receive([
            FastCGIRecord(requestID: 1, body: .stderr(ByteBuffer(string: "PHP Warning: oops\n"))),
            Self.stdout("Status: 404 Not Found\r\nX-Custom: yes\r\nContent-Type: text/html\r\n\r\nmiss"),
            Self.stdout("ing"),
            FastCGIRecord(requestID: 1, body: .stdout(ByteBuffer())),
            Self.end,
        ])
        let parts = try h.received()
        guard case .head(let head) = parts.first else { Issue.record("no head"); return }
        #expect(head.status.code == 404)
        #expect(head.status.reasonPhrase == "Not Found")
        #expect(head.headers["x-custom"] == ["yes"])
        #expect(head.headers["status"].isEmpty)
        #expect(head.headers["content-length"] == ["7"], "complete response known: length added")
        #expect(head.headers["date"].count == 1)
        #expect(head.isKeepAlive)
        #expect(Self.body(parts) == "missing")
        #expect(parts.last == .end(nil))
        #expect(h.stderrLines == ["PHP Warning: oops"])
    }

    @Test func locationWithoutStatusIs302AndLFOnlyHeaders() throws {
        let h = try Harness()
        try h.request(.GET, "/r.php")
        _ = try h.sentRecords()
        try h.receive([Self.stdout("Location: https://example.org/\n\n"), Self.end])
        guard case .head(let head) = try h.received().first else { Issue.record("no head"); return }
        #expect(head.status.code == 302)
        #expect(head.headers["location"] == ["https://example.org/"])
    }

    @Test func streamedResponseIsChunkedWhenLengthUnknown() throws {
        let h = try Harness()
        try h.request(.GET, "/s.php")
        _ = try h.sentRecords()
        // First read: headers and part of the body, no END_REQUEST yet.
        try h.receive([Self.stdout("Content-Type: text/plain\r\n\r\npart1")])
        h.channel.pipeline.fireChannelReadComplete()
        var parts = try h.received()
        guard case .head(let head) = parts.first else { Issue.record("no head"); return }
        #expect(head.headers["transfer-encoding"] == ["chunked"])
        #expect(head.headers["content-length"].isEmpty)
        #expect(Self.body(parts) == "part1")
        try h.receive([Self.stdout("part2"), Self.end])
        parts = try h.received()
        #expect(Self.body(parts) == "part2")
        #expect(parts.last == .end(nil))
    }

    @Test func appContentLengthIsKept() throws {
        let h = try Harness()
        try h.request(.GET, "/l.php")
        _ = try h.sentRecords()
        try h.receive([Self.stdout("Content-Length: 2\r\n\r\nok")])
        h.channel.pipeline.fireChannelReadComplete()
        guard case .head(let head) = try h.received().first else { Issue.record("no head"); return }
        #expect(head.headers["content-length"] == ["2"])
        #expect(head.headers["transfer-encoding"].isEmpty)
    }

    @Test func connectionIsReusableForASecondRequest() throws {
        let h = try Harness()
        for i in 0..<3 {
            try h.request(.GET, "/n\(i).php")
            #expect(try Self.params(h.sentRecords())["SCRIPT_NAME"] == "/n\(i).php")
            try h.receive([Self.stdout("\r\n\(i)"), Self.end])
            let parts = try h.received()
            #expect(Self.body(parts) == "\(i)")
            #expect(parts.last == .end(nil))
        }
    }

    @Test func malformedResponsesAreErrors() throws {
        let cases: [(String, [FastCGIRecord])] = [
            ("no colon", [Self.stdout("garbage line\r\n\r\n"), Self.end]),
            ("bad status", [Self.stdout("Status: abc\r\n\r\n"), Self.end]),
            ("1xx status", [Self.stdout("Status: 101\r\n\r\n"), Self.end]),
            ("truncated headers", [Self.stdout("Content-Type: text/plain\r\n"), Self.end]),
            ("empty response", [Self.end]),
            ("wrong request id", [FastCGIRecord(requestID: 2, body: .stdout(ByteBuffer(string: "x")))]),
            ("overloaded", [FastCGIRecord(requestID: 1, body: .endRequest(appStatus: 0, protocolStatus: .overloaded))]),
            ("stdin from app", [FastCGIRecord(requestID: 1, body: .stdin(ByteBuffer(string: "x")))]),
        ]
        for (name, records) in cases {
            let h = try Harness()
            try h.request(.GET, "/x.php")
            _ = try h.sentRecords()
            #expect(throws: FastCGIError.self, "\(name)") { try h.receive(records) }
        }
        // Oversized header block.
        let h = try Harness()
        try h.request(.GET, "/x.php")
        _ = try h.sentRecords()
        #expect(throws: FastCGIError.self) {
            for _ in 0..<3 { try h.receive([Self.stdout("X-Big: " + String(repeating: "a", count: 30_000) + "\r\n")]) }
        }
    }

    @Test func invalidPathThrowsFromPrepare() throws {
        let h = try Harness()
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/bad%zz.php")
        #expect(throws: FastCGIError.self) {
            try h.handler.prepare(FastCGIRequestContext(clientAddress: "a", clientPort: 1, frontendAddress: "b", frontendPort: 2), head: head)
        }
    }

    @Test func headResponseGetsNoFraming() throws {
        let h = try Harness()
        try h.request(.HEAD, "/x.php")
        _ = try h.sentRecords()
        try h.receive([Self.stdout("Content-Type: text/html\r\n\r\n"), Self.end])
        guard case .head(let head) = try h.received().first else { Issue.record("no head"); return }
        #expect(head.headers["content-length"].isEmpty && head.headers["transfer-encoding"].isEmpty)
    }
}
