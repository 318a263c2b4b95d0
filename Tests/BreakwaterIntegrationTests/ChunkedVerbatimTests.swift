import Foundation
import NIOCore
import NIOPosix
import Testing

/// A server that records every byte each connection sends, and answers each complete request
/// (read by its framing, `ForwardedRequest`) with what `answer` returns for it, keeping the
/// connection open. Connections are counted, so a test can tell a reused one from a new one.
final class ScriptedBackend: @unchecked Sendable {
    let received = Locked<[[UInt8]]>([])
    let requests = Locked<[[UInt8]]>([])
    let closedConnections = Locked(0)
    private(set) var port = 0
    private var channel: Channel?

    static func start(answer: @escaping @Sendable (ForwardedRequest) -> [UInt8]) async throws -> ScriptedBackend {
        let b = ScriptedBackend()
        b.channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    let index = b.received.withLock { $0.append([]); return $0.count - 1 }
                    try ch.pipeline.syncOperations.addHandler(ScriptedHandler(backend: b, index: index, answer: answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        b.port = b.channel?.localAddress?.port ?? 0
        return b
    }

    var connections: Int { received.withLock { $0.count } }

    /// The bytes a connection received after the head of the request starting with `marker`.
    func forwardedBody(of marker: String) -> [UInt8]? {
        let m = Array(marker.utf8)
        for bytes in received.withLock({ $0 }) where bytes.count >= m.count {
            for i in 0...(bytes.count - m.count) where bytes[i..<(i + m.count)].elementsEqual(m) {
                let rest = Array(bytes[i...])
                return RawHeadRecorder.headEnd(rest).map { Array(rest[$0...]) }
            }
        }
        return nil
    }
    func stop() async { try? await channel?.close().get() }
}

final class ScriptedHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let backend: ScriptedBackend
    let index: Int
    let answer: @Sendable (ForwardedRequest) -> [UInt8]
    var pending: [UInt8] = []

    init(backend: ScriptedBackend, index: Int, answer: @escaping @Sendable (ForwardedRequest) -> [UInt8]) {
        self.backend = backend
        self.index = index
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        backend.received.withLock { $0[index] += bytes }
        pending += bytes
        guard let request = ForwardedRequest(pending), request.complete else { return }
        backend.requests.withLock { $0.append(pending) }
        pending = []
        var out = context.channel.allocator.buffer(capacity: 256)
        out.writeBytes(answer(request))
        context.writeAndFlush(NIOAny(out), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        backend.closedConnections.withLock { $0 += 1 }
    }
}

extension Integration {
    /// Issue 10 item 1: a chunked body that arrives chunked and leaves chunked is forwarded as its
    /// received bytes (sizes as spelled, extensions, trailers), both ways; it is de-chunked only
    /// where the other side needs the payload (HTTP/2 clients, HTTP/1.0 clients, HEAD).
    ///
    /// HAProxy 2.6 (`haproxy -db`, same bytes) re-chunks instead: one chunk per buffer with its own
    /// lower-case size, extensions dropped, trailer names lower-cased. Both are valid (RFC 9112
    /// §7.1.1: a recipient ignores extensions it does not know); forwarding as received is what
    /// saves the re-encoding, and the framer has validated every byte forwarded.
    @Suite struct ChunkedVerbatim {
        static func b(_ s: String) -> [UInt8] { Array(s.utf8) }

        /// Odd chunk sizes (1, 0x10, 0xfff), upper-case hex, leading zeros, extensions, trailers.
        static let requestBody = b("1;a=b\r\nx\r\n010\r\n0123456789ABCDEF\r\nFfF\r\n") + Array(repeating: UInt8(ascii: "y"), count: 0xfff)
            + b("\r\n00000;last=\"q\"\r\nX-Trailer: one\r\nx-other:two\r\n\r\n")
        static let responseBody = b("0001\r\nr\r\n10 ; ext\r\n0123456789abcdef\r\nfff;a=1;b\r\n") + Array(repeating: UInt8(ascii: "z"), count: 0xfff)
            + b("\r\n0\r\nServer-Timing: db;dur=5\r\n\r\n")
        static let responsePayload = b("r0123456789abcdef") + Array(repeating: UInt8(ascii: "z"), count: 0xfff)

        static func chunkedAnswer(_ request: ForwardedRequest) -> [UInt8] {
            if request.startLine.hasPrefix("HEAD ") {
                return b("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Head: yes\r\n\r\n")
            }
            if request.startLine.contains("/bad") {
                return b("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
            }
            return b("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") + responseBody
        }

        static func proxy(_ backend: ScriptedBackend) async throws -> ProxyProcess {
            try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n    server s 127.0.0.1:\(backend.port)")
            }
        }

        static func body(after head: [UInt8]) -> [UInt8] {
            guard let end = RawHeadRecorder.headEnd(head) else { return [] }
            return Array(head[end...])
        }

        @Test("A chunked request reaches an HTTP/1.1 server byte for byte, at any read boundary")
        func requestVerbatim() async throws {
            let backend = try await ScriptedBackend.start { _ in Self.b("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") }
            let proxy = try await Self.proxy(backend)
            let head = Self.b("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            // One write, then the same bytes cut into reads at awkward places (inside a size line,
            // between CR and LF, inside the trailers).
            let whole = head + Self.requestBody
            let cuts = [[whole.count], [head.count + 3, head.count + 8, head.count + 30, whole.count - 12, whole.count - 1, whole.count]]
            let c = try await RawClient.connect(port: proxy.port)
            for (n, cut) in cuts.enumerated() {
                var start = 0
                for end in cut {
                    try await c.send(Array(whole[start..<end]))
                    start = end
                    try? await Task.sleep(nanoseconds: 30_000_000)
                }
                let rs = await c.waitForResponses(n + 1, timeout: 5)
                #expect(rs.count == n + 1 && rs.last?.status == 200, "cuts \(cut): \(rs.map(\.status))")
            }
            let forwarded = backend.requests.withLock { $0 }
            #expect(forwarded.count == 2)
            for request in forwarded {
                #expect(Self.body(after: request) == Self.requestBody, "forwarded body: \(String(decoding: Self.body(after: request).prefix(60), as: UTF8.self))")
                let text = String(decoding: request, as: UTF8.self).lowercased()
                #expect(text.components(separatedBy: "transfer-encoding: chunked").count == 2, "one chunked field: \(text.prefix(200))")
            }
            c.close()
            await proxy.stop()
            await backend.stop()
        }

        @Test("A chunked response reaches an HTTP/1.1 client byte for byte; the server connection is reused")
        func responseVerbatim() async throws {
            let backend = try await ScriptedBackend.start(answer: Self.chunkedAnswer)
            let proxy = try await Self.proxy(backend)
            let c = try await RawClient.connect(port: proxy.port)
            try await c.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = await c.waitForResponses(1, timeout: 5)
            try await c.send("GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
            let rs = await c.waitForResponses(2, timeout: 5)
            #expect(rs.count == 2 && rs.allSatisfy { $0.status == 200 })
            #expect(rs.allSatisfy { $0.body == Self.responsePayload }, "payload de-chunked by the client parser")
            // The raw bytes: each response's body is the server's, as sent.
            let raw = c.bytes
            let head = Array(raw[..<(RawHeadRecorder.headEnd(raw) ?? 0)])
            #expect(String(decoding: head, as: UTF8.self).lowercased().contains("transfer-encoding: chunked"))
            let first = Array(raw[head.count..<min(raw.count, head.count + Self.responseBody.count)])
            #expect(first == Self.responseBody, "received: \(String(decoding: first.prefix(60), as: UTF8.self))")
            #expect(raw.count == 2 * (head.count + Self.responseBody.count), "nothing added or dropped: \(raw.count) bytes")
            #expect(backend.connections == 1, "the server connection was kept: \(backend.connections)")
            c.close()
            await proxy.stop()
            await backend.stop()
        }

        @Test("De-chunked where the client needs the payload: HTTP/1.0, HEAD, HTTP/2")
        func dechunkedPaths() async throws {
            let backend = try await ScriptedBackend.start(answer: Self.chunkedAnswer)
            let proxy = try await Self.proxy(backend)
            // HTTP/1.0: the payload, delimited by the close.
            let old = await sendAndHalfClose(port: proxy.port, Self.b("GET /old HTTP/1.0\r\nHost: x\r\n\r\n"))
            let oldBytes = Array(old.text.utf8)
            #expect(old.text.hasPrefix("HTTP/1.0 200") && old.closed, "\(old.text.prefix(80))")
            #expect(!old.text.lowercased().contains("transfer-encoding"), "no chunked field for an unchunked body: \(old.text.prefix(200))")
            #expect(Self.body(after: oldBytes) == Self.responsePayload, "HTTP/1.0 body is the payload")
            // HEAD: the head only, then the connection serves the next request.
            let c = try await RawClient.connect(port: proxy.port)
            try await c.send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n")
            try? await Task.sleep(nanoseconds: 300_000_000)
            #expect(c.text.hasPrefix("HTTP/1.1 200") && c.text.hasSuffix("\r\n\r\n"), "HEAD answer: \(c.text)")
            let afterHead = c.bytes.count
            try await c.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = await waitUntil(timeout: 5) { c.bytes.count >= afterHead + Self.responseBody.count }
            #expect(Self.body(after: Array(c.bytes[afterHead...])) == Self.responseBody, "after HEAD, the next body is verbatim")
            c.close()
            // HTTP/2 (h2c, prior knowledge): DATA frames carry the payload.
            let r = try await curl(["--http2-prior-knowledge", "http://127.0.0.1:\(proxy.port)/h2"])
            #expect(r.heads.last?.status == 200)
            #expect([UInt8](r.body) == Self.responsePayload, "h2 body: \(r.body.count) bytes")
            await proxy.stop()
            await backend.stop()
        }

        @Test("An invalid chunk size mid-body aborts the exchange; the server connection is not reused")
        func errorsMidBody() async throws {
            let backend = try await ScriptedBackend.start(answer: Self.chunkedAnswer)
            let proxy = try await Self.proxy(backend)
            // From the server: the client gets the valid prefix, no end of body, and the close.
            let c = try await RawClient.connect(port: proxy.port)
            try await c.send("GET /bad HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(await c.waitClosed(timeout: 5), "client connection closed")
            #expect(!c.text.hasSuffix("0\r\n\r\n"), "no end of body invented: \(c.text)")
            #expect(!c.text.contains("zz"), "the invalid bytes are not forwarded: \(c.text)")
            try await Task.sleep(nanoseconds: 200_000_000)
            #expect(backend.closedConnections.current == 1, "server connection closed, not pooled")
            let next = try await oneShot(proxy.port, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(next?.status == 200 && next?.body == Self.responsePayload)
            #expect(backend.connections == 2, "a new server connection: \(backend.connections)")

            // From the client, after the server got the first chunks.
            let d = try await RawClient.connect(port: proxy.port)
            try await d.send("POST /cut HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
            _ = await waitUntil(timeout: 5) { (backend.forwardedBody(of: "POST /cut")?.count ?? 0) >= 8 }
            #expect(backend.forwardedBody(of: "POST /cut") == Self.b("3\r\nabc\r\n"), "valid chunk forwarded as received")
            try await d.send("zz\r\n")
            #expect(await d.waitClosed(timeout: 5), "client connection closed")
            try await Task.sleep(nanoseconds: 200_000_000)
            #expect(backend.closedConnections.current == 2, "server connection closed mid-request")
            #expect(backend.requests.withLock { $0 }.allSatisfy { !String(decoding: $0, as: UTF8.self).hasPrefix("POST /cut") },
                    "the server never got a complete request")
            d.close()
            await proxy.stop()
            await backend.stop()
        }
    }
}
