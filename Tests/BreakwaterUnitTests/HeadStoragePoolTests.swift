@testable import BreakwaterHTTP
import BreakwaterHTTP1Wire
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOPosix
import Testing

/// The per-event-loop pool idle client connections return their head storage to: bounded, reused
/// by the next head, handed back only by an idle connection, one pool per loop.
@Suite struct HeadStoragePoolTests {
    static let request = Array("GET /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n".utf8)

    /// A request decoder on an embedded channel that returns its storage to `pool`.
    func decoderChannel(_ pool: HeadStoragePool) -> (HTTP1RequestDecoder, EmbeddedChannel) {
        let decoder = HTTP1RequestDecoder(limits: HTTP1Limits(), storagePool: pool)
        return (decoder, EmbeddedChannel(handler: ByteToMessageHandler(decoder)))
    }

    func readParts(_ channel: EmbeddedChannel) throws -> [HTTPServerRequestPart] {
        var parts: [HTTPServerRequestPart] = []
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) { parts.append(part) }
        return parts
    }

    func uris(_ parts: [HTTPServerRequestPart]) -> [String] {
        parts.compactMap { if case .head(let h) = $0 { return h.uri } else { return nil } }
    }

    @Test("bounded: storage beyond the limit is freed, not kept")
    func bounded() {
        let pool = HeadStoragePool(limit: 2)
        for _ in 0..<3 { pool.giveBack(HTTP1HeadStorage(reservingBytes: 64, fields: 4)) }
        for _ in 0..<3 { pool.giveBack(ByteBuffer(string: "x")) }
        #expect(pool.headStorageCount == 2)
        #expect(pool.bufferCount == 2)
        #expect(pool.takeHeadStorage() != nil)
        #expect(pool.takeHeadStorage() != nil)
        #expect(pool.takeHeadStorage() == nil)
    }

    @Test("the bound follows the loop's busy connections: twice them, at least 16, at most the limit")
    func boundFollowsBusyConnections() {
        let pool = HeadStoragePool(limit: 100)
        #expect(pool.keepLimit == HeadStoragePool.minimumKept)
        for _ in 0..<30 { pool.connectionBecameBusy() }
        #expect(pool.keepLimit == 60)
        for _ in 0..<70 { pool.connectionBecameBusy() }
        #expect(pool.keepLimit == 100)
        for _ in 0..<100 { pool.connectionBecameIdle() }
        for _ in 0..<40 { pool.giveBack(HTTP1HeadStorage(reservingBytes: 64, fields: 4)) }
        #expect(pool.headStorageCount == HeadStoragePool.minimumKept, "all idle: only the minimum stays")
        pool.connectionBecameIdle()
        #expect(pool.busyConnections == 0)
    }

    @Test("a decoder counts as busy from its request's first byte until it idles or goes away")
    func decoderBusyCount() throws {
        let pool = HeadStoragePool()
        let (decoder, channel) = decoderChannel(pool)
        try channel.writeInbound(ByteBuffer(bytes: Self.request))
        _ = try readParts(channel)
        #expect(pool.busyConnections == 1)
        decoder.releaseIdleStorage()
        #expect(pool.busyConnections == 0)
        try channel.writeInbound(ByteBuffer(bytes: Self.request))
        _ = try readParts(channel)
        #expect(pool.busyConnections == 1)
        _ = try? channel.finish()
        #expect(pool.busyConnections == 0, "a connection closed while busy is no longer counted")
    }

    @Test("a scanner's next head is parsed into adopted storage (its capacity is kept)")
    func adoptedStorageIsReused() throws {
        var scanner = HTTP1MessageScanner(kind: .request)
        scanner.adoptIdleStorage(HTTP1HeadStorage(reservingBytes: 3000, fields: 40))
        var buffer = ByteBuffer(bytes: Self.request)
        let event = scanner.next(consuming: &buffer).event
        guard case .head(let head) = event else {
            Issue.record("no head")
            return
        }
        #expect(head.bytes.capacity >= 3000, "parsed into the adopted array, not a fresh one of \(Self.request.count)")
        #expect(head.fields.capacity >= 40)
        #expect(head.bytes == Self.request)
    }

    @Test("an idle scanner hands its arrays out; one with a head begun keeps them")
    func idleOnly() throws {
        var scanner = HTTP1MessageScanner(kind: .request)
        var buffer = ByteBuffer(bytes: Self.request)
        let first = scanner.next(consuming: &buffer).event
        let second = scanner.next(consuming: &buffer).event
        #expect(first != .needMore)  // the head
        #expect(second == .end)
        let taken = scanner.takeIdleStorage()
        let storage = try #require(taken)
        #expect(storage.byteCapacity >= Self.request.count)
        let again = scanner.takeIdleStorage()
        #expect(again == nil, "given once")

        var started = HTTP1MessageScanner(kind: .request)
        var twoHeads = ByteBuffer(bytes: Self.request + Array("GET /b HT".utf8))
        _ = started.next(consuming: &twoHeads)
        _ = started.next(consuming: &twoHeads)
        let third = started.next(consuming: &twoHeads).event
        #expect(third == .needMore)
        let fromStarted = started.takeIdleStorage()
        #expect(fromStarted == nil, "the next head has begun: its bytes stay")
    }

    @Test("a decoder returns its storage when the connection goes idle and takes it back at the next byte")
    func returnOnIdleTakeOnNextRequest() throws {
        let pool = HeadStoragePool()
        let (decoder, channel) = decoderChannel(pool)
        try channel.writeInbound(ByteBuffer(bytes: Self.request))
        #expect(uris(try readParts(channel)) == ["/a"])
        decoder.releaseIdleStorage()
        #expect(pool.headStorageCount == 1)
        decoder.releaseIdleStorage()
        #expect(pool.headStorageCount == 1, "released once per idle period")

        try channel.writeInbound(ByteBuffer(string: "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(uris(try readParts(channel)) == ["/b"])
        #expect(pool.headStorageCount == 0, "the next request took the storage back")
        _ = try? channel.finish()
    }

    @Test("storage moves between connections of one loop; the heads stay byte for byte")
    func sharedWithinALoop() throws {
        let pool = HeadStoragePool()
        let (first, a) = decoderChannel(pool)
        let (_, b) = decoderChannel(pool)
        let long = "GET /long HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "p", count: 900))\r\n\r\n"
        try a.writeInbound(ByteBuffer(string: long))
        _ = try readParts(a)
        first.releaseIdleStorage()
        #expect(pool.headStorageCount == 1)
        try b.writeInbound(ByteBuffer(bytes: Self.request))
        let parts = try readParts(b)
        #expect(uris(parts) == ["/a"])
        if case .head(let h)? = parts.first {
            #expect(h.headers.map { "\($0.name): \($0.value)" } == ["Host: x", "X-A: 1"], "no byte of the earlier head")
        }
        #expect(pool.headStorageCount == 0)
        _ = try? a.finish()
        _ = try? b.finish()
    }

    @Test("pipelined bytes already here: nothing is released")
    func pendingBytesKeepStorage() throws {
        let pool = HeadStoragePool()
        let (decoder, channel) = decoderChannel(pool)
        try channel.writeInbound(ByteBuffer(bytes: Self.request + Array("GET /next HTTP/1.1\r\n".utf8)))
        #expect(uris(try readParts(channel)) == ["/a"])
        decoder.releaseIdleStorage()
        #expect(pool.headStorageCount == 0)
        try channel.writeInbound(ByteBuffer(string: "Host: y\r\n\r\n"))
        #expect(uris(try readParts(channel)) == ["/next"])
        _ = try? channel.finish()
    }

    @Test("the response head buffer goes to the pool and the next head takes it")
    func headBufferGoesBack() {
        let pool = HeadStoragePool()
        var kept = ReusableHeadBuffer()
        var buffer = kept.take(ByteBufferAllocator(), capacity: 100, pool: pool)
        buffer.writeString("HTTP/1.1 200 OK\r\n\r\n")
        kept.keep(buffer)
        buffer = ByteBuffer()
        kept.giveBack(to: pool)
        #expect(pool.bufferCount == 1)
        let next = kept.take(ByteBufferAllocator(), capacity: 100, pool: pool)
        #expect(pool.bufferCount == 0)
        #expect(next.readableBytes == 0)
        #expect(next.capacity >= 100)
    }

    @Test("one pool per event loop, never shared across loops")
    func onePoolPerLoop() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        let pools = UpstreamPools(group: group, maxIdlePerServer: 10)
        let loops = Array(group.makeIterator())
        let ids = try loops.map { loop in
            try loop.submit { ObjectIdentifier(pools.headStorage(for: loop)!) }.wait()
        }
        let again = try loops[0].submit { ObjectIdentifier(pools.headStorage(for: loops[0])!) }.wait()
        #expect(ids[0] != ids[1])
        #expect(again == ids[0])
    }
}
