import Atomics
import BreakwaterConfigModel
import NIOCore
import NIOHTTP1

/// `<stats uri>/events`: a server-sent-event stream that writes the dashboard's JSON snapshot once a
/// second until the client goes away. Bounded: at most `maxStreams` streams per process (503 beyond).
enum StatsEventStream {
    static let maxStreams = 16
    static let active = ManagedAtomic<Int>(0)
    static let interval = TimeAmount.seconds(1)

    /// Takes over the response when `uri` is `<stats uri>/events`; returns false for every other stats URI.
    /// `transport` is the stats-serving handler's client side.
    static func startIfRequested(uri: String, page: StatsPageConfig, transport: ClientTransport,
                                 runtime: ProxyRuntime) -> Bool {
        guard uri.dropFirst(page.uri.count).hasPrefix("/events") else { return false }
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        guard active.loadThenWrappingIncrement(ordering: .relaxed) < maxStreams else {
            active.wrappingDecrement(ordering: .relaxed)
            head.status = .serviceUnavailable
            let body = ByteBuffer(string: "too many dashboard event streams (\(maxStreams)); close another dashboard tab\n")
            head.headers.add(name: "content-type", value: "text/plain")
            head.headers.add(name: "content-length", value: "\(body.readableBytes)")
            transport.writeResponse(.head(head), promise: nil)
            transport.writeResponse(.body(.byteBuffer(body)), promise: nil)
            transport.writeAndFlushResponse(.end(nil), promise: nil)
            return true
        }
        head.headers.add(name: "content-type", value: "text/event-stream")
        head.headers.add(name: "cache-control", value: "no-cache")
        head.headers.add(name: "x-accel-buffering", value: "no")
        transport.writeResponse(.head(head), promise: nil)
        transport.writeAndFlushResponse(.body(.byteBuffer(ByteBuffer(string: "retry: 1000\n\n"))), promise: nil)

        let bound = NIOLoopBound(transport, eventLoop: transport.eventLoop)
        let loop = transport.eventLoop
        let task = loop.scheduleRepeatedTask(initialDelay: .zero, delay: interval) { task in
            let transport = bound.value
            guard transport.clientIsActive else {
                task.cancel()
                return
            }
            let json = StatsCollector(runtime: runtime).dashboardJSON()
            let written = loop.makePromise(of: Void.self)
            transport.writeAndFlushResponse(.body(.byteBuffer(ByteBuffer(string: "data: " + json + "\n\n"))), promise: written)
            written.futureResult.whenFailure { _ in task.cancel() }
        }
        transport.clientCloseFuture.whenComplete { _ in
            task.cancel()
            active.wrappingDecrement(ordering: .relaxed)
        }
        return true
    }
}
