import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A pipelining RESP2 client over one connection: commands go out in one flush, replies complete their futures in
/// order. Callable from any thread; the futures complete on the channel's event loop.
public final class RESPClient: Sendable {
    let channel: any Channel

    init(channel: any Channel) { self.channel = channel }

    public static func connect(host: String, port: Int, group: any EventLoopGroup) -> EventLoopFuture<RESPClient> {
        ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(5))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RESPDecoder()))
                    try channel.pipeline.syncOperations.addHandler(RESPReplyMatcher())
                }
            }
            .connect(host: host, port: port)
            .map { RESPClient(channel: $0) }
    }

    /// Sends every command in one write and flush; one future per command, in order.
    public func pipeline(_ commands: [[String]]) -> [EventLoopFuture<RESPValue>] {
        var buffer = channel.allocator.buffer(capacity: 256 * commands.count)
        for c in commands { RESPValue.writeCommand(c, into: &buffer) }
        return send(buffer, commands: commands.count)
    }

    /// `pipeline` for commands with binary arguments.
    public func pipeline(binary commands: [[[UInt8]]]) -> [EventLoopFuture<RESPValue>] {
        var buffer = channel.allocator.buffer(capacity: 256 * commands.count)
        for c in commands { RESPValue.writeCommand(c, into: &buffer) }
        return send(buffer, commands: commands.count)
    }

    private func send(_ buffer: ByteBuffer, commands: Int) -> [EventLoopFuture<RESPValue>] {
        let promises = (0..<commands).map { _ in channel.eventLoop.makePromise(of: RESPValue.self) }
        channel.writeAndFlush(RESPReplyMatcher.Outbound(bytes: buffer, promises: promises), promise: nil)
        return promises.map(\.futureResult)
    }

    public func send(_ command: [String]) -> EventLoopFuture<RESPValue> { pipeline([command])[0] }

    public var isActive: Bool { channel.isActive }

    /// The loop the replies complete on (for a caller's timeout).
    public var eventLoop: any EventLoop { channel.eventLoop }

    public func close() { channel.close(promise: nil) }
}

/// Matches replies to the promises of the commands written, first in, first out; fails the rest on close or error.
final class RESPReplyMatcher: ChannelDuplexHandler {
    struct Outbound {
        var bytes: ByteBuffer
        var promises: [EventLoopPromise<RESPValue>]
    }

    typealias InboundIn = RESPValue
    typealias OutboundIn = Outbound
    typealias OutboundOut = ByteBuffer

    private var waiting = CircularBuffer<EventLoopPromise<RESPValue>>()

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let out = unwrapOutboundIn(data)
        guard context.channel.isActive else {
            for p in out.promises { p.fail(RESPProtocolError(description: "the Redis connection is closed")) }
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        waiting.append(contentsOf: out.promises)
        context.write(wrapOutboundOut(out.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let p = waiting.popFirst() else {
            context.fireErrorCaught(RESPProtocolError(description: "Redis sent a reply no command asked for"))
            context.close(promise: nil)
            return
        }
        p.succeed(unwrapInboundIn(data))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RESPProtocolError(description: "the Redis connection closed"))
        context.fireChannelInactive()
    }

    private func failAll(_ error: any Error) {
        while let p = waiting.popFirst() { p.fail(error) }
    }
}
