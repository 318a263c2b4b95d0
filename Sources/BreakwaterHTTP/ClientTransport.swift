import BreakwaterACL
import BreakwaterTLS
import NIOCore
import NIOHTTP1

/// What `HTTPProxyHandler` needs of its client side, so one request logic serves both an HTTP/1.1
/// connection (its own pipeline context) and an HTTP/2 stream (state inside the connection's frame
/// handler, with no channel or pipeline of its own).
///
/// Every member is used on the transport's event loop only.
protocol ClientTransport: AnyObject {
    var eventLoop: EventLoop { get }
    var clientAllocator: ByteBufferAllocator { get }
    /// The listening address the client connected to (FastCGI's SERVER_ADDR / SERVER_PORT).
    var clientLocalAddress: SocketAddress? { get }
    /// False while the client side cannot take more output: the server's reads pause until
    /// `HTTPProxyHandler.clientWritabilityChanged()`.
    var clientIsWritable: Bool { get }
    var clientIsActive: Bool { get }
    /// Completes when the client side is gone.
    var clientCloseFuture: EventLoopFuture<Void> { get }
    /// The facts of the client connection, the same for every request on it.
    func clientFacts(isTLS: Bool) -> ClientConnectionFacts
    func writeResponse(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?)
    func flushResponse()
    /// Ends the client side: closes an HTTP/1.1 connection, resets an unfinished HTTP/2 stream.
    func closeClient()
    /// More request input is wanted (it was withheld for back-pressure).
    func readRequest()
}

extension ClientTransport {
    func writeAndFlushResponse(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?) {
        writeResponse(part, promise: promise)
        flushResponse()
    }
}

/// Who the client is, computed once per connection: the log's address and port, the address bytes
/// rules and stick tables key on, and the TLS facts of `ssl_fc_*` fetches (nil on clear text).
struct ClientConnectionFacts {
    var address = "-"
    var port = 0
    var addressBytes: [UInt8]?
    var tls: ACLTLSInfo?

    init(remote: SocketAddress?, tlsChannel: Channel?) {
        if let remote {
            address = remote.ipAddress ?? "unix"
            port = remote.port ?? 0
            addressBytes = HTTPProxyHandler.addressBytes(remote)
        }
        if let tlsChannel, let handler = try? tlsChannel.pipeline.syncOperations.handler(type: OpenSSLServerHandler.self),
           let info = handler.info {
            tls = ACLTLSInfo(sni: info.serverName, protocolVersion: info.protocolVersion, resumed: info.resumed)
        }
    }
}

/// An HTTP/1.1 connection's transport is the proxy handler's own context: no object in between.
extension ChannelHandlerContext: ClientTransport {
    var clientAllocator: ByteBufferAllocator { channel.allocator }
    var clientLocalAddress: SocketAddress? { channel.localAddress }
    var clientIsWritable: Bool { channel.isWritable }
    var clientIsActive: Bool { channel.isActive }
    var clientCloseFuture: EventLoopFuture<Void> { channel.closeFuture }

    func clientFacts(isTLS: Bool) -> ClientConnectionFacts {
        ClientConnectionFacts(remote: channel.remoteAddress, tlsChannel: isTLS ? channel : nil)
    }

    func writeResponse(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?) {
        write(NIOAny(part), promise: promise)
    }

    func flushResponse() { flush() }
    func closeClient() { close(promise: nil) }
    func readRequest() { read() }
}
