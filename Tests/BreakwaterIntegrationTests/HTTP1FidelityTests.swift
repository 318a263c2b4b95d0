import Foundation
import NIOCore
import NIOPosix
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A server that records the raw bytes of each connection's first request head and answers
/// `200` with `Content-Length: 2`, keeping the connection (bytes are what this backend checks).
final class RawBackend: @unchecked Sendable {
    let heads = Locked<[[UInt8]]>([])
    private(set) var port = 0
    private var channel: Channel?

    static func start() async throws -> RawBackend {
        let b = RawBackend()
        let heads = b.heads
        b.channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(RawHeadRecorder(heads: heads)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        b.port = b.channel?.localAddress?.port ?? 0
        return b
    }

    var texts: [String] { heads.withLock { $0 }.map { String(decoding: $0, as: UTF8.self) } }

    func stop() async { try? await channel?.close().get() }
}

/// Collects bytes up to each blank line and answers each head (requests here have no body).
final class RawHeadRecorder: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    let heads: Locked<[[UInt8]]>
    var pending: [UInt8] = []
    init(heads: Locked<[[UInt8]]>) { self.heads = heads }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending += unwrapInboundIn(data).readableBytesView
        while let end = Self.headEnd(pending) {
            let head = Array(pending[..<end])
            pending.removeFirst(end)
            heads.withLock { $0.append(head) }
            var out = context.channel.allocator.buffer(capacity: 64)
            out.writeString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            context.writeAndFlush(NIOAny(out), promise: nil)
        }
    }

    static func headEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i + 4 }
        return nil
    }
}

/// Sends `bytes` on a plain socket, shuts down the sending side, and reads until the peer closes
/// (or `timeout` seconds pass). Returns what was read and whether the peer closed.
func sendAndHalfClose(port: Int, _ bytes: [UInt8], timeout: Int = 5) async -> (text: String, closed: Bool) {
    await Task.detached {
        guard let fd = Ports.connectedSocket(port) else { return ("connect failed", false) }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        shutdown(fd, Int32(SHUT_WR))
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { return (String(decoding: out, as: UTF8.self), true) }
            if n < 0 { return (String(decoding: out, as: UTF8.self), false) }
            out += buf[..<n]
        }
    }.value
}

extension Integration {
    /// Issue 9 #11–#15: what the HTTP/1.1 client side must keep as HAProxy does.
    @Suite struct HTTP1Fidelity {
        static func proxy(_ b: TestBackend, timeouts: String? = nil, frontend extra: String = "") async throws -> ProxyProcess {
            try await ProxyProcess { port in
                config(port: port, timeouts: timeouts, frontend: "\(extra)\n    default_backend be",
                       backends: "backend be\n\(serverLine("s", b))")
            }
        }

        @Test("#11 Pipelined valid requests are served before the connection closes or the bad request gets its 400")
        func pipelined() async throws {
            let b = try await TestBackend.start("b")
            let proxy = try await Self.proxy(b)
            // (bytes in one write, answers, forwarded paths, connection closes after)
            let cases: [(String, [Int], [String], Bool)] = [
                ("GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n", [200], ["/a"], true),
                ("GET /c HTTP/1.0\r\n\r\nGET /d HTTP/1.0\r\n\r\n", [200], ["/c"], true),
                ("GET /e HTTP/1.1\r\nHost: x\r\n\r\nGET /f HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n", [200, 200, 400], ["/e", "/f"], true),
                ("GET /g HTTP/1.1\r\nHost: x\r\n\r\nGET /h HTTP/1.1\r\nHost: x\r\n\r\n", [200, 200], ["/g", "/h"], false),
            ]
            for (text, statuses, paths, closes) in cases {
                let before = b.requestCount
                let c = try await RawClient.connect(port: proxy.port)
                try await c.send(text)
                let rs = await c.waitForResponses(statuses.count, timeout: 5)
                #expect(rs.map(\.status) == statuses, "\(text.prefix(20)): \(rs.map(\.status))")
                if closes {
                    #expect(await c.waitClosed(timeout: 3), "\(text.prefix(20)): closed after the last answer")
                }
                try? await Task.sleep(nanoseconds: 100_000_000)
                #expect(b.requests.dropFirst(before).map(\.path) == paths, "\(text.prefix(20)): forwarded \(b.requests.dropFirst(before).map(\.path))")
                c.close()
            }
            await proxy.stop()
            await b.stop()
        }

        @Test("#12 A client that shuts down its sending side after the request gets the response, then the close")
        func halfClosed() async throws {
            let b = try await TestBackend.start("b")
            let proxy = try await Self.proxy(b)
            let one = await sendAndHalfClose(port: proxy.port, Array("GET /half HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(one.text.hasPrefix("HTTP/1.1 200"), "got: \(one.text.prefix(80))")
            #expect(one.closed, "closed after the answer")
            let two = await sendAndHalfClose(port: proxy.port,
                                             Array("GET /h1 HTTP/1.1\r\nHost: x\r\n\r\nGET /h2 HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(two.text.components(separatedBy: "HTTP/1.1 200").count == 3, "both answered: \(two.text)")
            #expect(two.closed)
            // A request cut short by the half-close cannot complete: closed, not forwarded.
            let before = b.requestCount
            let cut = await sendAndHalfClose(port: proxy.port,
                                             Array("POST /cut HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc".utf8))
            #expect(cut.closed)
            #expect(!cut.text.hasPrefix("HTTP/1.1 200"))
            try? await Task.sleep(nanoseconds: 100_000_000)
            #expect(b.requests.dropFirst(before).allSatisfy { $0.path != "/cut" || $0.bodyCount < 10 })
            let cutLine = await proxy.waitForLog(containing: "\"POST /cut HTTP/1.1\"")
            #expect(cutLine.flatMap(LogLine.init)?.tsc.hasPrefix("C") == true, "a client abort, not a bad request: \(cutLine ?? "none")")
            // A head cut short by the half-close: logged as a client that left (CR--), never a 400 PR--.
            let partial = await sendAndHalfClose(port: proxy.port, Array("GET /partial HTTP/1.1\r\nHost: x\r\nX-A:".utf8))
            #expect(partial.closed && partial.text.isEmpty, "no answer to a partial head: \(partial.text)")
            // (The harness's readiness probe logs one empty-connection CR-- line of its own.)
            let left = await waitUntil(timeout: 3) { proxy.logLines.filter { $0.contains(" CR-- ") }.count >= 2 }
            #expect(left, "logged CR--: \(proxy.logLines)")
            #expect(!proxy.logLines.contains { $0.contains("PR--") }, "\(proxy.logLines)")
            let line = await proxy.waitForLog(containing: "\"GET /half HTTP/1.1\"")
            #expect(line.flatMap(LogLine.init)?.status == 200, "logged as served: \(line ?? "none")")
            await proxy.stop()
            await b.stop()
        }

        @Test("#13 M-SEARCH reaches the server unchanged; gzip, chunked → 422 like HAProxy; no version → 400 at once")
        func methodsAndFraming() async throws {
            let raw = try await RawBackend.start()
            let proxy = try await ProxyProcess { port in
                config(port: port, timeouts: "    timeout connect 2s\n    timeout client 30s\n    timeout server 10s\n    timeout http-request 30s",
                       frontend: "    default_backend be", backends: "backend be\n    server s 127.0.0.1:\(raw.port)")
            }
            let r = try await oneShot(proxy.port, "M-SEARCH * HTTP/1.1\r\nHost: x\r\nMan: \"ssdp:discover\"\r\n\r\n")
            #expect(r?.status == 200)
            #expect(raw.texts.last?.hasPrefix("M-SEARCH * HTTP/1.1\r\n") == true, "forwarded: \(raw.texts.last ?? "nothing")")
            let msearchLog = await proxy.waitForLog(containing: "\"M-SEARCH * HTTP/1.1\"")
            #expect(msearchLog != nil, "logged with its own name")

            let te = "POST /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
            let forwardedBefore = raw.texts.count
            let r422 = try await oneShot(proxy.port, te)
            #expect(r422?.status == 422, "gzip, chunked: \(r422?.status ?? -1)")
            #expect(raw.texts.count == forwardedBefore, "not forwarded")

            // No version: 400 well before `timeout http-request` (30 s) could give a 408.
            let c = try await RawClient.connect(port: proxy.port)
            try await c.send("GET /v\r\n")
            let rs = await c.waitForResponses(1, timeout: 5)
            #expect(rs.first?.status == 400, "GET /v without version: \(rs.map(\.status))")
            #expect(await c.waitClosed(timeout: 3))
            c.close()
            await proxy.stop()

            // HAProxy answers the same two.
            let b = try await TestBackend.start("b")
            guard let (haproxy, hport) = try await startHAProxy({ port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s", b))")
            }) else { return }
            #expect(try await oneShot(hport, te)?.status == 422)
            let hc = try await RawClient.connect(port: hport)
            try await hc.send("GET /v\r\n")
            #expect(await hc.waitForResponses(1, timeout: 5).first?.status == 400)
            hc.close()
            await haproxy.stop()
            await raw.stop()
            await b.stop()
        }

        @Test("#14 A request timeout is logged once (408 cR--, no extra 400 PR--)")
        func timeoutLoggedOnce() async throws {
            let b = try await TestBackend.start("b")
            let proxy = try await Self.proxy(b, timeouts: "    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n    timeout http-request 300")
            let c = try await RawClient.connect(port: proxy.port)
            try await c.send("GET /slow HTTP/1.1\r\nHost: x\r\nX-Partial: ")
            let rs = await c.waitForResponses(1, timeout: 5)
            #expect(rs.first?.status == 408)
            #expect(await c.waitClosed(timeout: 3))
            c.close()
            _ = await proxy.waitForLog(containing: "cR--")
            try? await Task.sleep(nanoseconds: 500_000_000)
            let lines = proxy.logLines
            #expect(lines.filter { $0.contains(" 408 ") }.count == 1, "one 408 line: \(lines)")
            #expect(!lines.contains { $0.contains("PR--") }, "no second line for the same timeout: \(lines)")
            await proxy.stop()
            await b.stop()
        }

        @Test("#14 With only timeout client, a client trickling its head is cut only when it stops sending")
        func clientTimeoutRearmedPerChunk() async throws {
            let b = try await TestBackend.start("b")
            let proxy = try await Self.proxy(b, timeouts: "    timeout connect 2s\n    timeout client 800\n    timeout server 10s")
            let c = try await RawClient.connect(port: proxy.port)
            // 10 pieces 250 ms apart: 2.5 s in all, never 800 ms silent.
            let text = Array("GET /trickle HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-B: 2\r\n\r\n".utf8)
            let step = (text.count + 9) / 10
            for i in stride(from: 0, to: text.count, by: step) {
                try await c.send(Array(text[i..<min(i + step, text.count)]))
                try? await Task.sleep(nanoseconds: 250_000_000)
            }
            let rs = await c.waitForResponses(1, timeout: 5)
            #expect(rs.first?.status == 200, "trickled head answered: \(rs.map(\.status))")
            // A client that goes silent mid-head is still cut (timeout client of inactivity).
            let d = try await RawClient.connect(port: proxy.port)
            try await d.send("GET /silent HTTP/1.1\r\n")
            let ds = await d.waitForResponses(1, timeout: 5)
            #expect(ds.first?.status == 408, "silent mid-head: \(ds.map(\.status))")
            c.close(); d.close()
            await proxy.stop()
            await b.stop()
        }

        @Test("#15 bin counts heads and bodies: frontend, backend and per server, in Prometheus")
        func byteCounters() async throws {
            let b = try await TestBackend.start("b")
            let admin = try makeTempDir("admin").appendingPathComponent("admin.sock").path
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    http-request use-service prometheus-exporter if { path /metrics }\n    default_backend be",
                       backends: "backend be\n\(serverLine("s", b))")
                    .replacingOccurrences(of: "    nbthread 2\n", with: "    nbthread 2\n    stats socket \(admin) level admin\n")
            }
            let request = requestText("POST", "/count", headers: [("X-Pad", String(repeating: "p", count: 100))], body: "0123456789")
            let c = try await RawClient.connect(port: proxy.port)
            let r = try await c.exchange(request)
            #expect(r?.status == 200)
            c.close()
            try? await Task.sleep(nanoseconds: 200_000_000)
            let metrics = try await curl(["http://127.0.0.1:\(proxy.port)/metrics"]).bodyText
            func value(_ family: String, _ label: String) -> Int? {
                metrics.split(separator: "\n").first { $0.contains(family + "{") && $0.contains(label) && !$0.hasPrefix("#") }
                    .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int($0) }
            }
            let size = request.utf8.count
            #expect(value("_frontend_bytes_in_total", "proxy=\"fe\"") == size, "frontend bin: \(metrics.split(separator: "\n").filter { $0.contains("bytes_in") })")
            #expect(value("_backend_bytes_in_total", "proxy=\"be\"") == size)
            #expect(value("_server_bytes_in_total", "server=\"s\"") == size)
            let bout = value("_server_bytes_out_total", "server=\"s\"") ?? 0
            #expect(bout > 0 && bout == value("_backend_bytes_out_total", "proxy=\"be\""), "server bout \(bout)")
            let sess = try await adminCommand(admin, "show sess")
            #expect(sess.contains("backend be: ") && sess.contains(" served=1"), "show sess: \(sess)")
            await proxy.stop()
            await b.stop()
        }
    }
}
