import BreakwaterBalancing
import BreakwaterFastCGI
import BreakwaterHTTP1Wire
import NIOCore
import NIOHTTP1
import NIOPosix

extension HTTPProxyHandler {
    // MARK: - Server selection and queueing (spec BE-3..BE-6)

    func acquireServer(_ request: ProxyRequest, excluding: Int?) {
        guard let backend = request.backend else { return }
        let loop = transport.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let requestID = ObjectIdentifier(request)
        let acquisition = backend.balancer.acquire(excluding: excluding, makeGrant: {
            { server in
                // May run on another loop (the one that freed the slot).
                loop.execute {
                    let handler = bound.value
                    handler.granted(request: requestID, backend: backend, server: server)
                }
            }
        })
        switch acquisition {
        case .server(let index):
            if request.queueStart == nil { request.record.tW = 0 }
            assign(request, server: index)
            connect(request)
        case .queued(let ticket, let position):
            request.phase = .queued(ticket: ticket)
            request.queueStart = .now()
            request.record.backendQueuePosition = position
            if let t = backend.config.timeouts.effectiveQueue, t > 0 {
                request.queueTimer = loop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(t))) { [weak self] in
                    self?.queueTimedOut(request, ticket: ticket)
                }
            }
        case .noServer:
            request.record.server = "<NOSRV>"
            respondLocally(request, status: 503, termination: "SC--", close: false, countAs: .none)
        case .queueFull:
            request.record.server = "<NOSRV>"
            respondLocally(request, status: 503, termination: "sQ--", close: false, countAs: .none)
        }
    }

    private func assign(_ request: ProxyRequest, server: Int) {
        request.serverIndex = server
        request.holdsSlot = true
        request.record.server = request.backend!.servers[server].config.name
        request.backend!.servers[server].counters.totalSessions.wrappingIncrement(ordering: .relaxed)
    }

    func granted(request id: ObjectIdentifier, backend: BackendRuntime, server: Int) {
        guard let request = current, ObjectIdentifier(request) == id, case .queued = request.phase else {
            // The waiter left (timeout, abort) after the slot was handed over: give it back.
            backend.balancer.release(server: server)
            return
        }
        request.queueTimer?.cancel()
        request.queueTimer = nil
        request.queueEnd = .now()
        request.record.tW = ms(request.queueStart!, request.queueEnd!)
        assign(request, server: server)
        connect(request)
    }

    private func queueTimedOut(_ request: ProxyRequest, ticket: UInt64) {
        guard current === request, case .queued(let t) = request.phase, t == ticket, let backend = request.backend else { return }
        guard backend.balancer.cancel(ticket: ticket) else { return }  // a grant is already on its way
        request.record.tW = ms(request.queueStart!, .now())
        request.phase = .routing
        respondLocally(request, status: 503, termination: "sQ--", close: false, countAs: .none)
    }

    // MARK: - Connecting with retries (spec BE-7)

    func connect(_ request: ProxyRequest, forceFresh: Bool = false) {
        guard let backend = request.backend, let index = request.serverIndex else { return }
        request.phase = .connecting
        if request.connectStart == nil { request.connectStart = .now() }
        let key = UpstreamKey(backend: backend.index, server: index)
        let reuse = backend.config.httpReuse
        // `safe`: a client's first request gets a connection of its own. An HTTP/2 stream is not a
        // client's first request once the connection carries others, so streams reuse idle ones.
        let mayReuse = !forceFresh && reuse != .never && (reuse != .safe || requestsOnConnection > 1 || io.isHTTP2)
        if mayReuse, let idle = pool.take(key) {
            attach(request, idle, reused: true)
            return
        }
        request.connectAttempts += 1
        let server = backend.servers[index]
        if server.config.proto == .fcgi && backend.fastCGI != nil {
            // Each kept FastCGI connection holds a worker, so a fresh one (no idle one, or `http-reuse safe`
            // gives a client's first request its own) first frees the workers idle ones hold, on every loop:
            // else the new connection waits in the application's accept queue until the idle purge.
            pool.closeIdle(key)
            pools.evictIdle(key, except: transport.eventLoop)
        }
        let connectTimeout = backend.config.timeouts.connect.flatMap { $0 > 0 ? $0 : nil } ?? 10_000
        let fastCGI = fastCGI(backend, server)
        UpstreamConnector.connect(on: transport.eventLoop, to: server.address, connectTimeoutMs: connectTimeout, pool: pool, key: key) { channel in
            channel.eventLoop.makeCompletedFuture {
                let codec = try HTTPProxyHandler.addServerCodec(channel, fastCGI: fastCGI)
                try channel.pipeline.syncOperations.addHandler(UpstreamHandler(key: key, wireCodec: codec))
            }
        }
            .assumeIsolated()
            .whenComplete { [weak self] result in
                guard let self, self.current === request, case .connecting = request.phase else {
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    return
                }
                switch result {
                case .success(let channel):
                    guard let handler = try? channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) else {
                        channel.close(promise: nil)
                        self.connectFailed(request, error: ChannelError.ioOnClosedChannel)
                        return
                    }
                    self.observe(.connected, request)
                    self.attach(request, handler, reused: false)
                case .failure(let error):
                    self.connectFailed(request, error: error)
                }
            }
    }

    private func connectFailed(_ request: ProxyRequest, error: Error) {
        guard let backend = request.backend, let index = request.serverIndex else { return }
        backend.counters.connectErrors.wrappingIncrement(ordering: .relaxed)
        backend.servers[index].counters.connectErrors.wrappingIncrement(ordering: .relaxed)
        observe(.connectFailed, request)
        guard request.retries < backend.config.retries else {
            request.record.tC = -1
            respondLocally(request, status: 503, termination: "SC--", close: false, countAs: .none)
            return
        }
        request.retries += 1
        backend.counters.retries.wrappingIncrement(ordering: .relaxed)
        var isTimeout = false
        if case .connectTimeout? = error as? ChannelError { isTimeout = true }
        let connectTimeout = backend.config.timeouts.connect ?? 1000
        let delayMs = isTimeout ? 0 : min(1000, connectTimeout)
        let lastRetry = request.retries == backend.config.retries
        let redispatch = backend.config.options.redispatch && lastRetry && backend.servers.count > 1
        request.retryTimer = transport.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(delayMs))) { [weak self] in
            guard let self, self.current === request, case .connecting = request.phase else { return }
            if redispatch {
                backend.balancer.release(server: index)
                request.holdsSlot = false
                request.record.redispatched = true
                backend.counters.redispatches.wrappingIncrement(ordering: .relaxed)
                request.phase = .routing
                self.acquireServer(request, excluding: index)
            } else {
                self.connect(request)
            }
        }
    }

    // MARK: - Forwarding

    private func attach(_ request: ProxyRequest, _ upstream: UpstreamHandler, reused: Bool) {
        request.upstream = upstream
        request.upstreamWasReused = reused
        upstream.delegate = self
        if let index = request.serverIndex, let backend = request.backend, let channel = upstream.channel {
            let server = backend.servers[index]
            request.shutdownGeneration = server.shutdownGeneration.load(ordering: .relaxed)
            server.sessionStarted(channel)
        }
        upstream.requestsServed += 1
        request.connected = .now()
        let assigned = request.queueEnd ?? request.headComplete
        request.record.tC = ms(assigned, request.connected!)
        request.phase = .waitingResponse
        request.lastServerActivity = .now()
        guard prepareFastCGI(request, upstream) else { return }
        if request.expectContinue && !request.sentContinue && !request.requestComplete {
            request.sentContinue = true
            transport.writeAndFlushResponse(.head(HTTPResponseHead(version: .http1_1, status: .continue)), promise: nil)
        }
        if request.forwardsWireHead && upstream.forwardsWireHeads, let wire = request.wire {
            upstream.writeWireHead(wire, request.edits, bodyIsChunkFramed: request.bodyIsChunkFramed)
        } else {
            upstream.write(.head(request.head))
        }
        for buffer in request.bufferedBody {
            request.bodyBytesForwarded += buffer.readableBytes
            upstream.write(.body(.byteBuffer(buffer)))
        }
        request.bufferedBody = []
        request.bufferedBodyBytes = 0
        if request.requestComplete { upstream.write(.end(nil)) }
        upstream.flush()
        armServerTimer(request)
        resumeReadingIfPossible()
    }

    private func armServerTimer(_ request: ProxyRequest, delayMs: Int? = nil) {
        guard let t = request.backend?.config.timeouts.server, t > 0 else { return }
        let deadline = NIODeadline.now() + .milliseconds(Int64(delayMs ?? t))
        request.serverDeadline = deadline
        wake(at: deadline)
    }

    /// `timeout server` reached (checked by the connection timer).
    func serverDeadlinePassed(_ request: ProxyRequest) {
        guard let timeout = request.backend?.config.timeouts.server else { return }
        guard current === request else { return }
        switch request.phase {
        case .waitingResponse:
            request.backend?.counters.responseErrors.wrappingIncrement(ordering: .relaxed)
            observe(.readTimeout, request)
            respondLocally(request, status: 504, termination: "sH--", close: false, countAs: .none)
        case .streamingResponse:
            let idle = ms(request.lastServerActivity, .now())
            if idle >= timeout {
                abort(request, cause: "s")
                closing = true
                transport.closeClient()
            } else {
                armServerTimer(request, delayMs: timeout - idle)
            }
        default:
            break
        }
    }

    /// Gives back the server connection (to the pool when reusable) and the server slot.
    func releaseServerSide(_ request: ProxyRequest, reusable: Bool) {
        if let upstream = request.upstream {
            request.upstream = nil
            upstream.delegate = nil
            if let index = request.serverIndex, let backend = request.backend, let channel = upstream.channel {
                backend.servers[index].sessionEnded(channel)
            }
            upstream.resumeReading()
            if reusable && upstream.isActive {
                pool.park(upstream)
            } else {
                upstream.close()
            }
        }
        if case .queued(let ticket) = request.phase, let backend = request.backend {
            // If the cancel loses the race the grant arrives later and is returned in granted().
            _ = backend.balancer.cancel(ticket: ticket)
        }
        if request.holdsSlot, let index = request.serverIndex, let backend = request.backend {
            request.holdsSlot = false
            request.record.serverConnections = backend.balancer.served(server: index) - 1
            backend.balancer.release(server: index)
        }
    }

    /// Reports a passive observation of real traffic (OBS-2) when the server is observed.
    func observe(_ event: PassiveEvent, _ request: ProxyRequest) {
        guard let backend = request.backend, let index = request.serverIndex else { return }
        let server = backend.servers[index]
        guard server.config.health.observe != .none, server.health != nil,
              let checker = runtime.healthChecker.withLock({ $0 }) else { return }
        checker.observe(event, backend: backend, server: server)
    }

    // MARK: - Finishing

    /// Ends a request: accounting, the log line, then the next request or close.
    func finish(_ request: ProxyRequest) {
        guard current === request else { return }
        request.cancelTimers()
        releaseServerSide(request, reusable: false)
        let now = NIODeadline.now()
        var record = request.record
        record.tA = ms(request.start, now)
        record.status = request.record.status
        record.bytesOut = io.bytesOut - request.bytesOutAtStart
        record.terminationState = request.terminationState ?? "----"
        record.retries = request.retries
        if frontend.trafficLogger != nil && !request.malformed { record.requestLine = request.requestLine }
        let bytesIn = takeWireBytesIn() ?? request.bodyBytesIn
        if let backend = request.backend {
            backend.counters.bytesIn.wrappingIncrement(by: bytesIn, ordering: .relaxed)
            if let index = request.serverIndex, backend.servers.indices.contains(index) {
                // Per-server bin/bout, as HAProxy counts them for the server that handled the request.
                backend.servers[index].counters.bytesIn.wrappingIncrement(by: bytesIn, ordering: .relaxed)
                backend.servers[index].counters.bytesOut.wrappingIncrement(by: record.bytesOut, ordering: .relaxed)
            }
            if record.tr >= 0 { backend.counters.responseTimes.record(milliseconds: record.tr) }
            record.backendConnections = backend.activeRequests.load(ordering: .relaxed)
            backend.activeRequests.wrappingDecrement(ordering: .relaxed)
            backend.counters.bytesOut.wrappingIncrement(by: record.bytesOut, ordering: .relaxed)
            if record.status > 0 { backend.counters.countResponse(status: record.status) }
        }
        frontend.counters.bytesOut.wrappingIncrement(by: record.bytesOut, ordering: .relaxed)
        runtime.process.totalBytesOut.wrappingIncrement(by: record.bytesOut, ordering: .relaxed)
        if record.status > 0 { frontend.counters.countResponse(status: record.status) }
        emitLog(record)
        if !request.trackedEntries.isEmpty {
            let now = stickNow()
            request.trackedEntries.addBytesOut(record.bytesOut - request.bytesOutAccounted, now: now)
            // http_err_*: 4xx from a server, and requests the proxy refused, denied or tarpitted.
            if (400...499).contains(record.status) || record.terminationState.first == "P" {
                request.trackedEntries.countHTTPError(now: now)
            }
            request.trackedEntries.releaseOwned(now: now)
        }

        current = nil
        io.awaitNextRequest()
        if io.isHTTP2 {
            // An HTTP/2 stream that ended on both sides closes by itself; resetting it would be a
            // protocol error. Only an unfinished exchange is reset.
            closing = true
            if !(request.requestComplete && request.phase.isResponded) { transport.closeClient() }
            return
        }
        if !request.clientKeepAlive || closing || quiescing {
            closing = true
            transport.closeClient()
            return
        }
        if pendingParts.isEmpty && !deferredParseError && !inputClosed {
            armIdleTimer(milliseconds: frontend.config.timeouts.effectiveKeepAlive, isRequestTimer: false)
            io.connectionIdle()
        }
        drainPending()
    }

    /// Ends a request that could not complete: `cause` is the LOG-4 first character.
    func abort(_ request: ProxyRequest, cause: Character) {
        guard current === request else { return }
        if request.terminationState == nil || cause == "C" {
            request.terminationState = "\(cause)\(request.phase.stateCharacter)--"
        }
        request.clientKeepAlive = false
        releaseServerSide(request, reusable: false)
        finish(request)
    }
}

extension HTTPProxyHandler: UpstreamDelegate {
    func upstreamResponsePart(_ part: HTTPClientResponsePart) {
        guard let request = current, request.upstream != nil else { return }
        request.lastServerActivity = .now()
        switch part {
        case .head(let head):
            responseHead(request, head)
        case .body(let buffer):
            guard case .streamingResponse = request.phase else { return }
            transport.writeResponse(.body(.byteBuffer(buffer)), promise: nil)
            if !transport.clientIsWritable { request.upstream?.pauseReading() }
        case .end:
            responseEnd(request)
        }
    }

    func upstreamResponseHead(wire: HTTP1Head) -> Bool {
        guard let request = current, request.upstream != nil else { return false }
        request.lastServerActivity = .now()
        if let encoder = io.responseEncoder {
            return responseHead(request, wire: wire, encoder: encoder)
        } else if let stream = io.http2Stream {
            responseHead(request, wire: wire, stream: stream)
        } else {
            responseHead(request, HTTP1ResponseDecoder.responseHead(wire))
        }
        return false
    }

    /// `responseHead` for a server's head kept as bytes, forwarded to an HTTP/1.1 client as those
    /// bytes with the same edits (hop-by-hop fields skipped, `Connection` added) and version.
    /// True when its chunked body goes to the client as received (see `keepsChunkFraming`).
    private func responseHead(_ request: ProxyRequest, wire head: HTTP1Head, encoder: HTTP1ResponseEncoder) -> Bool {
        guard let bodyless = acceptResponseHead(request, wire: head) else { return false }
        let hasLength = head.framing.contentLength != nil
        let chunked = head.framing.chunked

        var edits = HTTP1HeadEdits()
        if HeaderHygiene.hasHopByHop(wire: head) { HeaderHygiene.removeHopByHop(head, &edits) }
        let clientVersion = request.clientVersion
        let version: (major: Int, minor: Int)
        if clientVersion.major == 1 && clientVersion.minor == 0 {
            version = (1, 0)
            if !hasLength && !bodyless { request.clientKeepAlive = false }
            if request.clientKeepAlive { edits.add(name: "connection", value: "keep-alive") }
        } else {
            version = clientVersion.minor == 0 ? (1, 0) : (1, 1)
        }
        if !request.clientKeepAlive { edits.replaceOrAdd(name: "connection", value: "close", in: head) }
        request.phase = .streamingResponse
        // Chunked in, chunked out (an HTTP/1.1 client, a body allowed): the body's bytes go as
        // received, sizes, extensions and trailers included (HAProxy re-chunks them instead).
        let keepsChunkFraming = chunked && !bodyless && version.major == 1 && version.minor == 1 && request.clientMethod != "CONNECT"
        encoder.nextWireHead = (head, edits, version, keepsChunkFraming)
        transport.writeResponse(.head(HTTP1ResponseEncoder.wireHeadToken), promise: nil)
        return keepsChunkFraming
    }

    private func responseHead(_ request: ProxyRequest, _ head: HTTPResponseHead) {
        guard case .waitingResponse = request.phase else { return }
        let now = NIODeadline.now()
        request.responseHeadAt = now
        request.record.tr = ms(request.connected ?? now, now)
        if head.status.code == 101 || head.status.code < 100 {
            // Upgrades were stripped from the request; a switch now is a protocol error.
            request.backend?.counters.responseErrors.wrappingIncrement(ordering: .relaxed)
            respondLocally(request, status: 502, termination: "PH--", close: true, countAs: .none)
            return
        }
        request.responseStatus = Int(head.status.code)
        request.record.status = Int(head.status.code)
        observe(.response(status: Int(head.status.code)), request)
        request.responseKeepAlive = head.isKeepAlive
        let bodyless = request.clientMethod == "HEAD" || head.status.code == 204 || head.status.code == 304
        let framing = HeaderHygiene.scan(head.headers)
        let hasLength = !framing.contentLength.isEmpty
        let chunked = framing.transferEncoding.contains { $0.lowercased().contains("chunked") }
        request.responseFramed = bodyless || hasLength || chunked

        var out = head
        if framing.hasHopByHop {
            var named: [String] = []
            for value in head.headers["connection"] {
                for token in value.split(separator: ",") { named.append(String(token).trimmingOWS().lowercased()) }
            }
            for name in HeaderHygiene.hopByHop { out.headers.remove(name: name) }
            for name in named where !["close", "keep-alive", "content-length", "transfer-encoding"].contains(name) {
                out.headers.remove(name: name)
            }
        }
        let clientVersion = request.clientVersion
        if io.isHTTP2 {
            // HTTP/2 frames the body itself; connection-specific fields are forbidden.
            out.headers.remove(name: "transfer-encoding")
            out.version = .http1_1
        } else if clientVersion.major == 1 && clientVersion.minor == 0 {
            out.version = .http1_0
            if !hasLength && !bodyless { request.clientKeepAlive = false }
            if request.clientKeepAlive { out.headers.add(name: "connection", value: "keep-alive") }
        } else {
            out.version = clientVersion.minor == 0 ? .http1_0 : .http1_1
        }
        if !request.clientKeepAlive && !io.isHTTP2 { out.headers.replaceOrAdd(name: "connection", value: "close") }
        request.phase = .streamingResponse
        transport.writeResponse(.head(out), promise: nil)
    }

    private func responseEnd(_ request: ProxyRequest) {
        guard case .streamingResponse = request.phase else { return }
        request.serverDeadline = nil
        let reuse = request.backend?.config.httpReuse ?? .safe
        let reusable = request.responseKeepAlive && request.responseFramed && request.requestComplete && reuse != .never
        if let index = request.serverIndex {
            request.backend?.servers[index].counters.countResponse(status: request.responseStatus)
        }
        releaseServerSide(request, reusable: reusable)
        request.phase = .responded
        if !request.requestComplete { request.clientKeepAlive = false }
        if request.clientKeepAlive && !closing && !quiescing && !io.isHTTP2 {
            // Keep-alive: the connection stays open, so nothing waits on the write completing; bytes
            // were counted as they were written. Saves a promise and a closure per request.
            transport.writeAndFlushResponse(.end(nil), promise: nil)
            finish(request)
            return
        }
        // The connection closes (or an h2 stream ends) after this: close only once the data is out.
        let promise = transport.eventLoop.makePromise(of: Void.self)
        transport.writeAndFlushResponse(.end(nil), promise: promise)
        promise.futureResult.assumeIsolated().whenComplete { [weak self] _ in
            self?.finish(request)
        }
    }

    func upstreamReadComplete() {
        transport.flushResponse()
        // bytes_out_* grow while the response is forwarded, not only at its end (spec STK-2).
        if let request = current, !request.trackedEntries.isEmpty {
            let sent = io.bytesOut - request.bytesOutAtStart
            request.trackedEntries.addBytesOut(sent - request.bytesOutAccounted, now: stickNow())
            request.bytesOutAccounted = sent
        }
    }

    func upstreamClosed() {
        guard let request = current else { return }
        let wasReused = request.upstreamWasReused
        request.upstream = nil
        switch request.phase {
        case .waitingResponse:
            if wasReused && request.bodyBytesForwarded == 0 && !request.hasBody {
                // An idle connection the server had closed: replay once on a fresh one.
                request.serverDeadline = nil
                connect(request, forceFresh: true)
                return
            }
            request.backend?.counters.responseErrors.wrappingIncrement(ordering: .relaxed)
            observe(.closedBeforeResponse, request)
            let killed = request.serverIndex.map { request.backend!.servers[$0].shutdownGeneration.load(ordering: .relaxed) != request.shutdownGeneration } ?? false
            respondLocally(request, status: 502, termination: killed ? "DH--" : "SH--", close: false, countAs: .none)
        case .streamingResponse:
            if !request.responseFramed {
                // Close-delimited body: the close is its end.
                request.responseKeepAlive = false
                responseEnd(request)
            } else {
                request.backend?.counters.responseErrors.wrappingIncrement(ordering: .relaxed)
                let killed = request.serverIndex.map { request.backend!.servers[$0].shutdownGeneration.load(ordering: .relaxed) != request.shutdownGeneration } ?? false
                abort(request, cause: killed ? "D" : "S")
                closing = true
                transport.closeClient()
            }
        default:
            break
        }
    }

    func upstreamError(_ error: Error) {
        guard let request = current else { return }
        if error is HTTPParserError || error is FastCGIError {
            request.upstream?.close()
            request.upstream = nil
            request.backend?.counters.responseErrors.wrappingIncrement(ordering: .relaxed)
            switch request.phase {
            case .waitingResponse:
                observe(.invalidResponse, request)
                respondLocally(request, status: 502, termination: "PH--", close: false, countAs: .none)
            case .streamingResponse:
                abort(request, cause: "P")
                closing = true
                transport.closeClient()
            default:
                break
            }
            return
        }
        upstreamClosed()
    }

    func upstreamWritabilityChanged(writable: Bool) {
        if writable { resumeReadingIfPossible() }
    }
}

extension String {
    func trimmingOWS() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
