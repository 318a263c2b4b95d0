import BreakwaterConfigModel
import Logging
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The `stats socket` listeners (spec GLB-4, CLI-1): UNIX sockets created with the configured mode,
/// or TCP on loopback. Control plane: never on the proxy's request path.
public final class AdminServer: Sendable {
    let commands: AdminCommands
    let group: EventLoopGroup
    let logger: Logger
    let timeoutMs: Int
    private let channels: Mutex<[Channel]> = Mutex([])

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

    public func start(_ sockets: [StatsSocketConfig]) async throws {
        for socket in sockets {
            let bootstrap = makeBootstrap(level: socket.level)
            switch socket.address {
            case .unix(let path):
                // Create the file with no access for others, then set the configured mode.
                let old = umask(0o177)
                defer { umask(old) }
                let channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
                chmod(path, mode_t(socket.mode))
                channels.withLock { $0.append(channel) }
                logger.info("admin socket on \(path) (level \(socket.level))")
            case .tcp(let host, let port):
                let channel = try await bootstrap.bind(host: host, port: port).get()
                channels.withLock { $0.append(channel) }
                logger.info("admin socket on \(host):\(port) (level \(socket.level))")
            }
        }
    }

    public func stop() async {
        for channel in channels.withLock({ $0 }) { try? await channel.close() }
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
