import BreakwaterConfigModel
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Owns the listeners of every frontend and the client connections they accept.
///
/// `start`, `stopAccepting` and `drain` are control-plane calls (async, any task); the connections
/// themselves run entirely on the event loops.
public final class ProxyServer: Sendable {
    public let runtime: ProxyRuntime
    let group: EventLoopGroup
    let pools: UpstreamPools
    let gate = AcceptGate()
    let registry = ConnectionRegistry()
    /// TLS contexts and ticket-key rings of the TLS binds (spec §11).
    public let tls = TLSBindings()
    private let listeners: NIOLockedListeners = NIOLockedListeners()
    private let listenerFDs = ListenerFDs()
    let logger: Logger

    public init(runtime: ProxyRuntime, group: EventLoopGroup, logger: Logger) {
        self.runtime = runtime
        self.group = group
        self.logger = logger
        pools = UpstreamPools(group: group, maxIdlePerServer: runtime.snapshot.global.maxIdleConnectionsPerServer)
    }

    /// Binds every `bind` of every frontend, reusing sockets inherited from a previous process
    /// (hitless reload). Throws (naming the address) if one cannot be bound.
    ///
    /// Each bind gets one listening socket per event loop (SO_REUSEPORT), each accepted and served by
    /// its own loop: a connection is registered on the loop that accepted it, with no hand-off to
    /// another loop (a task and an eventfd wake-up per connection) and no single accepting thread.
    public func start(inherited: [String: [Int32]] = [:]) async throws {
        pools.startPurging(group: group)
        // Expired idle stick-table entries go within a second of their expiry (spec STK-8).
        for table in runtime.tables.values {
            group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
                _ = table.purgeExpired(now: stickNow())
            }
        }
        let limits = Self.decoderLimits(runtime.snapshot.global)
        try prepareTLS()
        let loops = Array(group.makeIterator())
        var used: Set<Int32> = []
        for frontend in runtime.frontends {
            for bind in frontend.config.binds {
                let key = ListenerSockets.key(host: bind.host, port: bind.port)
                let backlog = runtime.snapshot.listenBacklog(for: bind, in: frontend.config)
                let adopted = (inherited[key] ?? []).filter { !used.contains($0) }
                var fds = adopted
                for fd in adopted { ListenerSockets.makeNonInheritable(fd) }
                do {
                    // Port 0: the first socket's kernel-chosen port is the group's.
                    var port = bind.port
                    if port == 0, let first = fds.first, let chosen = ListenerSockets.boundPort(first) { port = chosen }
                    while fds.count < loops.count {
                        let fd = try ListenerSockets.open(host: bind.host, port: port, backlog: backlog)
                        fds.append(fd)
                        if port == 0, let chosen = ListenerSockets.boundPort(fd) { port = chosen }
                    }
                } catch var e as ListenerSockets.OpenError {
                    for fd in fds where !adopted.contains(fd) { close(fd) }
                    e.context = "\(bind.location.file):\(bind.location.line): frontend '\(frontend.config.name)'"
                    throw e
                }
                // Every inherited socket is served, even beyond one per loop (a predecessor with more
                // threads): an unpolled member of the group would strand the connections hashed to it.
                for (i, fd) in fds.enumerated() {
                    used.insert(fd)
                    let loop = loops[i % loops.count]
                    let channel = try await makeBootstrap(frontend: frontend, bind: bind, limits: limits, loop: loop)
                        .withBoundSocket(fd).get()
                    // NIO listens again with its own default (128) when it adopts a socket: set ours last.
                    _ = listen(fd, backlog)
                    listeners.append(channel)
                    listenerFDs.append(key, fd)
                }
                let how = adopted.isEmpty ? "" : " (inherited \(adopted.count) of \(fds.count) sockets)"
                logger.notice("Proxy \(frontend.config.name) started on \(bind.host):\(bind.port)\(how).")
            }
        }
        // Inherited sockets the new configuration no longer binds are closed.
        for fd in inherited.values.joined() where !used.contains(fd) { close(fd) }
    }

    /// The listening sockets by `host:port` (one per event loop for each bind), for handing over to a
    /// successor process.
    public var listeningSockets: [(key: String, fd: Int32)] { listenerFDs.all }

    /// Addresses actually bound (useful when a config binds port 0).
    public var boundAddresses: [SocketAddress] {
        listeners.all.compactMap { $0.localAddress }
    }

    public var activeConnections: Int { registry.count }

    /// Stops accepting without closing the listening sockets (a successor that inherited them takes
    /// over; only one process polls a shared socket at a time).
    public func pauseAccepting() async {
        for channel in listeners.all {
            try? await channel.setOption(.autoRead, value: false).get()
        }
    }

    /// Accepts again after `pauseAccepting` (the successor failed to take over).
    public func resumeAccepting() async {
        for channel in listeners.all {
            try? await channel.setOption(.autoRead, value: true).get()
            channel.read()
        }
    }

    /// Closes the listening sockets; established connections continue.
    public func stopAccepting() async {
        for channel in listeners.all {
            try? await channel.close()
        }
    }

    /// Graceful stop: stop accepting, let in-flight requests finish (idle keep-alive connections close
    /// at once), then after `grace` close whatever is left.
    public func drain(grace: TimeAmount) async {
        await stopAccepting()
        for channel in registry.all {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let deadline = NIODeadline.now() + grace
        while registry.count > 0 && NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        for channel in registry.all {
            try? await channel.close()
        }
        pools.closeAll(group: group)
    }

    private func makeBootstrap(frontend: FrontendRuntime, bind: BindConfig, limits: NIOHTTPDecoderLimitConfiguration,
                               loop: EventLoop) -> ServerBootstrap {
        let runtime = self.runtime
        let pools = self.pools
        let gate = self.gate
        let registry = self.registry
        let tlsContext = tls.context(for: bind)
        let bindLabel = Self.bindLabel(bind, in: frontend.config)
        // The listener's own loop serves every connection it accepts.
        return ServerBootstrap(group: loop, childGroup: loop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Accept in batches (HAProxy: tune.maxaccept 64) so a connection storm drains the queue
            // in few wake-ups instead of 4 connections per loop turn.
            .serverChannelOption(.maxMessagesPerRead, value: Self.acceptBatch)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AcceptLimitHandler(runtime: runtime, frontend: frontend, gate: gate, registry: registry))
                }
            }
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.setClientOptions(channel)
                    if let tlsContext {
                        try Self.configureTLS(channel, context: tlsContext, runtime: runtime, frontend: frontend, pools: pools,
                                              limits: limits, bindLabel: bindLabel)
                    } else if bind.h2PriorKnowledge {
                        try Self.configureHTTP2(channel, runtime: runtime, frontend: frontend, pools: pools, isTLS: false)
                    } else {
                        try Self.configurePlainHTTP(channel, runtime: runtime, frontend: frontend, pools: pools, limits: limits)
                    }
                }
            }
    }

    /// Connections accepted per wake-up of a listener.
    static let acceptBatch: UInt = 64

    /// Client reads are small; bound what each connection's receive buffer may grow to and keep.
    static let clientReceiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 16_384)

    /// A client connection's options, set in its initializer through `syncOptions` rather than as
    /// `childChannelOption`s, which NIO applies through existential casts and one future per option
    /// (15 % of a new connection's instructions: bench/callgrind.sh CHURN=1).
    static func setClientOptions(_ channel: Channel) throws {
        guard let options = channel.syncOptions else { return }
        try options.setOption(.socketOption(.tcp_nodelay), value: 1)
        // Two reads per wake-up: a keep-alive client sends one request at a time, so more only
        // lets one connection hold the loop longer, and each read slot may keep a pooled
        // receive buffer for the connection's whole life (NIOPooledRecvBufferAllocator).
        try options.setOption(.maxMessagesPerRead, value: 2)
        try options.setOption(.recvAllocator, value: clientReceiveBuffers)
    }

    static func decoderLimits(_ global: GlobalSettings) -> NIOHTTPDecoderLimitConfiguration {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = global.maxHeaderBytes
        limits.maxHeaderFieldSize = global.maxHeaderBytes
        limits.maxHeaderFieldCount = global.maxHeaderCount
        return limits
    }
}

final class ListenerFDs: Sendable {
    private let fds: Mutex<[(key: String, fd: Int32)]> = Mutex([])
    func append(_ key: String, _ fd: Int32) { fds.withLock { $0.append((key, fd)) } }
    var all: [(key: String, fd: Int32)] { fds.withLock { $0 } }
}

/// The listening channels, guarded for access from any task.
final class NIOLockedListeners: Sendable {
    private let channels: Mutex<[Channel]> = Mutex([])
    func append(_ c: Channel) { channels.withLock { $0.append(c) } }
    var all: [Channel] { channels.withLock { $0 } }
}
