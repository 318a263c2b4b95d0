import Foundation
import Testing

/// HTTP/2 streams as state of one connection handler (issue 10 item 2), driven frame by frame with
/// the raw client: interleaved request bodies, flow-control windows both ways (bodies larger than
/// the initial 65,535-byte window), a reset in the middle of a body, a client GOAWAY while streams
/// are in flight.
extension Integration {
    @Suite struct HTTP2FrameLevel {
        static let windowUpdate: UInt8 = 8
        static let cancel: UInt32 = 8

        static func config(_ port: Int, _ b: TestBackend) -> String {
            HTTP2Streams.h2Config(port: port, backends: HTTP2Streams.backend(b))
        }

        static func data(_ stream: UInt32, _ payload: [UInt8], end: Bool = false) -> [UInt8] {
            H2Client.frame(type: 0, flags: end ? 0x01 : 0, stream: stream, payload: payload)
        }

        static func windowUpdate(_ stream: UInt32, _ increment: Int) -> [UInt8] {
            let n = UInt32(increment)
            return H2Client.frame(type: Self.windowUpdate, flags: 0, stream: stream,
                                  payload: [UInt8(n >> 24 & 0x7F), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)])
        }

        /// What the server gave back with WINDOW_UPDATE on `stream` (0: the connection).
        static func credit(_ c: H2Client, _ stream: UInt32) -> Int {
            c.frames.filter { $0.type == Self.windowUpdate && $0.stream == stream && $0.payload.count == 4 }
                .reduce(0) { sum, f in
                    sum + (Int(f.payload[0] & 0x7F) << 24 | Int(f.payload[1]) << 16 | Int(f.payload[2]) << 8 | Int(f.payload[3]))
                }
        }

        /// Sends `total` body bytes on `stream` in frames of at most 16,384 bytes, never beyond the
        /// stream's or the connection's window (65,535 each plus what the server gave back);
        /// `connectionSent` is what earlier streams already used of the connection window.
        static func sendBody(_ c: H2Client, stream: UInt32, total: Int, fill: UInt8, connectionSent: inout Int) async throws -> Bool {
            var sent = 0
            while sent < total {
                var room = 0
                let ok = await waitUntil(timeout: 10) {
                    room = min(65535 + credit(c, stream) - sent, 65535 + credit(c, 0) - connectionSent)
                    return room > 0
                }
                guard ok else { return false }
                let n = min(room, 16384, total - sent)
                try await c.raw.send(data(stream, [UInt8](repeating: fill, count: n), end: sent + n == total))
                sent += n
                connectionSent += n
            }
            return true
        }

        @Test("Request bodies interleaved on 20 streams (more than the connection window in all) are each forwarded whole")
        func interleavedBodies() async throws {
            let b = try await TestBackend.start("s1") { _ in .echo }
            let proxy = try await ProxyProcess { Self.config($0, b) }
            let c = try await H2Client.connect(port: proxy.port)
            let streams = Array(stride(from: UInt32(1), through: 39, by: 2))
            for s in streams {
                try await c.sendRequest(stream: s, method: "POST", path: "/up/\(s)", endStream: false)
            }
            // 5 rounds of 1,000 bytes on every stream: 100,000 bytes, above the connection's 65,535.
            var connectionSent = 0
            for round in 0..<5 {
                for s in streams {
                    let ok = await waitUntil(timeout: 10) { 65535 + Self.credit(c, 0) - connectionSent >= 1000 }
                    #expect(ok, "connection window never reopened (round \(round), stream \(s))")
                    try await c.raw.send(Self.data(s, [UInt8](repeating: UInt8(s), count: 1000), end: round == 4))
                    connectionSent += 1000
                }
            }
            await c.waitEnded(streams, timeout: 20)
            for s in streams {
                #expect(c.status(s) == "200", "stream \(s): \(String(describing: c.status(s))) reset \(String(describing: c.reset(s)))")
                #expect(c.body(s).contains("bytes=5000"), "stream \(s): \(c.body(s))")
            }
            #expect(b.requests.filter { $0.method == "POST" && $0.bodyCount == 5000 }.count == streams.count)
            #expect(c.goAway == nil)
            c.raw.close()
            await proxy.stop()
            await b.stop()
        }

        @Test("A request body four times the initial window is forwarded as the server gives the window back")
        func bodyLargerThanWindow() async throws {
            let b = try await TestBackend.start("s1") { _ in .echo }
            let proxy = try await ProxyProcess { Self.config($0, b) }
            let c = try await H2Client.connect(port: proxy.port)
            try await c.sendRequest(stream: 1, method: "POST", path: "/upload", [("content-length", "262144")], endStream: false)
            var connectionSent = 0
            let sent = try await Self.sendBody(c, stream: 1, total: 262_144, fill: 0x61, connectionSent: &connectionSent)
            #expect(sent, "the window was not given back (stream credit \(Self.credit(c, 1)), connection \(Self.credit(c, 0)))")
            await c.waitEnded([1], timeout: 20)
            #expect(c.status(1) == "200")
            #expect(c.body(1).contains("bytes=262144"), "\(c.body(1))")
            #expect(Self.credit(c, 1) > 0 && Self.credit(c, 0) > 0)
            c.raw.close()
            await proxy.stop()
            await b.stop()
        }

        @Test("A response larger than the client's window waits for its WINDOW_UPDATEs, then the connection goes on")
        func responseLargerThanWindow() async throws {
            let total = 5 * Payload.blockSize  // the backend streams whole blocks
            let b = try await TestBackend.start("s1") { r in r.path == "/big" ? .stream(total: total) : .echo }
            let proxy = try await ProxyProcess { Self.config($0, b) }
            let c = try await H2Client.connect(port: proxy.port)
            try await c.sendRequest(stream: 1, path: "/big")
            var given = 0
            func received() -> Int { c.frames.filter { $0.type == 0 && $0.stream == 1 }.reduce(0) { $0 + $1.payload.count } }
            // The server may send no more than the windows allow; give back what arrived until the end.
            while !c.ended(1) {
                let moved = await waitUntil(timeout: 10) { received() > given || c.ended(1) }
                guard moved else { break }
                let now = received()
                #expect(now <= 65535 + given, "the server sent beyond the client's window")
                if now > given {
                    try await c.raw.send(Self.windowUpdate(1, now - given) + Self.windowUpdate(0, now - given))
                    given = now
                }
            }
            #expect(c.status(1) == "200")
            #expect(received() == total)
            try await c.sendRequest(stream: 3, path: "/after")
            await c.waitEnded([3])
            #expect(c.status(3) == "200")
            c.raw.close()
            await proxy.stop()
            await b.stop()
        }

        @Test("RST_STREAM in the middle of a request body ends that stream only")
        func resetMidBody() async throws {
            let b = try await TestBackend.start("s1") { _ in .echo }
            let proxy = try await ProxyProcess { Self.config($0, b) }
            let c = try await H2Client.connect(port: proxy.port)
            try await c.sendRequest(stream: 1, method: "POST", path: "/partial", [("content-length", "10000")], endStream: false)
            try await c.raw.send(Self.data(1, [UInt8](repeating: 0x62, count: 4000)))
            try await c.raw.send(H2Client.frame(type: H2Client.rstStream, flags: 0, stream: 1,
                                                payload: [0, 0, 0, UInt8(Self.cancel)]))
            try await c.sendRequest(stream: 3, path: "/after")
            await c.waitEnded([3])
            #expect(c.status(3) == "200")
            #expect(c.body(3).contains("uri=/after"))
            #expect(c.goAway == nil && !c.raw.isClosed)
            #expect(!b.requests.contains { $0.path == "/partial" && $0.bodyCount == 10000 })
            c.raw.close()
            await proxy.stop()
            await b.stop()
        }

        @Test("A client GOAWAY while streams are in flight: those streams are still answered")
        func clientGoAwayInFlight() async throws {
            let b = try await HTTP2Streams.slowBackend(ms: 300)
            let proxy = try await ProxyProcess { Self.config($0, b) }
            let c = try await H2Client.connect(port: proxy.port)
            try await c.sendRequest(stream: 1, path: "/slow/1")
            try await c.sendRequest(stream: 3, path: "/slow/3")
            // GOAWAY(last stream 0, NO_ERROR): the client opens nothing more; its streams go on.
            try await c.raw.send(H2Client.frame(type: H2Client.goAway, flags: 0, stream: 0, payload: [0, 0, 0, 0, 0, 0, 0, 0]))
            await c.waitEnded([1, 3])
            #expect(c.status(1) == "200")
            #expect(c.status(3) == "200")
            #expect(c.body(3).contains("uri=/slow/3"))
            c.raw.close()
            await proxy.stop()
            await b.stop()
        }
    }
}
