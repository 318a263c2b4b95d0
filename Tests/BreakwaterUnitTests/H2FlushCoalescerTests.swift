import NIOCore
import NIOEmbedded
import Testing
@testable import BreakwaterHTTP

/// The HTTP/2 connection's flush coalescer: every flush of one event-loop tick becomes one flush at
/// the end of the tick, and nothing waiting for it is overtaken by a close.
@Suite struct H2FlushCoalescerTests {
    /// Stands in for the transport: records the order of writes, flushes and closes reaching it.
    final class TransportRecorder: ChannelOutboundHandler {
        typealias OutboundIn = IOData
        var events: [String] = []
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .byteBuffer(let b) = unwrapOutboundIn(data) { events.append("write \(String(buffer: b))") }
            context.write(data, promise: promise)
        }
        func flush(context: ChannelHandlerContext) {
            events.append("flush")
            context.flush()
        }
        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            events.append("close")
            context.close(mode: mode, promise: promise)
        }
    }

    static func make() throws -> (EmbeddedChannel, TransportRecorder, H2FlushCoalescer) {
        let recorder = TransportRecorder()
        let coalescer = H2FlushCoalescer()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(recorder)
        try channel.pipeline.syncOperations.addHandler(coalescer)
        return (channel, recorder, coalescer)
    }

    @Test("three streams' flushes in one tick reach the transport as one flush, after all their writes")
    func oneFlushPerTick() throws {
        let (channel, recorder, coalescer) = try Self.make()
        for stream in 1...3 {
            channel.write(NIOAny(ByteBuffer(string: "s\(stream)")), promise: nil)
            channel.flush()
        }
        #expect(recorder.events == ["write s1", "write s2", "write s3"])
        channel.embeddedEventLoop.run()
        #expect(recorder.events == ["write s1", "write s2", "write s3", "flush"])
        #expect(coalescer.deferredFlushes == 3 && coalescer.madeFlushes == 1)
        // The next tick gets its own flush.
        channel.write(NIOAny(ByteBuffer(string: "s4")), promise: nil)
        channel.flush()
        channel.embeddedEventLoop.run()
        #expect(recorder.events.suffix(2) == ["write s4", "flush"])
        #expect(try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } == "s1")
        _ = try channel.finish()
    }

    @Test("a close in the same tick flushes the pending output first (GOAWAY, last DATA frame)")
    func closeFlushesFirst() throws {
        let (channel, recorder, _) = try Self.make()
        channel.write(NIOAny(ByteBuffer(string: "goaway")), promise: nil)
        channel.flush()
        channel.close(promise: nil)
        #expect(recorder.events == ["write goaway", "flush", "close"])
        channel.embeddedEventLoop.run()
        #expect(recorder.events == ["write goaway", "flush", "close"], "no second flush after the close")
    }
}
