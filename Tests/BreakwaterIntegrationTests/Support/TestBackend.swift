import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One request as the test backend received it.
struct RecordedRequest: Sendable {
    var method: String
    var uri: String
    var version: String
    var headers: [(String, String)]
    var bodyCount: Int
    var bodyHash: FNV1a
    var connection: Int

    /// First value of a header, name compared case-insensitively.
    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
    func headerValues(_ name: String) -> [String] {
        headers.filter { $0.0.lowercased() == name.lowercased() }.map(\.1)
    }
    var path: String { String(uri.split(separator: "?", maxSplits: 1).first ?? "") }
}

/// What a backend does with a request once its body has been read.
indirect enum BackendAction: Sendable {
    /// 200 with a text body describing the request (backend name, method, uri, body bytes, hash).
    case echo
    case respond(status: Int, headers: [(String, String)], body: [UInt8])
    case delayed(ms: Int, BackendAction)
    /// 200 with `content-length: total` and `total` bytes of `Payload`.
    case stream(total: Int)
    case closeWithoutReply
    /// Writes these bytes and closes.
    case garbage([UInt8])
    /// Never answers (keeps the connection open).
    case never
    /// Closes with SO_LINGER 0 (RST).
    case reset
}

/// A small scripted HTTP/1.1 server on 127.0.0.1 (port chosen by the kernel).
final class TestBackend: @unchecked Sendable {
    struct State {
        var requests: [RecordedRequest] = []
        var connections = 0
        var inflight = 0
        var maxInflight = 0
        var heads = 0
        var children: [Channel] = []
    }

    let name: String
    let behavior: @Sendable (RecordedRequest) -> BackendAction
    private(set) var port: Int = 0
    private var serverChannel: Channel?
    let state = Locked(State())

    private init(name: String, behavior: @escaping @Sendable (RecordedRequest) -> BackendAction) {
        self.name = name
        self.behavior = behavior
    }

    static func start(_ name: String,
                      behavior: @escaping @Sendable (RecordedRequest) -> BackendAction = { _ in .echo }) async throws -> TestBackend {
        let backend = TestBackend(name: name, behavior: behavior)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelInitializer { [backend] ch in
                let id = backend.state.withLock { s -> Int in
                    s.connections += 1
                    s.children.append(ch)
                    return s.connections
                }
                return ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
                    try ch.pipeline.syncOperations.addHandler(BackendHandler(backend: backend, connection: id))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        backend.serverChannel = channel
        backend.port = channel.localAddress?.port ?? 0
        return backend
    }

    var requests: [RecordedRequest] { state.withLock { $0.requests } }
    var requestCount: Int { state.withLock { $0.requests.count } }
    var connectionCount: Int { state.withLock { $0.connections } }
    var maxInflight: Int { state.withLock { $0.maxInflight } }
    var inflight: Int { state.withLock { $0.inflight } }
    /// Request heads received (also counts requests whose body never completed).
    var headsSeen: Int { state.withLock { $0.heads } }

    func record(_ r: RecordedRequest) { state.withLock { $0.requests.append(r) } }
    func begin() {
        state.withLock {
            $0.inflight += 1
            $0.heads += 1
            $0.maxInflight = max($0.maxInflight, $0.inflight)
        }
    }
    func end() { state.withLock { $0.inflight -= 1 } }

    func stop() async {
        let children = state.withLock { $0.children }
        try? await serverChannel?.close()
        for c in children { try? await c.close() }
    }

    deinit {
        serverChannel?.close(promise: nil)
    }
}

private final class BackendHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = ByteBuffer

    let backend: TestBackend
    let connection: Int
    private var current: (head: HTTPRequestHead, count: Int, hash: FNV1a)?
    private var pending: [RecordedRequest] = []
    private var busy = false
    private var closed = false

    init(backend: TestBackend, connection: Int) {
        self.backend = backend
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            current = (head, 0, FNV1a())
            backend.begin()
        case .body(let buf):
            current?.count += buf.readableBytes
            buf.withUnsafeReadableBytes { current?.hash.update($0) }
        case .end:
            guard let c = current else { return }
            current = nil
            let r = RecordedRequest(method: c.head.method.rawValue, uri: c.head.uri,
                                    version: "HTTP/\(c.head.version.major).\(c.head.version.minor)",
                                    headers: c.head.headers.map { ($0.name, $0.value) },
                                    bodyCount: c.count, bodyHash: c.hash, connection: connection)
            backend.record(r)
            pending.append(r)
            next(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func next(context: ChannelHandlerContext) {
        guard !busy, !closed, !pending.isEmpty else { return }
        busy = true
        let r = pending.removeFirst()
        perform(backend.behavior(r), r, context: context)
    }

    private func finish(context: ChannelHandlerContext) {
        backend.end()
        busy = false
        next(context: context)
    }

    private func writeRaw(_ bytes: [UInt8], context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        var buf = context.channel.allocator.buffer(capacity: bytes.count)
        buf.writeBytes(bytes)
        return context.writeAndFlush(wrapOutboundOut(buf))
    }

    private func head(status: Int, headers: [(String, String)], length: Int) -> [UInt8] {
        var s = "HTTP/1.1 \(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)\r\n"
        for (k, v) in headers { s += "\(k): \(v)\r\n" }
        s += "x-backend: \(backend.name)\r\ncontent-length: \(length)\r\n\r\n"
        return Array(s.utf8)
    }

    private func perform(_ action: BackendAction, _ r: RecordedRequest, context: ChannelHandlerContext) {
        let loop = context.eventLoop.assumeIsolated()
        switch action {
        case .echo:
            let body = Array("""
            backend=\(backend.name)
            method=\(r.method)
            uri=\(r.uri)
            bytes=\(r.bodyCount)
            hash=\(r.bodyHash.hash)
            conn=\(r.connection)

            """.utf8)
            perform(.respond(status: 200, headers: [("content-type", "text/plain")], body: body), r, context: context)
        case .respond(let status, let headers, let body):
            writeRaw(head(status: status, headers: headers, length: body.count) + body, context: context)
                .assumeIsolated().whenComplete { _ in self.finish(context: context) }
        case .delayed(let ms, let inner):
            loop.scheduleTask(in: .milliseconds(Int64(ms))) {
                if self.closed { self.backend.end(); return }
                self.perform(inner, r, context: context)
            }
        case .stream(let total):
            _ = writeRaw(head(status: 200, headers: [("content-type", "application/octet-stream")], length: total),
                         context: context)
            streamBlocks(from: 0, count: total / Payload.blockSize, context: context)
        case .closeWithoutReply:
            backend.end()
            context.close(promise: nil)
        case .garbage(let bytes):
            writeRaw(bytes, context: context).assumeIsolated().whenComplete { _ in
                self.backend.end()
                context.close(promise: nil)
            }
        case .never:
            break
        case .reset:
            backend.end()
            if let provider = context.channel as? SocketOptionProvider {
                provider.setSoLinger(linger(l_onoff: 1, l_linger: 0))
                    .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
        }
    }

    /// Writes blocks 16 at a time, waiting for each batch to be flushed (back-pressure).
    private func streamBlocks(from index: Int, count: Int, context: ChannelHandlerContext) {
        guard index < count, !closed else {
            finish(context: context)
            return
        }
        let end = min(index + 16, count)
        var last: EventLoopFuture<Void>?
        for i in index..<end {
            var buf = context.channel.allocator.buffer(capacity: Payload.blockSize)
            buf.writeBytes(Payload.block(i))
            last = context.write(wrapOutboundOut(buf))
        }
        context.flush()
        last!.assumeIsolated().whenComplete { result in
            if case .failure = result { self.finish(context: context); return }
            self.streamBlocks(from: end, count: count, context: context)
        }
    }
}
