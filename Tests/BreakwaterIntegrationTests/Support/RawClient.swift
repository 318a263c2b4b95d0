import Foundation
import NIOCore
import NIOPosix

/// A plain TCP client for sending exact bytes and reading whatever comes back.
final class RawClient: @unchecked Sendable {
    let channel: Channel
    let buffer: Locked<[UInt8]>
    let closed: Locked<Bool>

    private init(channel: Channel, buffer: Locked<[UInt8]>, closed: Locked<Bool>) {
        self.channel = channel
        self.buffer = buffer
        self.closed = closed
    }

    static func connect(port: Int) async throws -> RawClient {
        let buffer = Locked<[UInt8]>([])
        let closed = Locked(false)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .channelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    try ch.pipeline.syncOperations.addHandler(Collector(buffer: buffer, closed: closed))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawClient(channel: channel, buffer: buffer, closed: closed)
    }

    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) async throws {
        var buf = channel.allocator.buffer(capacity: bytes.count)
        buf.writeBytes(bytes)
        try await channel.writeAndFlush(buf).get()
    }

    var bytes: [UInt8] { buffer.current }
    var text: String { String(decoding: bytes, as: UTF8.self) }
    var isClosed: Bool { closed.current }

    /// Complete responses parsed so far.
    var responses: [RawResponse] { RawResponse.parseAll(bytes).responses }

    @discardableResult
    func waitForResponses(_ n: Int, timeout: Double = 5) async -> [RawResponse] {
        await waitUntil(timeout: timeout) { self.responses.count >= n || (self.isClosed && self.responses.count < n) }
        return responses
    }

    @discardableResult
    func waitClosed(timeout: Double = 5) async -> Bool {
        await waitUntil(timeout: timeout) { self.isClosed }
    }

    func close() {
        channel.close(promise: nil)
    }

    deinit { channel.close(promise: nil) }
}

private final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let buffer: Locked<[UInt8]>
    let closed: Locked<Bool>
    init(buffer: Locked<[UInt8]>, closed: Locked<Bool>) {
        self.buffer = buffer
        self.closed = closed
    }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buf = unwrapInboundIn(data)
        buffer.withLock { $0.append(contentsOf: buf.readableBytesView) }
    }
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelEvent, case .inputClosed = event as! ChannelEvent {
            closed.withLock { $0 = true }
        }
        context.fireUserInboundEventTriggered(event)
    }
    func channelInactive(context: ChannelHandlerContext) {
        closed.withLock { $0 = true }
    }
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        closed.withLock { $0 = true }
        context.close(promise: nil)
    }
}

/// A parsed HTTP/1.1 response (content-length or chunked bodies; 1xx have no body).
struct RawResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
    var bodyText: String { String(decoding: body, as: UTF8.self) }

    static func parseAll(_ bytes: [UInt8]) -> (responses: [RawResponse], rest: Int) {
        var out: [RawResponse] = []
        var i = 0
        while let r = parseOne(bytes, from: i) {
            out.append(r.0)
            i = r.1
        }
        return (out, bytes.count - i)
    }

    private static func findCRLFCRLF(_ b: [UInt8], _ from: Int) -> Int? {
        var i = from
        while i + 3 < b.count {
            if b[i] == 13, b[i + 1] == 10, b[i + 2] == 13, b[i + 3] == 10 { return i }
            i += 1
        }
        return nil
    }

    private static func findCRLF(_ b: [UInt8], _ from: Int) -> Int? {
        var i = from
        while i + 1 < b.count {
            if b[i] == 13, b[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    static func parseOne(_ b: [UInt8], from: Int) -> (RawResponse, Int)? {
        guard let end = findCRLFCRLF(b, from) else { return nil }
        let headText = String(decoding: b[from..<end], as: UTF8.self)
        let lines = headText.components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return nil }
        var headers: [(String, String)] = []
        for l in lines.dropFirst() {
            if let c = l.firstIndex(of: ":") {
                headers.append((String(l[..<c]), l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        var r = RawResponse(status: status, headers: headers, body: [])
        var i = end + 4
        if status < 200 { return (r, i) }
        if let te = r.header("transfer-encoding"), te.lowercased().contains("chunked") {
            while true {
                guard let le = findCRLF(b, i) else { return nil }
                let sizeText = String(decoding: b[i..<le], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { return nil }
                i = le + 2
                if size == 0 {
                    guard let te2 = findCRLF(b, i) else { return nil }
                    // skip trailers until empty line
                    var j = i
                    var lineEnd = te2
                    while lineEnd != j {
                        j = lineEnd + 2
                        guard let n = findCRLF(b, j) else { return nil }
                        lineEnd = n
                    }
                    return (r, lineEnd + 2)
                }
                guard i + size + 2 <= b.count else { return nil }
                r.body.append(contentsOf: b[i..<(i + size)])
                i += size + 2
            }
        }
        let len = Int(r.header("content-length") ?? "0") ?? 0
        guard i + len <= b.count else { return nil }
        r.body = Array(b[i..<(i + len)])
        return (r, i + len)
    }
}
