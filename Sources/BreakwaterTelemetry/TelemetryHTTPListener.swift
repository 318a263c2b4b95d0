import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// The telemetry API's listener: Hummingbird's HTTP/1 channel and router on a server socket of our own, because a
/// hitless reload needs what Hummingbird's bind does not offer: `SO_REUSEPORT` (the successor binds the same port
/// while this process still serves), and a reuseport BPF program that sends every new connection to the newest
/// socket of the group, so the old process's accept queue stays empty while it drains.
final class TelemetryHTTPListener: Sendable {
    typealias Child = HTTP1Channel.Value
    private let server: NIOAsyncChannel<Child, Never>
    private let children: NIOLockedValueBox<Children>
    private let acceptLoop: Task<Void, Never>

    /// Every open connection, the wrappers not yet taken by the accept loop, and whether the listener is stopping.
    /// A wrapper NIO could not deliver because the listener closed must still be finished (NIO traps on a dropped
    /// one), so `stop` finishes whatever is left unhandled; once stopping, new connections are closed at once.
    struct Children: Sendable {
        var open: [ObjectIdentifier: any Channel] = [:]
        var unhandled: [ObjectIdentifier: Child] = [:]
        var stopping = false
    }

    private init(server: NIOAsyncChannel<Child, Never>, children: NIOLockedValueBox<Children>, acceptLoop: Task<Void, Never>) {
        (self.server, self.children, self.acceptLoop) = (server, children, acceptLoop)
    }

    static func bind(host: String, port: Int, group: any EventLoopGroup, router: Router<BasicRequestContext>, logger: Logger) async throws -> TelemetryHTTPListener {
        let responder = router.buildResponder()
        let http1 = HTTP1Channel(responder: { request, responseWriter, channel in
            let context = BasicRequestContext(source: .init(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                response = Response(status: .internalServerError)
            }
            response.headers[.server] = "breakwater"
            try await responseWriter.write(response: response.head, body: response.body)
        })
        let children = NIOLockedValueBox(Children())
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(ChannelOptions.Types.SocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_REUSEPORT)), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .bind(host: host, port: port) { (channel: any Channel) -> EventLoopFuture<Child> in
                let id = ObjectIdentifier(channel)
                let stopping = children.withLockedValue { c in
                    if !c.stopping { c.open[id] = channel }
                    return c.stopping
                }
                if stopping {
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(ChannelError.ioOnClosedChannel)
                }
                channel.closeFuture.whenComplete { _ in _ = children.withLockedValue { $0.open.removeValue(forKey: id) } }
                return http1.setup(channel: channel, logger: logger).map { wrapper in
                    children.withLockedValue { $0.unhandled[id] = wrapper }
                    return wrapper
                }
            }
        do {
            try await steerNewConnectionsHere(server.channel)
        } catch {
            // Without steering a reload still works; connections queued on the old socket as it closes may be reset.
            logger.warning("telemetry: cannot attach the reuseport steering program on \(host):\(port): \(error)")
        }
        let acceptLoop = Task {
            await withDiscardingTaskGroup { tasks in
                do {
                    try await server.executeThenClose { inbound in
                        for try await child in inbound {
                            _ = children.withLockedValue { $0.unhandled.removeValue(forKey: ObjectIdentifier(child.channel)) }
                            tasks.addTask { await http1.handle(value: child, logger: logger) }
                        }
                    }
                } catch {
                    logger.debug("telemetry: the listener on \(host):\(port) stopped: \(error)")
                }
            }
        }
        return TelemetryHTTPListener(server: server, children: children, acceptLoop: acceptLoop)
    }

    /// Stops accepting, lets every connection finish its request in flight (idle keep-alive connections close at
    /// once), and closes what is left after `grace`.
    func stop(grace: Duration) async {
        children.withLockedValue { $0.stopping = true }
        try? await server.channel.close()
        for child in children.withLockedValue({ Array($0.open.values) }) {
            child.eventLoop.execute { child.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        }
        let acceptLoop = self.acceptLoop
        let children = self.children
        let deadline = Task {
            try? await Task.sleep(for: grace)
            for child in children.withLockedValue({ Array($0.open.values) }) { child.close(promise: nil) }
        }
        await acceptLoop.value
        deadline.cancel()
        // Accepted as the listener closed, never delivered to the loop: finish and close them.
        for wrapper in children.withLockedValue({ c in defer { c.unhandled = [:] }; return Array(c.unhandled.values) }) {
            try? await wrapper.executeThenClose { _, _ in }
        }
    }

    /// A one-instruction classic BPF program (`ret #1`) for the port's reuseport group: a new connection goes to
    /// socket 1, the newest while a reload overlaps two processes. With one socket the index is out of range and
    /// the kernel falls back to its hash, so a lone process is unaffected.
    private static func steerNewConnectionsHere(_ channel: any Channel) async throws {
        guard let provider = channel as? any SocketOptionProvider else { return }
        let filter = UnsafeMutablePointer<SocketFilter>.allocate(capacity: 1)
        filter.initialize(to: SocketFilter(code: 0x06 /* BPF_RET | BPF_K */, jt: 0, jf: 0, k: 1))
        defer { filter.deallocate() }
        let soAttachReuseportCBPF: CInt = 51
        try await provider.unsafeSetSocketOption(
            level: NIOBSDSocket.OptionLevel(rawValue: SOL_SOCKET), name: NIOBSDSocket.Option(rawValue: soAttachReuseportCBPF),
            value: SocketFilterProgram(len: 1, filter: filter)).get()
    }
}

/// `struct sock_filter` and `struct sock_fprog` of <linux/filter.h> (same layout).
struct SocketFilter {
    var code: UInt16
    var jt: UInt8
    var jf: UInt8
    var k: UInt32
}

struct SocketFilterProgram: @unchecked Sendable {
    var len: UInt16
    var filter: UnsafeMutablePointer<SocketFilter>
}
