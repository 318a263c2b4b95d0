import BreakwaterConfigModel
import Logging
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The `stats socket` listeners: UNIX sockets created with the configured mode,
/// or TCP on loopback. Control plane: never on the proxy's request path.
public final class AdminServer: Sendable {
    let commands: AdminCommands
    let group: EventLoopGroup
    let logger: Logger
    let timeoutMs: Int
    private let channels: Mutex<[Channel]> = Mutex([])
    private let owned: Mutex<[OwnedSocket]> = Mutex([])

    struct OwnedSocket: Sendable {
        let key: String
        let fd: Int32
        let address: StatsSocketConfig.Address
        let file: AdminListenerSockets.FileIdentity?
        /// false when inherited from the predecessor.
        let created: Bool
    }

    init(commands: AdminCommands, group: EventLoopGroup, logger: Logger, timeoutMs: Int) {
        self.commands = commands
        self.group = group
        self.logger = logger
        self.timeoutMs = timeoutMs
    }

    public convenience init(runtime: ProxyRuntimeHandle, group: EventLoopGroup, logger: Logger,
                            stopping: @escaping @Sendable () -> Bool) {
        self.init(
            commands: AdminCommands(runtime: runtime.runtime, server: runtime.server, stopping: stopping,
                                    nbthread: runtime.nbthread),
            group: group, logger: logger, timeoutMs: runtime.runtime.snapshot.global.statsTimeoutMs)
    }

    /// Opens every `stats socket`, reusing the sockets `inherited` from the process this one replaces
    /// (hitless reload). On failure it closes what it opened and removes only the socket files it
    /// created itself, so a failed successor leaves its predecessor's sockets as they were. The error
    /// names the config line, the socket and the OS error.
    public func start(_ sockets: [StatsSocketConfig], inherited: [String: Int32] = [:]) async throws {
        for socket in sockets {
            let key = AdminListenerSockets.key(socket.address)
            do {
                let fd: Int32
                let adopted = inherited[key]
                if let adopted {
                    fd = adopted
                    ListenerSockets.makeNonInheritable(fd)
                } else {
                    switch socket.address {
                    case .unix(let path): fd = try AdminListenerSockets.openUnix(path: path, mode: socket.mode)
                    case .tcp(let host, let port): fd = try AdminListenerSockets.openTCP(host: host, port: port)
                    }
                }
                var identity: AdminListenerSockets.FileIdentity?
                if case .unix(let path) = socket.address { identity = .of(path) }
                owned.withLock {
                    $0.append(OwnedSocket(key: key, fd: fd, address: socket.address, file: identity, created: adopted == nil))
                }
                let channel = try await makeBootstrap(level: socket.level).withBoundSocket(fd).get()
                channels.withLock { $0.append(channel) }
                logger.info("admin socket on \(key) (level \(socket.level))\(adopted != nil ? " (inherited)" : "")")
            } catch {
                await stop()
                removeSocketFiles(createdOnly: true)
                throw AdminListenerSockets.OpenError(
                    what: "\(socket.location.file):\(socket.location.line): 'stats socket'",
                    reason: "\(error)")
            }
        }
        for (key, fd) in inherited where !owned.withLock({ $0.contains { $0.key == key } }) { close(fd) }
    }

    /// The admin listening sockets by key, for handing over to a successor process.
    public var listeningSockets: [(key: String, fd: Int32)] { owned.withLock { $0.map { ($0.key, $0.fd) } } }

    public func stop() async {
        for channel in channels.withLock({ $0 }) { try? await channel.close() }
    }

    /// Removes the UNIX socket files that are still this process's own: a path a successor has
    /// re-created since (another inode) is left alone. `createdOnly` spares inherited sockets.
    public func removeSocketFiles(createdOnly: Bool = false) {
        for socket in owned.withLock({ $0 }) where !createdOnly || socket.created {
            guard case .unix(let path) = socket.address, let mine = socket.file else { continue }
            if AdminListenerSockets.FileIdentity.of(path) == mine { unlink(path) }
        }
    }

    private func makeBootstrap(level: AdminLevel) -> ServerBootstrap {
        let commands = self.commands
        let timeoutMs = self.timeoutMs
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        AdminConnectionHandler(commands: commands, session: AdminSession(level: level), idleTimeoutMs: timeoutMs))
                }
            }
    }
}

/// Bundles what the admin socket reads from the proxy.
public struct ProxyRuntimeHandle: Sendable {
    public let runtime: BreakwaterHTTP.ProxyRuntime
    public let server: BreakwaterHTTP.ProxyServer
    public let nbthread: Int
    public init(runtime: BreakwaterHTTP.ProxyRuntime, server: BreakwaterHTTP.ProxyServer, nbthread: Int) {
        self.runtime = runtime
        self.server = server
        self.nbthread = nbthread
    }
}

import BreakwaterHTTP

/// One admin connection: reads lines, runs commands, writes each output plus an empty line.
final class AdminConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    static let maxLine = 64 * 1024

    let commands: AdminCommands
    let session: AdminSession
    let idleTimeoutMs: Int
    private var buffer: [UInt8] = []
    private var idleTimer: Scheduled<Void>?

    init(commands: AdminCommands, session: AdminSession, idleTimeoutMs: Int) {
        self.commands = commands
        self.session = session
        self.idleTimeoutMs = idleTimeoutMs
    }

    func channelActive(context: ChannelHandlerContext) {
        armTimer(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        buffer.append(contentsOf: incoming.readBytes(length: incoming.readableBytes) ?? [])
        armTimer(context: context)
        while let nl = buffer.firstIndex(of: 0x0A) {
            var lineBytes = Array(buffer[..<nl])
            buffer.removeSubrange(...nl)
            if lineBytes.last == 0x0D { lineBytes.removeLast() }
            handle(line: String(decoding: lineBytes, as: UTF8.self), context: context)
            if !context.channel.isActive { return }
        }
        if buffer.count > Self.maxLine {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        context.fireChannelInactive()
    }

    private func handle(line: String, context: ChannelHandlerContext) {
        var out = ""
        for args in AdminLineParser.commands(line) {
            let text = commands.execute(args, session: session)
            if args == ["prompt"] || args == ["quit"] { out += text } else { out += text + "\n" }
            if session.wantsClose { break }
        }
        if session.interactive && !session.wantsClose { out += "> " }
        var b = context.channel.allocator.buffer(capacity: out.utf8.count)
        b.writeString(out)
        let closeAfter = session.wantsClose || !session.interactive
        context.writeAndFlush(wrapOutboundOut(b)).assumeIsolated().whenComplete { _ in
            if closeAfter { context.close(promise: nil) }
        }
    }

    private func armTimer(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        guard idleTimeoutMs > 0 else { return }
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(idleTimeoutMs))) {
            context.close(promise: nil)
        }
    }
}
