import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// One health probe on the wire: a TCP connect closed with RST (HC-5), or a tiny HTTP exchange.
enum HealthProbe {
    enum TCPResult { case passed, refused(String), timeout }
    enum HTTPResult { case status(Int, String), refused(String), connectTimeout, readTimeout, invalid }

    static func tcp(loop: EventLoop, address: SocketAddress, timeoutMs: Int, done: @escaping (TCPResult) -> Void) {
        let bound = NIOLoopBound(done, eventLoop: loop)
        ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(Int64(max(1, timeoutMs))))
            .connect(to: address)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    abortiveClose(channel)
                    bound.value(.passed)
                case .failure(let error):
                    bound.value(classify(error).map { .refused($0) } ?? .timeout)
                }
            }
    }

    static func http(loop: EventLoop, address: SocketAddress, connectTimeoutMs: Int, readTimeoutMs: Int, request: String,
                     done: @escaping (HTTPResult) -> Void) {
        let bound = NIOLoopBound(done, eventLoop: loop)
        ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(Int64(max(1, connectTimeoutMs))))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(StatusLineReader())
                }
            }
            .connect(to: address)
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    bound.value(classify(error).map { .refused($0) } ?? .connectTimeout)
                case .success(let channel):
                    guard let reader = try? channel.pipeline.syncOperations.handler(type: StatusLineReader.self) else {
                        channel.close(promise: nil)
                        bound.value(.invalid)
                        return
                    }
                    reader.start(channel: channel, request: request, timeoutMs: readTimeoutMs) { bound.value($0) }
                }
            }
    }

    /// nil for a timeout; otherwise the `info:` text of an L4 connection problem.
    static func classify(_ error: Error) -> String? {
        if case .connectTimeout? = error as? ChannelError { return nil }
        if let io = error as? IOError {
            return String(cString: strerror(io.errnoCode))
        }
        let text = "\(error)"
        if text.contains("refused") || text.contains("ECONNREFUSED") { return "Connection refused" }
        return text
    }

    /// SO_LINGER {on, 0}: the close sends RST, as HAProxy does.
    static func abortiveClose(_ channel: Channel) {
        if let provider = channel as? SocketOptionProvider {
            provider.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
        } else {
            channel.close(promise: nil)
        }
    }
}

/// Reads the first line of an HTTP response for `option httpchk`.
final class StatusLineReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var bytes: [UInt8] = []
    private var done: ((HealthProbe.HTTPResult) -> Void)?
    private var timer: Scheduled<Void>?
    private var channel: Channel?

    func start(channel: Channel, request: String, timeoutMs: Int, done: @escaping (HealthProbe.HTTPResult) -> Void) {
        self.channel = channel
        self.done = done
        timer = channel.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(max(1, timeoutMs)))) { [weak self] in
            self?.complete(.readTimeout)
        }
        channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        bytes.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        if let nl = bytes.firstIndex(of: 0x0A) {
            let line = String(decoding: bytes[..<nl], as: UTF8.self).trimmingOWS().replacingCRLF()
            let parts = line.split(separator: " ", maxSplits: 2)
            if parts.count >= 2, parts[0].hasPrefix("HTTP/"), let code = Int(parts[1]) {
                complete(.status(code, line))
            } else {
                complete(.invalid)
            }
        } else if bytes.count > 4096 {
            complete(.invalid)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(.invalid)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        complete(.invalid)
    }

    private func complete(_ result: HealthProbe.HTTPResult) {
        timer?.cancel()
        guard let done else { return }
        self.done = nil
        if let channel { HealthProbe.abortiveClose(channel) }
        done(result)
    }
}

extension String {
    func replacingCRLF() -> String {
        String(unicodeScalars.filter { $0 != "\r" && $0 != "\n" })
    }
}
