import BreakwaterObservability
import DequeModule
import NIOCore
import NIOHTTP1
import BreakwaterACL
import BreakwaterConfigModel
import BreakwaterStickTables
import BreakwaterTLS

/// The client side of the HTTP/1.1 proxy: one instance per client connection.
///
/// It turns decoded request parts into proxy phases (rules → backend → queue → server → response →
/// log), answers pipelined requests in order, and applies back-pressure both ways by holding
/// `read()` on the slower side. All methods run on the connection's event loop.
final class HTTPProxyHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Body bytes held while no server connection is ready before reading from the client pauses.
    static let maxBufferedBody = 64 * 1024

    let runtime: ProxyRuntime
    let frontend: FrontendRuntime
    let pools: UpstreamPools
    let io: ClientIO
    /// The client side: this handler's own context on HTTP/1.1, one stream of the connection on HTTP/2.
    var transport: ClientTransport!
    var pool: UpstreamPool!

    var current: ProxyRequest?
    var pendingParts: Deque<HTTPServerRequestPart> = []
    var readPending = false
    var requestsOnConnection = 0
    var clientAddress = "-"
    var clientPort = 0
    var sourceAddress: [UInt8]?
    var closing = false
    var quiescing = false
    /// `timeout http-request` / `timeout http-keep-alive` deadline while no request is in progress.
    var idleDeadline: NIODeadline?
    var idleIsRequestTimer = false
    /// The deadline is `timeout client` of inactivity: every received chunk pushes it back (only
    /// `timeout http-request` bounds a whole request head, as in HAProxy).
    var idleIsInactivity = false
    /// The connection's single timer task; re-armed only when a nearer deadline appears, so a
    /// request costs no timer allocation in the common case.
    var timerTask: Scheduled<Void>?
    var timerFireAt: NIODeadline = .distantFuture
    /// A protocol error was seen; everything after it is dropped.
    var parseFailed = false
    /// The protocol error came after complete requests still to be answered: they are served first,
    /// then the error is answered (or the connection closes if the last of them said so).
    var deferredParseError = false
    /// The client shut down its sending side: answer what it sent, then close.
    var inputClosed = false
    /// `io.wireBytesIn` already added to the `bin` counters.
    var wireBytesAccounted = 0
    /// Slots bound at accept by `tcp-request connection track-sc*` (spec STK-9).
    var connectionEntries = TrackedEntries()
    var acceptedAt: NIODeadline = .now()
    var acceptedWallMs: Int64 = 0
    /// Set when the connection was accepted before this handler was added (a plain bind waits
    /// for the first bytes to tell HTTP/1.1 from h2c): the request clock still starts at accept.
    var acceptedEarlier: (at: NIODeadline, wallMs: Int64)?
    /// TLS facts of the client connection for `ssl_fc_*` fetches (nil on clear text).
    var tlsInfo: ACLTLSInfo?

    /// The client connection is TLS (`~` after the frontend name in logs, HTTPS for FastCGI).
    let isTLS: Bool

    init(runtime: ProxyRuntime, frontend: FrontendRuntime, pools: UpstreamPools, io: ClientIO, isTLS: Bool = false) {
        self.isTLS = isTLS
        self.runtime = runtime
        self.frontend = frontend
        self.pools = pools
        self.io = io
    }

    // MARK: - Connection lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        start(on: context)
    }

    /// Binds the handler to its client side and runs the connection's accept-time work. HTTP/1.1
    /// calls it from `handlerAdded`; an HTTP/2 connection for each stream it opens.
    func start(on transport: ClientTransport) {
        self.transport = transport
        acceptedAt = acceptedEarlier?.at ?? .now()
        acceptedWallMs = acceptedEarlier?.wallMs ?? currentWallMs()
        let facts = transport.clientFacts(isTLS: isTLS)
        tlsInfo = facts.tls
        pool = pools.pool(for: transport.eventLoop)
        clientAddress = facts.address
        clientPort = facts.port
        sourceAddress = facts.addressBytes
        if !io.isHTTP2 { io.onFirstRequestByte = { [weak self] in self?.firstRequestByte() } }
        if !frontend.tcpConnectionRules.isEmpty && applyConnectionRules() { return }
        // The first request's clock starts at accept (timeout http-request). An HTTP/2 stream is
        // created by its complete HEADERS frame, so it needs no timer of its own.
        if !io.isHTTP2 {
            // A plain bind's preface detector may already have waited for the first bytes.
            armRequestHeadTimer(alreadyWaitedMs: Int((NIODeadline.now() - acceptedAt).nanoseconds / 1_000_000))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientClosed()
        context.fireChannelInactive()
    }

    /// The client side is gone (connection closed, HTTP/2 stream closed or reset).
    func clientClosed() {
        closing = true
        idleDeadline = nil
        timerTask?.cancel()
        if let request = current {
            if request.phase.isResponded || request.phase.isLocal, request.requestComplete {
                // The response was complete (an HTTP/2 stream closes as soon as both ends are done).
                finish(request)
            } else {
                abort(request, cause: "C")
            }
        } else if !parseFailed && !io.isHTTP2 && (io.sawRequestBytes || (requestsOnConnection == 0 && !frontend.config.options.dontlognull)) {
            // A client that left before a complete request (spec PRX-4): `<BADREQ>` with `CR--`;
            // a connection that never sent a byte is logged too unless `option dontlognull`.
            let partial = io.sawRequestBytes
            var record = newRecord(wallMs: partial ? io.requestStartWallMs : acceptedWallMs)
            record.status = 400
            record.terminationState = "CR--"
            record.tA = ms(partial ? io.requestStart : acceptedAt, .now())
            record.tW = -1
            record.tC = -1
            record.tr = -1
            frontend.counters.requestErrors.wrappingIncrement(ordering: .relaxed)
            emitLog(record)
        }
        _ = takeWireBytesIn()
        pendingParts.removeAll()
        if !connectionEntries.isEmpty { connectionEntries.releaseOwned(now: stickNow(), connection: true) }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let parserError = error as? HTTPParserError ?? (error as? HTTP1RequestRefused)?.parserError {
            // Already answered (e.g. the 408 of a timeout, whose close makes the decoder report the
            // partial head): one request, one answer, one log line.
            if parseFailed || closing { return }
            if parserError == .invalidEOFState {
                // The client left or shut down its side mid-request: a client abort (`C`), not a bad
                // request. Complete requests before it are still answered (the EOF event follows).
                if current?.requestComplete == true || !pendingParts.isEmpty { return }
                if let request = current { abort(request, cause: "C") }
                transport.closeClient()
                return
            }
            parseFailed = true
            if current?.requestComplete == true || !pendingParts.isEmpty {
                // Pipelined requests before the bad bytes are valid: serve them first.
                deferredParseError = true
                return
            }
            badRequest()
            return
        }
        // Socket errors (reset by peer …) end the connection; channelInactive does the accounting.
        transport.closeClient()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            clientInputClosed()
            return
        }
        if event is ChannelShouldQuiesceEvent {
            quiesce()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Draining: the request in progress is answered, no other one is taken.
    func quiesce() {
        quiescing = true
        if current == nil && pendingParts.isEmpty { transport.closeClient() }
    }

    /// Half-close from the client (it shut down its sending side after the request): the requests it
    /// sent are answered, then the connection closes; nothing more can arrive for an unfinished one.
    private func clientInputClosed() {
        inputClosed = true
        if closing { return }
        if current == nil && pendingParts.isEmpty {
            if !deferredParseError { transport.closeClient() }
            return
        }
        settleAfterInputClosed()
    }

    /// With the input closed and no pipelined part left, an unfinished request can never complete.
    func settleAfterInputClosed() {
        guard inputClosed, pendingParts.isEmpty, !deferredParseError, let request = current, !request.requestComplete,
              !closing else { return }
        abort(request, cause: "C")
        closing = true
        transport.closeClient()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        clientWritabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    /// The client side may take more output again: the server's reads resume.
    func clientWritabilityChanged() {
        if transport.clientIsWritable {
            current?.upstream?.resumeReading()
        }
    }

    /// `tcp-request connection` rules at accept; returns true when the connection was rejected.
    private func applyConnectionRules() -> Bool {
        let view = ConnectionView(sourceAddress: sourceAddress, entries: connectionEntries, tables: frontend.tables)
        for rule in frontend.tcpConnectionRules {
            var v = view
            v.entries = connectionEntries
            guard ruleApplies(rule.condition, to: v) else { continue }
            switch rule.action {
            case .reject:
                frontend.counters.deniedConnections.wrappingIncrement(ordering: .relaxed)
                closing = true
                parseFailed = true
                transport.closeClient()
                return true
            case .track(let slot, let table):
                guard let t = frontend.tables[table], let bytes = sourceAddress, let key = StickKey.address(bytes: bytes) else { continue }
                connectionEntries.trackConnection(slot: slot, table: t, key: key, now: stickNow())
            }
        }
        return false
    }

    // MARK: - Reading with back-pressure

    func read(context: ChannelHandlerContext) {
        if shouldPauseReading {
            readPending = true
        } else {
            context.read()
        }
    }

    var shouldPauseReading: Bool {
        if closing { return false }
        if !pendingParts.isEmpty { return true }
        guard let request = current else { return false }
        if request.requestComplete { return false }
        if let upstream = request.upstream { return !upstream.isWritable }
        return request.bufferedBodyBytes >= Self.maxBufferedBody
    }

    func resumeReadingIfPossible() {
        if readPending && !shouldPauseReading {
            readPending = false
            transport.readRequest()
        }
    }

    // MARK: - Inbound parts

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receive(unwrapInboundIn(data))
    }

    /// One decoded request part from the client side.
    func receive(_ part: HTTPServerRequestPart) {
        guard !parseFailed, !closing else { return }
        if !pendingParts.isEmpty {
            pendingParts.append(part)
            return
        }
        dispatch(part)
    }

    private func dispatch(_ part: HTTPServerRequestPart) {
        if let request = current {
            if request.requestComplete {
                // A pipelined request: answer it after the current response.
                pendingParts.append(part)
                return
            }
            switch part {
            case .head:
                // Cannot happen with a conforming decoder; treat as a protocol error.
                badRequest()
            case .body(let buffer):
                requestBody(request, buffer)
            case .end:
                requestEnd(request)
            }
            return
        }
        switch part {
        case .head(let head):
            startRequest(head)
        case .body, .end:
            // Leftovers of a request we already answered and are discarding.
            break
        }
    }

    private func requestBody(_ request: ProxyRequest, _ buffer: ByteBuffer) {
        request.bodyBytesIn += buffer.readableBytes
        if io.wireBytesIn == nil { frontend.counters.bytesIn.wrappingIncrement(by: buffer.readableBytes, ordering: .relaxed) }
        if !request.trackedEntries.isEmpty { request.trackedEntries.addBytesIn(buffer.readableBytes, now: stickNow()) }
        switch request.phase {
        case .waitingResponse, .streamingResponse:
            if let upstream = request.upstream {
                request.bodyBytesForwarded += buffer.readableBytes
                upstream.write(.body(.byteBuffer(buffer)))
                upstream.flush()
                return
            }
            fallthrough
        case .routing, .queued, .connecting:
            request.bufferedBody.append(buffer)
            request.bufferedBodyBytes += buffer.readableBytes
        case .localResponse, .responded, .tarpit:
            // Body of a request answered locally (or held by a tarpit): discard.
            break
        }
    }

    private func requestEnd(_ request: ProxyRequest) {
        request.requestComplete = true
        switch request.phase {
        case .waitingResponse, .streamingResponse:
            if let upstream = request.upstream {
                upstream.write(.end(nil))
                upstream.flush()
            }
        case .responded:
            finish(request)
        default:
            break
        }
        resumeReadingIfPossible()
    }

    /// Runs the parts that arrived while the previous request was answered.
    func drainPending() {
        while current == nil || !(current!.requestComplete), let part = pendingParts.popFirst() {
            dispatch(part)
            if closing { return }
        }
        if pendingParts.isEmpty && deferredParseError && !(current?.requestComplete ?? false) {
            // Every valid request before the bad bytes is answered: now the error.
            deferredParseError = false
            badRequest()
            return
        }
        if pendingParts.isEmpty && current == nil && inputClosed {
            closing = true
            transport.closeClient()
            return
        }
        settleAfterInputClosed()
        resumeReadingIfPossible()
    }

    // MARK: - Timers on the client side

    func firstRequestByte() {
        guard current == nil else { return }
        armRequestHeadTimer()
    }

    /// While a request head is awaited: `timeout http-request` from now when set, else `timeout
    /// client` of inactivity.
    func armRequestHeadTimer(alreadyWaitedMs: Int = 0) {
        let t = frontend.config.timeouts
        let remaining = { (ms: Int?) in ms.map { $0 > 0 ? max(1, $0 - alreadyWaitedMs) : $0 } }
        if let request = t.httpRequest, request > 0 {
            armIdleTimer(milliseconds: remaining(request), isRequestTimer: true)
        } else {
            armIdleTimer(milliseconds: remaining(t.client), isRequestTimer: true)
            idleIsInactivity = idleDeadline != nil
        }
    }

    /// Arms `timeout http-request` (waiting for a complete head) or `timeout http-keep-alive`.
    func armIdleTimer(milliseconds: Int?, isRequestTimer: Bool) {
        idleDeadline = nil
        idleIsInactivity = false
        guard let ms = milliseconds, ms > 0 else { return }
        let deadline = NIODeadline.now() + .milliseconds(Int64(ms))
        idleDeadline = deadline
        idleIsRequestTimer = isRequestTimer
        wake(at: deadline)
    }

    func cancelIdleTimer() {
        idleDeadline = nil
    }

    /// Makes sure the connection timer fires no later than `deadline`.
    func wake(at deadline: NIODeadline) {
        if timerTask != nil && timerFireAt <= deadline { return }
        timerTask?.cancel()
        timerFireAt = deadline
        timerTask = transport.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            self?.timerFired()
        }
    }

    private func timerFired() {
        timerTask = nil
        timerFireAt = .distantFuture
        guard !closing else { return }
        let now = NIODeadline.now()
        var next = NIODeadline.distantFuture
        if idleIsInactivity, let d = idleDeadline, d <= now, current == nil, let t = frontend.config.timeouts.client,
           io.lastReadAt + .milliseconds(Int64(t)) > now {
            // Bytes arrived since the deadline was set: inactivity restarts from the last read.
            idleDeadline = io.lastReadAt + .milliseconds(Int64(t))
        }
        if let d = idleDeadline {
            if d <= now {
                idleDeadline = nil
                if current == nil {
                    if idleIsRequestTimer || io.sawRequestBytes {
                        requestTimeout()
                    } else {
                        transport.closeClient()
                    }
                    return
                }
            } else {
                next = d
            }
        }
        if let request = current, let d = request.serverDeadline {
            if d <= now {
                request.serverDeadline = nil
                serverDeadlinePassed(request)
            } else if d < next {
                next = d
            }
        }
        if let request = current, let d = request.serverDeadline, d < next { next = d }
        if next < .distantFuture { wake(at: next) }
    }

    /// No complete request head within `timeout http-request`: 408 and close (spec FE-2).
    private func requestTimeout() {
        let silent = !io.sawRequestBytes
        parseFailed = true  // this connection's log line is written here, not at close
        var record = newRecord(wallMs: silent ? currentWallMs() : io.requestStartWallMs)
        record.status = 408
        record.terminationState = "cR--"
        let start = io.sawRequestBytes ? io.requestStart : NIODeadline.now()
        record.tA = ms(start, .now())
        let body = ErrorResponses.body(status: 408)
        // Before the write: its completion may run at once and close the channel.
        closing = true
        writeLocal(status: 408, body: ByteBuffer(string: body), contentType: "text/html", close: true) { [weak self] bytes in
            guard let self else { return }
            record.bytesOut = bytes
            self.frontend.counters.bytesOut.wrappingIncrement(by: bytes, ordering: .relaxed)
            self.frontend.counters.requestErrors.wrappingIncrement(ordering: .relaxed)
            self.frontend.counters.countResponse(status: 408)
            if !(silent && self.frontend.config.options.dontlognull) { self.emitLog(record) }
            self.transport.closeClient()
        }
    }

    // MARK: - Errors before a request exists

    /// Unparsable request: 400, log `<BADREQ>` with `PR--` (spec FE-2), close.
    func badRequest() {
        guard !closing else { return }
        if let request = current {
            // Mid-request protocol error (e.g. invalid chunk size).
            if case .streamingResponse = request.phase {
                abort(request, cause: "P")
                transport.closeClient()
                return
            }
            respondLocally(request, status: 400, termination: "PR--", close: true, countAs: .requestError)
            closing = true
            return
        }
        parseFailed = true
        var record = newRecord(wallMs: io.sawRequestBytes ? io.requestStartWallMs : currentWallMs())
        record.status = 400
        record.terminationState = "PR--"
        record.tA = ms(io.requestStart, .now())
        closing = true
        idleDeadline = nil
        writeLocal(status: 400, body: ByteBuffer(string: ErrorResponses.body(status: 400)), contentType: "text/html", close: true) { [weak self] bytes in
            guard let self else { return }
            record.bytesOut = bytes
            self.frontend.counters.bytesOut.wrappingIncrement(by: bytes, ordering: .relaxed)
            self.frontend.counters.requestErrors.wrappingIncrement(ordering: .relaxed)
            self.frontend.counters.countResponse(status: 400)
            self.emitLog(record)
            self.transport.closeClient()
        }
    }

    // MARK: - Writing responses

    /// Writes a complete response generated by the proxy; `done` gets the bytes written.
    func writeLocal(status: Int, body: ByteBuffer, contentType: String, close: Bool, extraHeaders: [(String, String)] = [],
                    done: @escaping (Int) -> Void) {
        var head = ErrorResponses.head(status: status, bodyLength: body.readableBytes, contentType: contentType,
                                       close: close && !io.isHTTP2)
        for (n, v) in extraHeaders { head.headers.add(name: n, value: v) }
        let before = io.bytesOut
        transport.writeResponse(.head(head), promise: nil)
        if body.readableBytes > 0 { transport.writeResponse(.body(.byteBuffer(body)), promise: nil) }
        let promise = transport.eventLoop.makePromise(of: Void.self)
        transport.writeAndFlushResponse(.end(nil), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { [weak self] _ in
            guard let self else { return }
            done(self.io.bytesOut - before)
        }
    }

    // MARK: - Helpers

    /// Request bytes received since the last call, added to the frontend's `bin` (heads and bodies,
    /// as HAProxy counts); nil on HTTP/2, where bodies were counted as they arrived.
    func takeWireBytesIn() -> Int? {
        guard let wire = io.wireBytesIn else { return nil }
        let delta = wire - wireBytesAccounted
        wireBytesAccounted = wire
        frontend.counters.bytesIn.wrappingIncrement(by: delta, ordering: .relaxed)
        return delta
    }

    func newRecord(wallMs: Int64) -> HTTPLogRecord {
        var r = HTTPLogRecord(clientAddress: clientAddress, clientPort: clientPort, requestDateMs: wallMs,
                              frontend: frontend.config.name, backend: frontend.config.name, server: "<NOSRV>")
        r.isTLS = isTLS
        r.processConnections = runtime.process.currentConnections.load(ordering: .relaxed)
        r.frontendConnections = frontend.counters.currentSessions.load(ordering: .relaxed)
        return r
    }

    /// Writes a traffic log line unless `dontlog-normal` hides it (spec PRX-5, LOG-2).
    func emitLog(_ record: HTTPLogRecord) {
        guard let logger = frontend.trafficLogger else { return }
        if frontend.config.options.dontlogNormal && record.isNormal { return }
        logger.info("\(HTTPLogFormatter.format(record))")
    }

    static func addressBytes(_ address: SocketAddress) -> [UInt8]? {
        switch address {
        case .v4(let a):
            let v = UInt32(bigEndian: a.address.sin_addr.s_addr)
            return [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
        case .v6(let a):
            var addr = a.address.sin6_addr
            return withUnsafeBytes(of: &addr) { Array($0) }
        default:
            return nil
        }
    }
}

/// What connection-level rules can see: the client address and the connection's slots.
struct ConnectionView: ACLRequestView {
    var sourceAddress: [UInt8]?
    var entries: TrackedEntries
    var tables: [String: StickTable]
    var aclPath: Substring { "" }
    var aclMethod: String { "" }
    func aclHeaderValues(_ lowercasedName: String) -> [Substring] { [] }
    var aclSourceAddress: [UInt8]? { sourceAddress }
    func aclStickValue(slot: Int, data: StoreType.Kind, table: String?) -> Int64? {
        entries.read(slot: slot, data: data, table: table.flatMap { tables[$0] }, now: stickNow())
    }
    func aclSourceValue(data: StoreType.Kind, table: String) -> Int64? {
        guard let t = tables[table], let b = sourceAddress, let key = StickKey.address(bytes: b) else { return nil }
        return t.read(key: key, data, now: stickNow())
    }
}
