import NIOCore
import NIOPosix

/// How a server-side connection's channel is made: its socket options and receive buffers.
///
/// Every server connection may outlive its request by seconds in the pool, and under
/// `http-reuse safe` there is one per client that made a request, so what a channel keeps while idle
/// is paid per client connection (bench/RESULTS.md, "many connections").
enum UpstreamConnector {
    /// A response head fits in 512 bytes (nginx's is ~250); a body grows the buffer within the same
    /// wake-up (x16 after a full read) up to 64 KiB. NIO's default starts at 2 KiB, and the channel's
    /// receive-buffer pool keeps that buffer for the connection's whole life, idle or not.
    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65_536)

    /// A bootstrap for one server connection on `loop` (the client connection's loop).
    static func bootstrap(on loop: EventLoop, connectTimeoutMs: Int) -> ClientBootstrap {
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: receiveBuffers)
            .connectTimeout(.milliseconds(Int64(connectTimeoutMs)))
    }
}
