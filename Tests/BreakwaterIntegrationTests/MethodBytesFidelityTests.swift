import Foundation
import NIOCore
import NIOPosix
import Testing

/// A server answering every request head with fixed bytes: a HEAD gets a chunked head and no
/// body, anything else a Latin-1 header and a 2-byte body (what a server's obs-text looks like).
final class Latin1ResponseBackend: @unchecked Sendable {
    static let latin1Header: [UInt8] = Array("X-Name: caf".utf8) + [0xE9, 0x20, 0xFF]
    private(set) var port = 0
    private var channel: Channel?

    static func start() async throws -> Latin1ResponseBackend {
        let b = Latin1ResponseBackend()
        b.channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(Latin1Responder()) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        b.port = b.channel?.localAddress?.port ?? 0
        return b
    }

    func stop() async { try? await channel?.close().get() }
}

final class Latin1Responder: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    var pending: [UInt8] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pending += unwrapInboundIn(data).readableBytesView
        while let end = RawHeadRecorder.headEnd(pending) {
            let isHEAD = pending.starts(with: Array("HEAD ".utf8))
            pending.removeFirst(end)
            var out = context.channel.allocator.buffer(capacity: 128)
            if isHEAD {
                out.writeString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n")
            } else {
                out.writeString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
            }
            out.writeBytes(Latin1ResponseBackend.latin1Header)
            out.writeString("\r\n\r\n")
            if !isHEAD { out.writeString("ok") }
            context.writeAndFlush(NIOAny(out), promise: nil)
        }
    }
}

extension Integration {
    /// Issue 9 #13 on the byte-level request scanner: any token method and any header byte
    /// reach the server as the client sent them, as through HAProxy 2.6.
    @Suite struct MethodBytesFidelity {
        static let latin1Value: [UInt8] = Array("attachment; filename=\"r".utf8) + [0xE9, 0x73, 0x75, 0x6D, 0xE9] + Array(".pdf\"".utf8)

        static let requests: [(name: String, bytes: [UInt8], startLine: String)] = [
            ("extension method", Array("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n".utf8), "BREW /pot HTTP/1.1"),
            ("lower-case method", Array("get /lower HTTP/1.1\r\nHost: x\r\n\r\n".utf8), "get /lower HTTP/1.1"),
            ("Latin-1 header value",
             Array("GET /latin1 HTTP/1.1\r\nHost: x\r\nContent-Disposition: ".utf8) + latin1Value + Array("\r\n\r\n".utf8),
             "GET /latin1 HTTP/1.1"),
        ]

        /// Sends each request on its own connection; returns the statuses and the forwarded heads.
        static func observe(port: Int, backend: RawBackend) async throws -> [(Int, [UInt8]?)] {
            var out: [(Int, [UInt8]?)] = []
            for r in requests {
                let before = backend.heads.withLock { $0.count }
                let c = try await RawClient.connect(port: port)
                try await c.send(r.bytes)
                let status = await c.waitForResponses(1, timeout: 5).first?.status ?? -1
                c.close()
                _ = await waitUntil(timeout: 2) { backend.heads.withLock { $0.count } > before }
                out.append((status, backend.heads.withLock { $0.count > before ? $0[before] : nil }))
            }
            return out
        }

        static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
            guard needle.count <= haystack.count else { return false }
            return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
        }

        @Test("#13 BREW, lower-case get and Latin-1 header bytes are forwarded unchanged, as HAProxy forwards them")
        func forwardedAsSent() async throws {
            let raw = try await RawBackend.start()
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n    server s 127.0.0.1:\(raw.port)")
            }
            let ours = try await Self.observe(port: proxy.port, backend: raw)
            await proxy.stop()
            for (r, (status, head)) in zip(Self.requests, ours) {
                #expect(status == 200, "\(r.name): status \(status)")
                let forwarded = try #require(head, "\(r.name): not forwarded")
                #expect(forwarded.starts(with: Array((r.startLine + "\r\n").utf8)),
                        "\(r.name): forwarded \(String(decoding: forwarded.prefix(40), as: UTF8.self))")
            }
            let latin1 = try #require(ours.last?.1)
            #expect(Self.contains(latin1, Array("Content-Disposition: ".utf8) + Self.latin1Value),
                    "Latin-1 bytes kept byte for byte: \(latin1)")

            // HAProxy 2.6 makes the same decisions on the same bytes (it lower-cases header names).
            guard let (haproxy, hport) = try await startHAProxy({ port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n    server s 127.0.0.1:\(raw.port)")
            }) else { return }
            let theirs = try await Self.observe(port: hport, backend: raw)
            await haproxy.stop()
            for (r, (status, head)) in zip(Self.requests, theirs) {
                #expect(status == 200, "haproxy \(r.name): \(status)")
                #expect(head?.starts(with: Array((r.startLine + "\r\n").utf8)) == true, "haproxy \(r.name)")
            }
            #expect(theirs.last?.1.map { Self.contains($0, Array("content-disposition: ".utf8) + Self.latin1Value) } == true)
            await raw.stop()
        }

        @Test("#13 A server's Latin-1 header bytes reach the client unchanged; a HEAD answer carries no body")
        func responseBytesAndHEAD() async throws {
            let backend = try await Latin1ResponseBackend.start()
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n    server s 127.0.0.1:\(backend.port)")
            }
            let c = try await RawClient.connect(port: proxy.port)
            try await c.send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = await waitUntil(timeout: 5) { c.bytes.count >= 4 && RawHeadRecorder.headEnd(c.bytes) != nil }
            try await c.send("GET /g HTTP/1.1\r\nHost: x\r\n\r\n")
            // (RawClient's response parser cannot know the first answer is to a HEAD: count status lines.)
            _ = await waitUntil(timeout: 5) { c.text.hasSuffix("ok") }
            #expect(c.text.components(separatedBy: "HTTP/1.1 200 OK\r\n").count == 3, "HEAD then GET on one connection: \(c.text)")
            let bytes = c.bytes
            #expect(Self.contains(bytes, Latin1ResponseBackend.latin1Header), "Latin-1 bytes kept: \(c.text)")
            // After the HEAD answer's head comes the GET answer, not a chunked terminator.
            let firstEnd = try #require(RawHeadRecorder.headEnd(bytes))
            #expect(Array(bytes[firstEnd...]).starts(with: Array("HTTP/1.1 200".utf8)), "no body after HEAD: \(c.text)")
            #expect(c.text.hasSuffix("ok"))
            c.close()
            await proxy.stop()
            await backend.stop()
        }
    }
}
