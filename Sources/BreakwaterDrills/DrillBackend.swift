import Atomics
import DequeModule
import NIOCore
import NIOHTTP1
import NIOPosix

/// How a throwaway drill backend answers.
public struct BackendBehavior: Sendable {
    /// Requests served at once (a PHP-FPM pool's workers); later ones wait in the backend's own backlog.
    public var workers = Int.max
    /// Service time of one request, ms.
    public var serviceMs = 0
    /// Extra service time per request already in service (a server that slows down under load), ms.
    public var slowdownPerInflightMs = 0
    /// Health-check requests wait for a worker too (an application that bootstraps to answer /healthz).
    public var slowHealth = false
    public init(workers: Int = Int.max, serviceMs: Int = 0, slowdownPerInflightMs: Int = 0, slowHealth: Bool = false) {
        self.slowHealth = slowHealth
        self.workers = workers
        self.serviceMs = serviceMs
        self.slowdownPerInflightMs = slowdownPerInflightMs
    }
}

/// Counters of one backend, readable from any thread.
public final class BackendCounters: Sendable {
    public let connections = ManagedAtomic<Int>(0)
    public let requests = ManagedAtomic<Int>(0)
    /// Requests for the health-check URI.
    public let healthRequests = ManagedAtomic<Int>(0)
    public init() {}
}

/// Loopback HTTP/1.1 servers the drills start and stop themselves (one event loop for all of them, so each
/// server's worker accounting is single-threaded).
public final class DrillBackends: Sendable {
    public let ports: [Int]
    public let counters: [BackendCounters]
    let group: MultiThreadedEventLoopGroup
    let channels: [Channel]

    public static func start(count: Int, behavior: BackendBehavior, healthURI: String?) throws -> DrillBackends {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var channels: [Channel] = []
        var counters: [BackendCounters] = []
        do {
            for _ in 0..<count {
                let c = BackendCounters()
                let pool = WorkerPool(behavior: behavior)
                let channel = try ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 4096)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { ch in
                        c.connections.wrappingIncrement(ordering: .relaxed)
                        return ch.eventLoop.makeCompletedFuture {
                            try ch.pipeline.syncOperations.configureHTTPServerPipeline()
                            try ch.pipeline.syncOperations.addHandler(DrillHTTPHandler(counters: c, pool: pool, healthURI: healthURI))
                        }
                    }
                    .bind(host: "127.0.0.1", port: 0).wait()
                channels.append(channel)
                counters.append(c)
            }
        } catch {
            for ch in channels { try? ch.close().wait() }
            try? group.syncShutdownGracefully()
            throw DrillError("cannot start a loopback drill backend on 127.0.0.1: \(error)")
        }
        return DrillBackends(ports: channels.map { $0.localAddress?.port ?? 0 }, counters: counters, group: group, channels: channels)
    }

    init(ports: [Int], counters: [BackendCounters], group: MultiThreadedEventLoopGroup, channels: [Channel]) {
        self.ports = ports
        self.counters = counters
        self.group = group
        self.channels = channels
    }

    public func stop() {
        for ch in channels { try? ch.close().wait() }
        try? group.syncShutdownGracefully()
    }

    public var totalRequests: Int { counters.reduce(0) { $0 + $1.requests.load(ordering: .relaxed) } }
    public var totalHealthRequests: Int { counters.reduce(0) { $0 + $1.healthRequests.load(ordering: .relaxed) } }
    public var totalConnections: Int { counters.reduce(0) { $0 + $1.connections.load(ordering: .relaxed) } }
}

/// A server's workers: requests beyond `workers` wait in FIFO order. Touched only on the backends' event loop.
final class WorkerPool: @unchecked Sendable {
    let behavior: BackendBehavior
    var busy = 0
    var waiting = Deque<() -> Void>()
    init(behavior: BackendBehavior) { self.behavior = behavior }

    func submit(on loop: EventLoop, _ respond: @escaping () -> Void) {
        let start = { [self] in
            busy += 1
            let ms = behavior.serviceMs + behavior.slowdownPerInflightMs * (busy - 1)
            loop.scheduleTask(in: .milliseconds(Int64(ms))) { [self] in
                respond()
                busy -= 1
                if let next = waiting.popFirst() { next() }
            }
        }
        if busy < behavior.workers { start() } else { waiting.append(start) }
    }
}

final class DrillHTTPHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    let counters: BackendCounters
    let pool: WorkerPool
    let healthURI: String?
    var keepAlive = true

    init(counters: BackendCounters, pool: WorkerPool, healthURI: String?) {
        self.counters = counters
        self.pool = pool
        self.healthURI = healthURI
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(let head) = unwrapInboundIn(data) else { return }
        keepAlive = head.isKeepAlive
        if let healthURI, head.uri == healthURI {
            counters.healthRequests.wrappingIncrement(ordering: .relaxed)
            if !pool.behavior.slowHealth {
                respond(context: context, status: .ok)
                return
            }
        } else {
            counters.requests.wrappingIncrement(ordering: .relaxed)
        }
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        pool.submit(on: context.eventLoop) { [self] in
            let ctx = bound.value
            guard ctx.channel.isActive else { return }
            respond(context: ctx, status: .ok)
        }
    }

    func respond(context: ChannelHandlerContext, status: HTTPResponseStatus) {
        var head = HTTPResponseHead(version: .http1_1, status: status)
        head.headers.add(name: "content-length", value: "3")
        if !keepAlive { head.headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok\n")))), promise: nil)
        let close = !keepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if close { context.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

public struct DrillError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
