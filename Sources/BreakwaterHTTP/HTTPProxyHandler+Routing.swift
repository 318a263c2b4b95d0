import BreakwaterACL
import BreakwaterConfigModel
import BreakwaterStickTables
import NIOCore
import NIOHTTP1

extension HTTPProxyHandler {
    enum ErrorCounter { case none, requestError, denied }

    /// A complete request head arrived: validate, apply rules, pick a backend (spec FE-3).
    func startRequest(_ incoming: HTTPRequestHead) {
        idleDeadline = nil
        requestsOnConnection += 1
        runtime.process.cumulativeRequests.wrappingIncrement(ordering: .relaxed)
        frontend.counters.requests.wrappingIncrement(ordering: .relaxed)

        let start = io.sawRequestBytes ? io.requestStart : NIODeadline.now()
        let wallMs = io.sawRequestBytes ? io.requestStartWallMs : currentWallMs()
        let record = newRecord(wallMs: wallMs)
        // An HTTP/2 stream carries one request; HTTP/1.1 keeps the connection when both sides agree.
        // On HTTP/1.1 the decoder handed the head over as bytes (`incoming` only stands for it).
        let wire = io.takeWireHead()
        let keepAlive = !io.isHTTP2 && (wire?.keepAlive ?? incoming.isKeepAlive) && frontend.config.options.httpKeepAlive && !quiescing
        let scan = wire.map { HeaderHygiene.scan(wire: $0) } ?? HeaderHygiene.scan(incoming.headers)
        let hasBody = !scan.transferEncoding.isEmpty || scan.contentLength.contains { (Int($0) ?? 0) > 0 }
        let request = wire.map {
            ProxyRequest(wire: $0, record: record, start: start, clientKeepAlive: keepAlive,
                         bytesOutAtStart: io.bytesOut, sourceAddress: sourceAddress, hasBody: hasBody)
        } ?? ProxyRequest(head: incoming, record: record, start: start, clientKeepAlive: keepAlive,
                          bytesOutAtStart: io.bytesOut, sourceAddress: sourceAddress, hasBody: hasBody)
        request.record.tR = ms(start, request.headComplete)
        request.tables = frontend.tables
        request.tls = tlsInfo
        if io.isHTTP2 {
            // Absolute form in logs (LOG-3); bodies may come without a length on h2.
            request.absoluteScheme = isTLS ? "https" : "http"
            if incoming.method != .GET && incoming.method != .HEAD { request.hasBody = true }
        }
        if !connectionEntries.isEmpty { request.trackedEntries.inherit(connectionEntries, now: stickNow()) }
        current = request

        if (wire.map { HeaderHygiene.validate(wire: $0, scan) } ?? HeaderHygiene.validate(incoming, scan)) != nil {
            request.malformed = true
            respondLocally(request, status: 400, termination: "PR--", close: true, countAs: .requestError)
            closing = true
            return
        }
        if HeaderHygiene.hasUnsupportedCoding(scan) {
            // A coding other than chunked cannot be framed or forwarded as sent: 422, as HAProxy answers.
            request.malformed = true
            respondLocally(request, status: 422, termination: "PR--", close: true, countAs: .requestError)
            closing = true
            return
        }
        if request.clientMethod == "CONNECT" {
            // Tunnels are not offered: refuse cleanly and close.
            respondLocally(request, status: 405, termination: "PR--", close: true, countAs: .requestError)
            closing = true
            return
        }
        if !normaliseTarget(request) {
            request.malformed = true
            respondLocally(request, status: 400, termination: "PR--", close: true, countAs: .requestError)
            closing = true
            return
        }
        if let wire {
            HeaderHygiene.prepareForUpstream(wire: wire, request: request, scan: scan)
        } else {
            HeaderHygiene.prepareForUpstream(&request.head, request: request, scan: scan)
        }
        if request.hasBody { armClientTimer(request) }

        // The stats page is answered before any rule that would route the request (spec PRX stats).
        // `stats uri` is a prefix of the request target, as in HAProxy (the default has a query string).
        if let page = frontend.config.statsPage, request.target.pathAndQuery.hasPrefix(page.uri) {
            request.record.server = "<STATS>"
            if StatsEventStream.startIfRequested(uri: request.clientURI, page: page, transport: transport, runtime: runtime) { return }
            let (html, type) = StatsCollector(runtime: runtime).statsResponse(uri: request.clientURI, page: page)
            respondLocally(request, status: 200, termination: "LR--", close: false, countAs: .none,
                           body: ByteBuffer(string: html), contentType: type)
            return
        }

        // Frontend http-request rules.
        if applyRules(frontend.rules, to: request, tarpitMs: frontend.config.timeouts.effectiveTarpit) { return }

        // Backend selection.
        var chosen: BackendRuntime?
        for rule in frontend.useBackend where ruleApplies(rule.condition, to: request) {
            chosen = rule.backend
            break
        }
        if chosen == nil { chosen = frontend.defaultBackend }
        guard let backend = chosen else {
            request.record.tR = -1
            respondLocally(request, status: 503, termination: "SC--", close: false, countAs: .none)
            return
        }
        request.backend = backend
        request.record.backend = backend.config.name
        backend.counters.noteSessions(backend.activeRequests.wrappingIncrementThenLoad(ordering: .relaxed))
        backend.counters.requests.wrappingIncrement(ordering: .relaxed)
        backend.counters.totalSessions.wrappingIncrement(ordering: .relaxed)

        if applyRules(backend.rules, to: request, tarpitMs: backend.config.timeouts.effectiveTarpit) { return }
        if frontend.config.options.forwardfor || backend.config.options.forwardfor {
            request.addHeader(name: "x-forwarded-for", value: clientAddress)
        }
        if backend.config.httpReuse == .never {
            request.replaceOrAddHeader(name: "connection", value: "close")
        }
        keepChunkFramingIfForwarded(request, to: backend)
        acquireServer(request, excluding: nil)
    }

    /// A chunked request body that leaves chunked (an HTTP/1.1 server, not FastCGI, which needs
    /// the payload) goes as received, sizes, extensions and trailers included (HAProxy re-chunks
    /// it; see `ChunkedVerbatimTests`). Decided before the decoder reads any of the body; later
    /// requests of a pipeline that the decoder is already past keep the payload path.
    func keepChunkFramingIfForwarded(_ request: ProxyRequest, to backend: BackendRuntime) {
        guard let wire = request.wire, wire.framing.chunked, request.forwardsWireHead, backend.fastCGI == nil,
              pendingParts.isEmpty, !request.requestComplete, !wire.methodIs("TRACE") else { return }
        var edits = request.edits
        guard HTTP1RequestEncoder.frame(wire, &edits) else { return }
        request.bodyIsChunkFramed = io.keepChunkFraming()
    }

    /// Splits the target once (scheme case-insensitive, authority off) so every path fetch and the
    /// FastCGI parameters see one path; an HTTP server gets the target as sent, as HAProxy does. False
    /// when the request must be refused with 400: a fragment, a bad authority or port, or an authority
    /// that differs from `Host` (RFC 9112 §3.2.2 lets the target win, so a `Host` rule would be bypassed).
    func normaliseTarget(_ request: ProxyRequest) -> Bool {
        guard case .success(let target) = RequestTarget.parse(request.clientURI) else { return false }
        request.target = target
        if target.form == .absolute, let host = request.hostHeader,
           !target.authorityMatches(host: host) {
            return false
        }
        return true
    }

    /// `timeout client` while the request body is still arriving: an idle client loses the request.
    func armClientTimer(_ request: ProxyRequest, delayMs: Int? = nil) {
        guard let t = frontend.config.timeouts.client, t > 0 else { return }
        request.clientTimer = transport.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(delayMs ?? t))) { [weak self] in
            guard let self, self.current === request, !request.requestComplete else { return }
            let idle = ms(self.io.lastReadAt, .now())
            guard idle >= t else {
                self.armClientTimer(request, delayMs: t - idle)
                return
            }
            switch request.phase {
            case .streamingResponse, .responded, .localResponse:
                self.abort(request, cause: "c")
                self.closing = true
                self.transport.closeClient()
            default:
                self.respondLocally(request, status: 408, termination: "cD--", close: true, countAs: .requestError)
                self.closing = true
            }
        }
    }

    /// Runs `http-request` rules in order; returns true when a terminal action answered the request.
    private func applyRules(_ rules: [CompiledHTTPRequestRule], to request: ProxyRequest, tarpitMs: Int?) -> Bool {
        for rule in rules where ruleApplies(rule.condition, to: request) {
            switch rule.action {
            case .track(let slot, let key, let table):
                track(request, slot: slot, key: key, table: table)
            case .incrementGPC0(let slot):
                request.trackedEntries.incrementGPC0(slot: slot)
            case .tarpit(let status):
                tarpit(request, status: status, holdMs: tarpitMs ?? 0)
                return true
            case .silentDrop:
                frontend.counters.deniedRequests.wrappingIncrement(ordering: .relaxed)
                request.terminationState = "PR--"
                request.record.tW = -1
                request.clientKeepAlive = false
                closing = true
                finish(request)
                return true
            case .setHeader(let name, let value):
                request.replaceOrAddHeader(name: name, value: value)
            case .addHeader(let name, let value):
                request.addHeader(name: name, value: value)
            case .delHeader(let name):
                request.removeHeader(name: name)
            case .deny(let status):
                request.record.tW = -1
                respondLocally(request, status: status, termination: "PR--", close: false, countAs: .denied)
                return true
            case .prometheusExporter:
                let body = StatsCollector(runtime: runtime).prometheusText()
                respondLocally(request, status: 200, termination: "LR--", close: false, countAs: .none,
                               body: ByteBuffer(string: body), contentType: "text/plain; version=0.0.4; charset=utf-8")
                request.record.server = "<PROMEX>"
                return true
            case .returnResponse(let status, let contentType, let body):
                var buffer = transport.clientAllocator.buffer(capacity: body.count)
                buffer.writeBytes(body)
                respondLocally(request, status: status, termination: "LR--", close: false, countAs: .none,
                               body: buffer, contentType: contentType ?? (body.isEmpty ? nil : "text/plain"))
                return true
            }
        }
        return false
    }

    /// `http-request track-sc<slot>` (spec STK-5): bind the slot and count the request.
    func track(_ request: ProxyRequest, slot: Int, key: TrackKey, table: String) {
        guard let t = runtime.tables[table] else { return }
        let stickKey: StickKey?
        switch key {
        case .source:
            stickKey = request.sourceAddress.flatMap { StickKey.address(bytes: $0) }
        case .header(let name):
            stickKey = request.aclHeaderValues(name).last.map { .string(String($0)) }
        }
        guard let stickKey else { return }
        request.trackedEntries.trackRequest(slot: slot, table: t, key: stickKey, now: stickNow())
    }

    /// ACT-1: hold the request without contacting any server, then answer `status`. The request costs
    /// a timer and its small state, no buffer: the body, if any, is read and dropped meanwhile.
    func tarpit(_ request: ProxyRequest, status: Int, holdMs: Int) {
        frontend.counters.deniedRequests.wrappingIncrement(ordering: .relaxed)
        request.backend?.counters.deniedRequests.wrappingIncrement(ordering: .relaxed)
        request.phase = .tarpit
        request.record.tR = -1
        request.record.backend = frontend.config.name
        request.record.server = "<NOSRV>"
        let heldSince = NIODeadline.now()
        request.tarpitTimer = transport.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(max(0, holdMs)))) { [weak self] in
            guard let self, self.current === request, case .tarpit = request.phase else { return }
            request.record.tW = ms(heldSince, .now())
            request.record.tC = -1
            request.record.tr = -1
            self.respondLocally(request, status: status, termination: "PT--", close: false, countAs: .none)
        }
    }

    /// Answers a request from the proxy itself (errors, deny, return). The server side, if any, is
    /// already released or never reached.
    func respondLocally(_ request: ProxyRequest, status: Int, termination: String, close: Bool, countAs: ErrorCounter,
                        body: ByteBuffer? = nil, contentType: String? = "text/html") {
        request.cancelTimers()
        releaseServerSide(request, reusable: false)
        switch countAs {
        case .none: break
        case .requestError: frontend.counters.requestErrors.wrappingIncrement(ordering: .relaxed)
        case .denied:
            frontend.counters.deniedRequests.wrappingIncrement(ordering: .relaxed)
            request.backend?.counters.deniedRequests.wrappingIncrement(ordering: .relaxed)
        }
        request.phase = .localResponse
        request.terminationState = termination
        request.record.status = status
        if close || !request.clientKeepAlive { request.clientKeepAlive = false }
        let payload = body ?? ByteBuffer(string: ErrorResponses.body(status: status))
        writeLocal(status: status, body: payload, contentType: contentType ?? "text/html",
                   close: !request.clientKeepAlive) { [weak self] _ in
            guard let self else { return }
            request.phase = .responded
            if request.requestComplete || !request.clientKeepAlive {
                self.finish(request)
            }
            // Otherwise finish() runs when the rest of the request body has been read and dropped.
        }
    }
}

/// Request validation and the header changes made before forwarding (spec ERR-2, hop-by-hop).
enum HeaderHygiene {
    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"]

    /// What one pass over the request headers found; most requests have none of these.
    struct Scan {
        var transferEncoding: [String] = []
        var contentLength: [String] = []
        var hostCount = 0
        var hasHopByHop = false
        var hasExpect = false
    }

    @inline(__always)
    static func equalsLowercase(_ name: String, _ lower: StaticString) -> Bool {
        let n = name.utf8
        guard n.count == lower.utf8CodeUnitCount else { return false }
        return lower.withUTF8Buffer { l in
            var i = 0
            for b in n {
                let folded = (b >= 0x41 && b <= 0x5A) ? b | 0x20 : b
                if folded != l[i] { return false }
                i += 1
            }
            return true
        }
    }

    static func scan(_ headers: HTTPHeaders) -> Scan {
        var s = Scan()
        for (name, value) in headers {
            switch name.utf8.count {
            case 4 where equalsLowercase(name, "host"): s.hostCount += 1
            case 17 where equalsLowercase(name, "transfer-encoding"): s.transferEncoding.append(value)
            case 14 where equalsLowercase(name, "content-length"): s.contentLength.append(value)
            case 6 where equalsLowercase(name, "expect"): s.hasExpect = true
            case 10 where equalsLowercase(name, "connection") || equalsLowercase(name, "keep-alive"): s.hasHopByHop = true
            case 16 where equalsLowercase(name, "proxy-connection"): s.hasHopByHop = true
            case 2 where equalsLowercase(name, "te"): s.hasHopByHop = true
            case 7 where equalsLowercase(name, "trailer") || equalsLowercase(name, "upgrade"): s.hasHopByHop = true
            default: break
            }
        }
        return s
    }

    /// Returns a reason if the request must be refused with 400 (smuggling and framing attacks).
    static func validate(_ head: HTTPRequestHead, _ scan: Scan) -> String? {
        if let reason = validateFraming(scan) { return reason }
        for byte in head.uri.utf8 where byte < 0x21 || byte == 0x7F { return "control character in target" }
        if head.version.major != 1 && head.version.major != 2 { return "unsupported version" }
        if head.version.minor == 1 && scan.hostCount > 1 { return "several host headers" }
        return nil
    }

    /// The `Transfer-Encoding` / `Content-Length` refusals of `validate`.
    static func validateFraming(_ scan: Scan) -> String? {
        let te = scan.transferEncoding
        let cl = scan.contentLength
        if !te.isEmpty && !cl.isEmpty { return "content-length with transfer-encoding" }
        if !te.isEmpty {
            let codings = te.flatMap { $0.split(separator: ",").map { trimOWS($0).lowercased() } }
            if codings.last != "chunked" || codings.filter({ $0 == "chunked" }).count != 1 { return "bad transfer-encoding" }
        }
        if cl.count > 0 {
            let values = Set(cl.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false).map { String(trimOWS($0)) } })
            if values.count != 1 { return "conflicting content-length" }
            guard let v = values.first, !v.isEmpty, v.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return "bad content-length" }
        }
        return nil
    }

    /// `Transfer-Encoding` valid for framing (chunked last) but with another coding before it.
    static func hasUnsupportedCoding(_ scan: Scan) -> Bool {
        guard !scan.transferEncoding.isEmpty else { return false }
        return scan.transferEncoding.contains { $0.split(separator: ",").contains { trimOWS($0).lowercased() != "chunked" } }
    }

    /// The method as the client spelled it: llhttp names `M-SEARCH` `MSEARCH`.
    static func wireMethod(_ method: HTTPMethod) -> HTTPMethod {
        if case .MSEARCH = method { return .RAW(value: "M-SEARCH") }
        return method
    }

    /// Strips hop-by-hop headers and normalises framing for the server connection.
    static func prepareForUpstream(_ head: inout HTTPRequestHead, request: ProxyRequest, scan: Scan) {
        if scan.hasExpect {
            let expect = head.headers["expect"].contains { $0.lowercased() == "100-continue" }
            if expect {
                request.expectContinue = head.version.minor >= 1
                head.headers.remove(name: "expect")
            }
        }
        if scan.hasHopByHop {
            var named: [String] = []
            for value in head.headers["connection"] {
                for token in value.split(separator: ",") { named.append(trimOWS(token).lowercased()) }
            }
            for name in hopByHop { head.headers.remove(name: name) }
            for name in named where name != "close" && name != "keep-alive" && !name.isEmpty {
                if name == "transfer-encoding" || name == "content-length" || name == "host" { continue }
                head.headers.remove(name: name)
            }
        }
        // Identical duplicate Content-Length values were accepted above; send one.
        let cl = scan.contentLength
        if cl.count > 1 || cl.first?.contains(",") == true, let first = cl.first {
            let v = String(trimOWS(first.split(separator: ",").first ?? ""))
            head.headers.replaceOrAdd(name: "content-length", value: v)
        }
        head.method = wireMethod(head.method)
        head.version = .http1_1
    }
}
