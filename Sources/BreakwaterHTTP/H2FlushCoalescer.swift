import NIOCore

/// On an HTTP/2 connection, between the transport (socket or TLS) and nio-http2: turns every flush
/// made during one event-loop tick into a single flush at the end of it.
///
/// Each stream's response ends with its own flush, and nio-http2 passes each one down (it only
/// coalesces while the connection itself is reading). Under TLS a flush is an `SSL_write` and a
/// socket write, so ten streams answered in the same tick cost ten of each. Writes still go down at
/// once (the transport queues them); only the flush waits for `execute`, which NIO runs after the
/// I/O events of the current tick, so everything those events produced shares one flush.
///
/// Runs on the connection's event loop only.
final class H2FlushCoalescer: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private var flushPending = false
    /// Flushes deferred and flushes made, for tests and benchmarks.
    private(set) var deferredFlushes = 0
    private(set) var madeFlushes = 0

    func flush(context: ChannelHandlerContext) {
        deferredFlushes += 1
        guard !flushPending else { return }
        flushPending = true
        let target = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (coalescer, context) = target.value
            coalescer.flushNow(context: context)
        }
    }

    /// A close must not overtake output that is waiting for the tick's flush (a GOAWAY, the last
    /// DATA frame of a response).
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        flushNow(context: context)
        context.close(mode: mode, promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        flushNow(context: context)
    }

    private func flushNow(context: ChannelHandlerContext) {
        guard flushPending else { return }
        flushPending = false
        madeFlushes += 1
        context.flush()
    }
}
