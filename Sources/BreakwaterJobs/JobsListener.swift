import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// The jobs API's listener: Hummingbird's HTTP/1 channel and router on a NIO listener bound with
/// SO_REUSEADDR **and SO_REUSEPORT**, so that a hot-reload successor (`kill -USR2`) binds the same address
/// beside this process while it still serves; the kernel spreads new connections over both until this
/// one closes its listener. (Hummingbird's own `Application` binds with SO_REUSEADDR only.)
final class JobsListener: Sendable {
    private let serverChannel: NIOAsyncChannel<HTTP1Channel.Value, Never>
    private let connections: Task<Void, Never>

    /// Binds `host:port` and starts serving `router`; throws a readable error naming the address.
    init(host: String, port: Int, router: Router<BasicRequestContext>, group: any EventLoopGroup, logger: Logger) async throws {
        let responder = router.buildResponder()
        let http1 = HTTP1Channel(responder: { request, writer, channel in
            let context = BasicRequestContext(source: .init(channel: channel, logger: logger))
            let response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                response = json(.internalServerError, ["error": "internal error; see the Breakwater log"])
            }
            try await writer.write(response: response.head, body: response.body)
        }, configuration: .init(idleTimeout: .seconds(60)))
        let reusePort = ChannelOptions.Types.SocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_REUSEPORT))
        do {
            serverChannel = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 256)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(reusePort, value: 1)
                .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                .bind(host: host, port: port) { child in http1.setup(channel: child, logger: logger) }
        } catch {
            throw JobsError("cannot listen on \(host):\(port): \(Self.words(error)); is another program using the port?")
        }
        let server = serverChannel
        connections = Task {
            await withDiscardingTaskGroup { group in
                do {
                    try await server.executeThenClose { inbound in
                        for try await connection in inbound {
                            group.addTask { await http1.handle(value: connection, logger: logger) }
                        }
                    }
                } catch {
                    if !Task.isCancelled { logger.error("jobs: listener on \(host):\(port) failed: \(Self.words(error))") }
                }
            }
        }
    }

    /// Stops accepting (a successor, if any, now gets every new connection).
    func stopAccepting() async {
        try? await serverChannel.channel.close()
    }

    /// Closes the connections that are left (waiting at most 2 s for them to end).
    func close() async {
        await stopAccepting()
        connections.cancel()
        let connections = self.connections
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await connections.value }
            group.addTask { try? await Task.sleep(for: .seconds(2)) }
            await group.next()
            group.cancelAll()
        }
    }

    private static func words(_ error: any Error) -> String {
        if let e = error as? IOError { return "\(String(cString: strerror(e.errnoCode))) (errno \(e.errnoCode))" }
        return "\(error)"
    }
}
