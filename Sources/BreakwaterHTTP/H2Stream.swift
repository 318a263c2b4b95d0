import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// One HTTP/2 stream of a client connection, as its proxy handler sees it: the `ClientTransport`
/// it answers through and the `ClientIO` it reads counts from. No channel, no pipeline: the
/// connection's `H2ConnectionHandler` turns frames into request parts and response parts into
/// frames.
///
/// Flow control: request body bytes are given back to the client (WINDOW_UPDATE) once the proxy
/// handler has taken them and is not pausing its input; response DATA still waiting for the
/// client's window or the socket counts as pending output, and above `maxPendingOutput` the
/// stream is not writable, which pauses the server's reads.
///
/// Runs on the connection's event loop only.
final class H2Stream: ClientTransport, ClientIO {
    /// Response bytes in flight on one stream before the server's reads pause.
    static let maxPendingOutput = 64 * 1024

    let id: HTTP2StreamID
    /// Strong: a proxy handler may still call its transport after the connection is gone (a late
    /// server callback); the connection forgets its streams when they end, so there is no cycle.
    let connection: H2ConnectionHandler
    /// The request logic of this stream; released when the stream ends.
    var proxy: HTTPProxyHandler?

    // ClientIO
    private(set) var bytesOut = 0
    private(set) var sawRequestBytes = false
    private(set) var requestStart: NIODeadline
    private(set) var requestStartWallMs: Int64
    private(set) var lastReadAt: NIODeadline
    var onFirstRequestByte: (() -> Void)?
    var isHTTP2: Bool { true }
    var http2Stream: H2Stream? { self }
    func awaitNextRequest() {}

    /// END_STREAM received: no more request input, no more WINDOW_UPDATE for this stream.
    private(set) var receivedEnd = false
    /// END_STREAM sent: the response is complete.
    private(set) var sentEnd = false
    /// The stream is closed: it writes nothing more.
    private(set) var ended = false
    /// This side reset the stream; it ends once the reset is out.
    private var resetSent = false
    /// Flow-controlled request bytes received and not yet given back.
    private var unacknowledged = 0
    /// The last response body chunk, held back until the next part or flush so that a response's
    /// end travels on its last DATA frame (one frame less per response).
    private var held: (buffer: ByteBuffer, promise: EventLoopPromise<Void>?)?
    /// Response bytes written and not yet on the socket.
    private var pendingOutput = 0
    private var closePromise: EventLoopPromise<Void>?

    init(id: HTTP2StreamID, connection: H2ConnectionHandler, now: NIODeadline) {
        self.id = id
        self.connection = connection
        requestStart = now
        requestStartWallMs = currentWallMs()
        lastReadAt = now
        sawRequestBytes = true
    }

    // MARK: - Request input

    /// A frame of this stream arrived (for `timeout client` inactivity).
    func noteRead(now: NIODeadline) {
        lastReadAt = now
    }

    /// Request body bytes (and their padding) arrived; `endStream` ends the request.
    func received(flowControlled: Int, endStream: Bool) {
        if endStream { receivedEnd = true }
        unacknowledged += flowControlled
    }

    /// Gives the request bytes taken so far back to the client once they are half a window.
    func acknowledgeInput() {
        guard !receivedEnd, !ended, !resetSent, unacknowledged >= H2ConnectionHandler.windowTarget / 2 else { return }
        let increment = unacknowledged
        unacknowledged = 0
        connection.writeFrame(.windowUpdate(windowSizeIncrement: increment), on: id, promise: nil)
        connection.flush()
    }

    // MARK: - ClientTransport

    var eventLoop: EventLoop { connection.eventLoop }
    var clientAllocator: ByteBufferAllocator { connection.allocator }
    var clientLocalAddress: SocketAddress? { connection.localAddress }
    var clientIsWritable: Bool { pendingOutput < Self.maxPendingOutput && connection.isWritable }
    var clientIsActive: Bool { !ended }

    var clientCloseFuture: EventLoopFuture<Void> {
        if ended { return eventLoop.makeSucceededVoidFuture() }
        if closePromise == nil { closePromise = eventLoop.makePromise(of: Void.self) }
        return closePromise!.futureResult
    }

    func clientFacts(isTLS: Bool) -> ClientConnectionFacts { connection.facts }

    func writeResponse(_ part: HTTPServerResponsePart, promise: EventLoopPromise<Void>?) {
        guard !ended, !resetSent, !sentEnd else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        switch part {
        case .head(let head):
            writeHead(H2MessageHeads.responseBlock(head), promise: promise)
        case .body(.byteBuffer(let buffer)):
            releaseHeld()
            pendingOutput += buffer.readableBytes
            held = (buffer, promise)
        case .body(.fileRegion):
            // Server responses arrive as buffers; a file region never reaches an HTTP/2 client.
            promise?.fail(ChannelError.operationUnsupported)
        case .end(let trailers):
            sentEnd = true
            if let trailers, !trailers.isEmpty {
                releaseHeld()
                let block = H2MessageHeads.trailerBlock(trailers)
                bytesOut &+= H2MessageHeads.countedSize(block)
                connection.writeFrame(.headers(.init(headers: block, endStream: true)), on: id, promise: promise)
                return
            }
            if let (buffer, heldPromise) = held {
                held = nil
                pendingOutput -= buffer.readableBytes
                bytesOut &+= buffer.readableBytes
                let last = connection.cascade(heldPromise, promise)
                connection.writeFrame(.data(.init(data: .byteBuffer(buffer), endStream: true)), on: id, promise: last)
            } else {
                connection.writeFrame(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)), on: id, promise: promise)
            }
        }
    }

    /// The response head as a header block built by the caller (from the server's wire head).
    func writeResponseBlock(_ block: HPACKHeaders) {
        guard !ended, !resetSent, !sentEnd else { return }
        writeHead(block, promise: nil)
    }

    private func writeHead(_ block: HPACKHeaders, promise: EventLoopPromise<Void>?) {
        bytesOut &+= H2MessageHeads.countedSize(block)
        connection.writeFrame(.headers(.init(headers: block)), on: id, promise: promise)
    }

    func flushResponse() {
        releaseHeld()
        connection.flush()
    }

    /// An unfinished exchange is reset (RST_STREAM CANCEL, what closing a stream channel sent);
    /// one that ended both ways closes by itself.
    func closeClient() {
        guard !ended, !resetSent, !(sentEnd && receivedEnd) else { return }
        resetSent = true
        if let (_, promise) = held {
            held = nil
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
        connection.writeFrame(.rstStream(.cancel), on: id, promise: nil)
        connection.flush()
        connection.endLater(self)
    }

    func readRequest() {
        acknowledgeInput()
    }

    // MARK: - Output accounting

    /// Writes the held body chunk as a DATA frame without END_STREAM; its bytes stay pending until
    /// the frame is on the socket.
    private func releaseHeld() {
        guard let (buffer, promise) = held else { return }
        held = nil
        let count = buffer.readableBytes
        bytesOut &+= count
        let written = connection.eventLoop.makePromise(of: Void.self)
        let bound = NIOLoopBound(self, eventLoop: connection.eventLoop)
        written.futureResult.whenComplete { result in
            bound.value.outputWritten(count)
            switch result {
            case .success: promise?.succeed()
            case .failure(let error): promise?.fail(error)
            }
        }
        connection.writeFrame(.data(.init(data: .byteBuffer(buffer))), on: id, promise: written)
    }

    private func outputWritten(_ count: Int) {
        let wasWritable = clientIsWritable
        pendingOutput -= count
        if !wasWritable && clientIsWritable { proxy?.clientWritabilityChanged() }
    }

    /// The stream is closed (both ends done, reset by either side, or the connection ended).
    /// Returns false when it had ended already.
    func markEnded() -> Bool {
        guard !ended else { return false }
        ended = true
        if let (_, promise) = held {
            held = nil
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
        closePromise?.succeed()
        closePromise = nil
        return true
    }
}
