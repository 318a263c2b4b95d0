import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// How a server-side connection's channel is made: the connect itself, socket options and receive
/// buffers. The pipeline inside it is the caller's (`initializer`).
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
    /// (`ClientBootstrap` sets TCP_NODELAY itself; the receive buffers are set in the initializer
    /// through `syncOptions`: each bootstrap option costs existential casts and a future per connection.)
    static func bootstrap(on loop: EventLoop, connectTimeoutMs: Int,
                          initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) -> ClientBootstrap {
        ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(Int64(connectTimeoutMs)))
            .channelInitializer { channel in
                do {
                    try channel.syncOptions?.setOption(.recvAllocator, value: receiveBuffers)
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                return initializer(channel)
            }
    }

    /// Connects to `address` and wraps the connected socket in a channel on `loop`.
    ///
    /// A TCP server is connected with a plain non-blocking `connect` first: on loopback (and to any
    /// server whose handshake completes inside the call) the socket is connected when `connect`
    /// returns (a zero-timeout `poll` tells), and NIO only adopts it (`withConnectedSocket`): no
    /// connect promise, no connect-timeout task (whose cancellation scans the loop's whole timer heap,
    /// one timer per client connection), no write-interest registration and wake-up. A connect still
    /// in progress is awaited on the probe reactor's thread (`poll`, with the connect timeout), then
    /// adopted the same way. UNIX sockets (FastCGI) keep NIO's connect.
    ///
    /// The connection counts in `pool` (its server's open connections, for the idle bound) from
    /// success to close. Called on `loop`.
    static func connect(on loop: EventLoop, to address: SocketAddress, connectTimeoutMs: Int, pool: UpstreamPool, key: UpstreamKey,
                        initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) -> EventLoopFuture<Channel> {
        open(on: loop, to: address, connectTimeoutMs: connectTimeoutMs, initializer: initializer)
            .assumeIsolated()
            .map { channel in
                pool.opened(key)
                channel.closeFuture.assumeIsolated().whenComplete { _ in pool.closed(key) }
                return channel
            }
            .nonisolated()
    }

    private static func open(on loop: EventLoop, to address: SocketAddress, connectTimeoutMs: Int,
                             initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>) -> EventLoopFuture<Channel> {
        let bootstrap = bootstrap(on: loop, connectTimeoutMs: connectTimeoutMs, initializer: initializer)
        guard address.protocol == .inet || address.protocol == .inet6 else { return bootstrap.connect(to: address) }
        let fd = socket(address.protocol.rawValue, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return loop.makeFailedFuture(IOError(errnoCode: errno, reason: "socket")) }
        let rc = address.withSockAddr { Glibc.connect(fd, $0, socklen_t($1)) }
        let err = rc == 0 ? 0 : errno
        switch err {
        case 0:
            return bootstrap.withConnectedSocket(fd)
        case EINPROGRESS where connectedAlready(fd):
            return bootstrap.withConnectedSocket(fd)
        case EINPROGRESS, EINTR:
            let promise = loop.makePromise(of: Channel.self)
            awaitConnect(fd, timeoutMs: connectTimeoutMs, loop: loop, initializer: initializer, promise: promise)
            return promise.futureResult
        default:
            close(fd)
            return loop.makeFailedFuture(IOError(errnoCode: err, reason: "connect"))
        }
    }

    /// Whether a connect that said EINPROGRESS has completed by now. A non-blocking loopback connect
    /// always says EINPROGRESS (the SYN-ACK is processed when the socket lock is released, after the
    /// state check), yet the handshake is done when the call returns: a zero-timeout `poll` sees it.
    /// A failed connect is left to the reactor path, which reports its SO_ERROR.
    private static func connectedAlready(_ fd: CInt) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&entry, 1, 0) == 1, entry.revents & Int16(POLLOUT) != 0, entry.revents & Int16(POLLERR | POLLHUP) == 0 else {
            return false
        }
        var soError: CInt = 0
        var len = socklen_t(MemoryLayout<CInt>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len) == 0 && soError == 0
    }

    /// Waits on the reactor thread until `fd` is writable (connected or failed) or the timeout passes.
    private static func awaitConnect(_ fd: CInt, timeoutMs: Int, loop: EventLoop,
                                     initializer: @escaping @Sendable (Channel) -> EventLoopFuture<Void>,
                                     promise: EventLoopPromise<Channel>) {
        let reactor = ProbeReactor.shared
        reactor.submit {
            var finished = false
            let deadline = reactor.after(ms: Int64(max(1, timeoutMs))) {
                guard !finished else { return }
                finished = true
                reactor.unwatch(fd)
                close(fd)
                promise.fail(ChannelError.connectTimeout(.milliseconds(Int64(timeoutMs))))
            }
            reactor.watch(fd, events: Int16(POLLOUT)) { _ in
                guard !finished else { return }
                finished = true
                deadline.cancel()
                var soError: CInt = 0
                var len = socklen_t(MemoryLayout<CInt>.size)
                if getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len) != 0 { soError = errno }
                guard soError == 0 else {
                    close(fd)
                    promise.fail(IOError(errnoCode: soError, reason: "connect"))
                    return
                }
                loop.execute {
                    UpstreamConnector.bootstrap(on: loop, connectTimeoutMs: timeoutMs, initializer: initializer)
                        .withConnectedSocket(fd).cascade(to: promise)
                }
            }
        }
    }
}
